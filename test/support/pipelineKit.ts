/**
 * The setup the pipeline-step tests share: the local stack with a fleet, the hub's queues, the real
 * Alibaba adapters pointed at it (AssumeRole into the spokes from the routes file), and the
 * dependencies every step takes, on the emulator's clock.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultQueueAttributes } from "../../emulator/mns/backend";
import type { SimulatedFleetInput } from "../../localstack/fleet/simulatedFleet";
import { parseSimulatedFleet } from "../../localstack/fleet/simulatedFleet";
import { type LocalStack, startLocalStack } from "../../localstack/stack";
import {
  type AlibabaAdapters,
  createAlibabaAdapters,
  localEndpoints,
  readEndpointsFile,
  rolesFromRoutes,
} from "../../shared/adapters";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import type { RoutesFile } from "../../shared/config/routesSchema";
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import { type DeadLetterRecord, parseDeadLetter } from "../../shared/messages/deadLetters";
import { decodeMessage, HUB_QUEUES, WORK_QUEUES } from "../../shared/messages/queueMessages";
import type { EndpointResolver } from "../../shared/ports/endpoints";
import type { LogLine } from "../../shared/ports/log";
import { buildStepDeps, type StepDeps } from "../../shared/usecases/stepDeps";

export const config: RoutesFile = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
export const HUB = config.hub.accountId;
export const SPOKE = "1700000000000397";
export const PAYMENTS = "1800000000000512";
export const REGION = "cn-hangzhou";
export const HEARTBEAT_QUEUE = HUB_QUEUES.heartbeat;
export const APPLY_QUEUE = HUB_QUEUES.apply;
export const DEAD_LETTER_QUEUE = HUB_QUEUES.deadLetter;

/** The routes file's three accounts, the spokes trusting the hub. */
export const ACCOUNTS: SimulatedFleetInput["accounts"] = [
  { id: HUB, name: "hub", roles: [] },
  { id: SPOKE, name: "app-b", roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB] }] },
  { id: PAYMENTS, name: "payments", roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB] }] },
];

export interface PipelineKit {
  stack: LocalStack;
  adapters: AlibabaAdapters;
  endpoints: EndpointResolver;
  deps: StepDeps;
  logs: LogLine[];
  status(instanceId: string): string | undefined;
  /** Decoded messages visible on a hub queue (without receiving them). */
  messagesIn(queue: string): ReturnType<typeof decodeMessage>[];
  /** Records visible on the dead-letter queue. */
  deadLetters(): Array<DeadLetterRecord | undefined>;
  /**
   * Lets `seconds` of emulated time pass in steps (1 s by default), the hosts' writers writing and
   * their agents reading and shipping on the way (the clock is stopped otherwise).
   */
  letLinesFlow(seconds: number, stepSeconds?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startPipelineKit(
  instances: SimulatedFleetInput["instances"],
  startAt = Date.UTC(2026, 3, 1),
): Promise<PipelineKit> {
  const workDir = mkdtempSync(join(tmpdir(), "ltx-pipeline-"));
  const endpointsFile = join(workDir, "endpoints.json");
  const stack = await startLocalStack({
    fleet: parseSimulatedFleet({ accounts: ACCOUNTS, instances }),
    hubAccountId: HUB,
    workDir,
    endpointsFile,
    clock: { startAt, scale: 0 },
  });
  for (const queue of [...WORK_QUEUES, DEAD_LETTER_QUEUE])
    stack.emulator.mns.createQueue(HUB, REGION, queue, defaultQueueAttributes);
  const document = await readEndpointsFile(endpointsFile);
  const hubKey = document.accounts.find((a) => a.id === HUB);
  if (!hubKey) throw new Error("the endpoints file has no hub key");
  const endpoints = localEndpoints(document);
  const adapters = createAlibabaAdapters({
    endpoints,
    hub: {
      accountId: HUB,
      region: REGION,
      credentials: () => ({ accessKeyId: hubKey.accessKeyId, accessKeySecret: hubKey.accessKeySecret }),
    },
    roles: rolesFromRoutes(config),
    now: () => stack.emulator.now(),
  });
  const logs: LogLine[] = [];
  const deps = buildStepDeps({
    config,
    adapters,
    queues: HUB_QUEUES,
    scripts: readHostScripts(),
    slsDataEndpoint: (region) => endpoints.slsDataEndpoint(region),
    clock: {
      now: () => stack.emulator.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
    log: (line) => logs.push(line),
    origin: "test",
    tuning: { resultPollMs: 25, resultWaitMs: 20_000 },
  });
  return {
    stack,
    adapters,
    endpoints,
    deps,
    logs,
    status: (id) => stack.emulator.ecs.getInstance(id)?.tags.get(config.statusTagKey),
    messagesIn: (queue) => {
      try {
        return stack.emulator.mns
          .peek(HUB, REGION, queue, 16)
          .map((m) => decodeMessage(Buffer.from(m.body, "base64").toString("utf8")));
      } catch {
        return []; // MessageNotExist: nothing visible
      }
    },
    deadLetters: () => {
      try {
        return stack.emulator.mns
          .peek(HUB, REGION, DEAD_LETTER_QUEUE, 16)
          .map((m) => parseDeadLetter(Buffer.from(m.body, "base64").toString("utf8")));
      } catch {
        return [];
      }
    },
    letLinesFlow: async (seconds, stepSeconds = 1) => {
      for (let second = 0; second < seconds; second += stepSeconds) {
        stack.emulator.advanceClock(stepSeconds * 1_000);
        await stack.fleet.settleCollection();
      }
    },
    stop: async () => {
      await stack.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
