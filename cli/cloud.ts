/**
 * What the operator commands share: the routes file, and the cloud it describes — Alibaba Cloud
 * with the default credential chain (environment, profile, instance role), or the local stack named
 * by an endpoints file — with the same adapters and steps the functions use. Every way this can go
 * wrong ends as one CliFailure line with an exit code, before anything is changed.
 */
import { installLocalhostResolver } from "../emulator/core/resolver";
import {
  type AlibabaAdapters,
  alibabaEndpoints,
  createAlibabaAdapters,
  localAccountCredentials,
  localEndpoints,
  readEndpointsFile,
  rolesFromRoutes,
  ThrottleGate,
} from "../shared/adapters";
import { AssumeRoleCredentials } from "../shared/adapters/assumeRoleCredentials";
import { defaultCredentialChain } from "../shared/adapters/credentialChain";
import { functionTime } from "../shared/adapters/functionTime";
import { createSdkClients } from "../shared/adapters/sdkClients";
import { formatIssue, loadRoutesConfig, RoutesConfigError } from "../shared/config/routesConfig";
import type { RoutesFile } from "../shared/config/routesSchema";
import { OPERATOR_ROLE } from "../shared/deploy/policies";
import { readHostScripts } from "../shared/hostscript/hostScripts";
import { HUB_QUEUES } from "../shared/messages/queueMessages";
import type { CloudCredentials } from "../shared/ports";
import { errorCode, errorMessage } from "../shared/ports/errors";
import type { LogLine } from "../shared/ports/log";
import { buildStepDeps, type StepDeps } from "../shared/usecases/stepDeps";
import { EXIT_INVALID_INPUT, EXIT_UNAVAILABLE } from "./exitCodes";

export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "CliFailure";
  }
}

export interface CloudOptions {
  config: string;
  endpointsFile?: string;
  /**
   * Act with the caller's own credentials, not as the operator role: the deploy's own steps
   * (`queues` creates the hub's queues, which no pipeline role may do).
   */
  ownCredentials?: boolean;
}

export interface CloudSession {
  config: RoutesFile;
  adapters: AlibabaAdapters;
  deps: StepDeps;
  /** The steps' log lines of this command (kept for the summary, not printed). */
  logs: LogLine[];
  /** Where the commands act, in words. */
  where: string;
}

export function loadConfig(path: string): RoutesFile {
  try {
    return loadRoutesConfig(path);
  } catch (error) {
    if (error instanceof RoutesConfigError) {
      // One problem (an unreadable file): one line. Several: the first line counts them, one each after.
      const [only] = error.issues;
      const message =
        error.issues.length === 1 && only ? `${error.source}: ${formatIssue(only)}` : error.message;
      throw new CliFailure(message, EXIT_INVALID_INPUT);
    }
    throw error;
  }
}

export async function openCloud(options: CloudOptions): Promise<CloudSession> {
  const config = loadConfig(options.config);
  let credentials: () => Promise<CloudCredentials>;
  let endpoints: ReturnType<typeof alibabaEndpoints>;
  let where: string;
  if (options.endpointsFile !== undefined) {
    const file = options.endpointsFile;
    const document = await readEndpointsFile(file).catch((error: unknown) => {
      throw new CliFailure(`--endpoints-file ${file}: ${errorMessage(error)}`, EXIT_INVALID_INPUT);
    });
    if (!document.accounts.some((account) => account.id === config.hub.accountId))
      throw new CliFailure(
        `--endpoints-file ${file}: the hub account ${config.hub.accountId} of ${options.config} has no key there`,
        EXIT_INVALID_INPUT,
      );
    // The local stack's endpoints are `*.localhost` names on 127.0.0.1: resolve them in-process.
    installLocalhostResolver();
    const hubKey = localAccountCredentials(document, config.hub.accountId);
    credentials = async () => hubKey;
    endpoints = localEndpoints(document);
    where = `the local stack (${file})`;
  } else {
    const chain = defaultCredentialChain();
    credentials = async () => {
      try {
        return await chain();
      } catch (error) {
        throw new CliFailure(
          `no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, a profile in ~/.alibabacloud/credentials (ALIBABA_CLOUD_PROFILE), or run where an instance role is attached; or point at the local stack with --endpoints-file (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`,
          EXIT_UNAVAILABLE,
        );
      }
    };
    endpoints = alibabaEndpoints({ network: "public" });
    where = `Alibaba Cloud (hub ${config.hub.accountId})`;
  }
  // Resolve the credentials now: "no credentials" is said before anything is read or changed.
  await credentials();
  const now = await functionTime(options.endpointsFile)
    .then((time) => time.now)
    .catch((error: unknown) => {
      throw new CliFailure(
        `cannot read the local stack's clock (${errorMessage(error)}): is it running?`,
        EXIT_UNAVAILABLE,
      );
    });
  if (options.ownCredentials !== true) credentials = await asOperator(config, endpoints, credentials, now);
  const adapters = createAlibabaAdapters({
    endpoints,
    // The chain caches and refreshes what it found (an instance role's token expires).
    hub: { accountId: config.hub.accountId, region: config.hub.region, credentials },
    roles: rolesFromRoutes(config),
    sessionName: "logtail-xacct-cli",
    now,
    gate: new ThrottleGate({ now }),
    // An operator waits for an answer: fewer, shorter retries than a function.
    retry: { attempts: 2, baseDelayMs: 200, maxDelayMs: 1_000 },
  });
  const logs: LogLine[] = [];
  const deps = buildStepDeps({
    config,
    adapters,
    queues: HUB_QUEUES,
    scripts: readHostScripts(),
    slsDataEndpoint: (region, network) => endpoints.slsDataEndpoint(region, network),
    clock: { now, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
    log: (line) => logs.push(line),
    origin: "cli",
    tuning: resultPolling(process.env.LOGTAIL_XACCT_RESULT_POLL_MS),
  });
  return { config, adapters, deps, logs, where };
}

/**
 * The operator's credentials become a session of the deployment's operator role: spoke and
 * destination roles trust only that role and the functions' (shared/deploy/policies.ts). A hub
 * without the role (a deployment made before it existed) keeps the caller's own credentials; the
 * roles it reaches then decide, as before.
 */
async function asOperator(
  config: RoutesFile,
  endpoints: ReturnType<typeof alibabaEndpoints>,
  own: () => Promise<CloudCredentials>,
  now: () => number,
): Promise<() => Promise<CloudCredentials>> {
  const hub = config.hub.accountId;
  const operator = new AssumeRoleCredentials({
    // The operator's own identity stands where the hub's functions would: every account is "other".
    hubAccountId: "",
    hubCredentials: own,
    roles: new Map([[hub, { roleArn: `acs:ram::${hub}:role/${OPERATOR_ROLE}` }]]),
    clients: createSdkClients(endpoints),
    stsRegion: config.hub.region,
    sessionName: "logtail-xacct-cli",
    now,
    retry: { attempts: 2, baseDelayMs: 200, maxDelayMs: 1_000 },
  });
  try {
    await operator.forAccount(hub);
  } catch (error) {
    if (errorCode(error) === "EntityNotExist.Role") return own;
    throw new CliFailure(
      `cannot act as the operator role ${OPERATOR_ROLE} of the hub ${hub}: ${errorMessage(error)} (your identity needs sts:AssumeRole on it)`,
      EXIT_UNAVAILABLE,
    );
  }
  return () => operator.forAccount(hub);
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "RequestTimeout",
]);

/** A failure of a command as one line and an exit code. */
export function describeFailure(error: unknown): CliFailure {
  if (error instanceof CliFailure) return error;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  if (code !== undefined && NETWORK_CODES.has(code))
    return new CliFailure(`cannot reach the cloud: ${message}`, EXIT_UNAVAILABLE);
  if (code !== undefined) return new CliFailure(`the cloud refused: ${message}`, EXIT_UNAVAILABLE);
  return new CliFailure(`internal error: ${message}`, 70);
}

/** Checks --route and --account against the routes file. */
export function checkFilters(config: RoutesFile, file: string, route?: string, account?: string): void {
  if (route !== undefined && !Object.hasOwn(config.routes, route))
    throw new CliFailure(
      `--route ${route}: no such route in ${file} (routes: ${Object.keys(config.routes).join(", ")})`,
      EXIT_INVALID_INPUT,
    );
  if (account !== undefined && !config.sourceAccounts.some((a) => a.uid === account))
    throw new CliFailure(
      `--account ${account}: not a source account of ${file} (accounts: ${config.sourceAccounts.map((a) => a.uid).join(", ")})`,
      EXIT_INVALID_INPUT,
    );
}

/** `LOGTAIL_XACCT_RESULT_POLL_MS`: how soon to read a host command's results first (default 5000). */
function resultPolling(value: string | undefined): { resultPollMs?: number } {
  if (value === undefined) return {};
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 10 || ms > 60_000)
    throw new CliFailure(`LOGTAIL_XACCT_RESULT_POLL_MS=${value}: must be whole milliseconds, 10 to 60000`, 2);
  return { resultPollMs: ms };
}
