/**
 * `npx logtail-xacct invoke <function> --event FILE [--endpoints-file FILE] [--template s.yaml]`:
 * invokes one function of the s.yaml once, locally, against a running emulator — the tool to replay
 * a captured event. The event file's bytes are the event (FC hands handlers a Buffer). Credentials:
 * the function role's temporary keys from the emulator's STS, assumed with the hub account's keys
 * from the endpoints file; when STS refuses (or there is no STS endpoint) the hub's own keys are
 * used and a warning says so. The handler also sees LOGTAIL_XACCT_ENDPOINTS_FILE (absolute path).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { roleArnAccount } from "../../shared/config/patterns";
import { type CredentialsProvider, type FcCredentials, staticCredentials } from "./credentials";
import { endpointFor, findHubAccount, loadEndpointsFile, resolveHubAccount } from "./endpointsFile";
import { LocalFcError } from "./errors";
import { describeError } from "./functionInvoker";
import { jsonLinesLogger } from "./invocationLog";
import { LocalFcRuntime } from "./localFcRuntime";
import { loadServerlessSpec } from "./serverlessSpec";
import { stsRoleCredentials } from "./stsCredentials";
import { systemScheduler } from "./systemScheduler";

export const DEFAULT_ENDPOINTS_FILE = ".tmp/localstack/endpoints.json";
export const DEFAULT_TEMPLATE = "s.yaml";
export const ENDPOINTS_FILE_ENV = "LOGTAIL_XACCT_ENDPOINTS_FILE";

export interface InvokeCommandOptions {
  functionName: string;
  eventFile: string;
  endpointsFile?: string;
  /** The s.yaml; default `s.yaml` in `cwd`. */
  template?: string;
  /** Overrides the hub account of the endpoints file. */
  hubAccountId?: string;
}

export interface InvokeCommandIo {
  out(text: string): void;
  err(text: string): void;
  /** For `${env(...)}` in s.yaml (the CLI passes process.env). */
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Test seam: how role credentials are obtained. Default: STS at the endpoints file's `sts`. */
  roleCredentials?: (caller: FcCredentials, stsEndpoint: string | undefined) => CredentialsProvider;
  loadModule?: (modulePath: string) => unknown;
}

const EXIT_OK = 0;
const EXIT_FAILED = 1;

/** Returns the exit code: 0 when the handler succeeded, 1 when it failed or the input is unusable. */
export async function runInvokeCommand(options: InvokeCommandOptions, io: InvokeCommandIo): Promise<number> {
  try {
    return await invoke(options, io);
  } catch (error) {
    if (!(error instanceof LocalFcError)) throw error;
    io.err(`logtail-xacct invoke: ${error.message}\n`);
    return EXIT_FAILED;
  }
}

async function invoke(options: InvokeCommandOptions, io: InvokeCommandIo): Promise<number> {
  const endpointsPath = resolve(io.cwd, options.endpointsFile ?? DEFAULT_ENDPOINTS_FILE);
  const endpoints = loadEndpointsFile(endpointsPath);
  const known = findHubAccount(endpoints, options.hubAccountId);
  const spec = loadServerlessSpec(resolve(io.cwd, options.template ?? DEFAULT_TEMPLATE), {
    env: io.env,
    ...(known ? { config: { AccountID: known.id } } : {}),
  });
  const fn = spec.functions.find(
    (f) => f.name === options.functionName || f.resource === options.functionName,
  );
  if (fn === undefined) {
    throw new LocalFcError(
      `no function ${options.functionName} in ${spec.file} (known: ${spec.functions.map((f) => f.name).join(", ")})`,
    );
  }
  // The hub is the account the s.yaml deploys to: when the file does not say, the function's role does.
  const hub = known ?? resolveHubAccount(endpoints, roleArnAccount(fn.role ?? ""));
  let event: Buffer;
  try {
    event = readFileSync(resolve(io.cwd, options.eventFile));
  } catch (error) {
    throw new LocalFcError(`cannot read the event file ${options.eventFile} (${describeError(error)})`);
  }
  const caller: FcCredentials = {
    accessKeyId: hub.accessKeyId,
    accessKeySecret: hub.accessKeySecret,
    securityToken: "",
  };
  const sts = endpointFor(endpoints, "sts", { region: fn.region, accountId: hub.id });
  const roleProvider = (io.roleCredentials ?? defaultRoleCredentials)(caller, sts);
  const credentials: CredentialsProvider = async (request) => {
    try {
      return await roleProvider(request);
    } catch (error) {
      io.err(
        `logtail-xacct invoke: warning: cannot assume ${request.role ?? "the function role"} (${describeError(error)}); ` +
          `the function runs with the hub account's own keys\n`,
      );
      return caller;
    }
  };
  const runtime = new LocalFcRuntime({
    spec: { ...spec, functions: [fn] },
    accountId: hub.id,
    credentials,
    scheduler: systemScheduler,
    logger: jsonLinesLogger((text) => io.err(text)),
    extraEnv: { [ENDPOINTS_FILE_ENV]: endpointsPath },
    ...(io.loadModule ? { loadModule: io.loadModule } : {}),
  });
  const result = await runtime.invoke(fn.name, event);
  if (!result.ok) {
    io.err(
      `logtail-xacct invoke: ${fn.name} failed (request ${result.requestId}): ${describeError(result.error)}\n`,
    );
    return EXIT_FAILED;
  }
  io.out(
    `${JSON.stringify({ function: fn.name, requestId: result.requestId, durationMs: result.durationMs, result: toJson(result.value) })}\n`,
  );
  return EXIT_OK;
}

function defaultRoleCredentials(caller: FcCredentials, sts: string | undefined): CredentialsProvider {
  if (sts === undefined) return staticCredentials(caller);
  return stsRoleCredentials({ endpoint: sts, caller });
}

/** FC returns a Buffer or string as is, anything else as JSON. */
function toJson(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return value === undefined ? null : value;
}
