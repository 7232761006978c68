/** The hub and spoke accounts the local-stack tests load, and official-SDK clients for them. */

import { join } from "node:path";
import Ecs, * as $Ecs from "@alicloud/ecs20140526";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import Sls from "@alicloud/sls20201230";
import {
  parseSimulatedFleet,
  type SimulatedFleetInput,
  type SimulatedFleetSpec,
} from "../../localstack/fleet/simulatedFleet";
import { type LocalStack, startLocalStack } from "../../localstack/stack";
import { EVENT_FORWARDER_ROLE } from "../../shared/deploy/policies";
import { HUB_QUEUES, MAX_RECEIVE_COUNT, WORK_QUEUES } from "../../shared/messages/queueMessages";

export const REGION = "cn-hangzhou";
export const IDENTIFIER = "app-b-prod-linux";

export const HUB = {
  id: "1200000000000456",
  name: "hub",
  accessKeyId: "LTAIhubKey0001",
  accessKeySecret: "hub-secret-0001",
};

export const SPOKE = {
  id: "1700000000000397",
  name: "app-b",
  accessKeyId: "LTAIspokeKey01",
  accessKeySecret: "spoke-secret-01",
};

type Key = { accessKeyId: string; accessKeySecret: string };

const config = (endpoint: string, key: Key) =>
  new $OpenApiUtil.Config({
    accessKeyId: key.accessKeyId,
    accessKeySecret: key.accessKeySecret,
    regionId: REGION,
    endpoint,
    protocol: "http",
    // The SDK's 3 s default is shorter than the pause a function's first load (ts-jest compiling it
    // in this process) can put on the emulator's answers on a loaded machine.
    readTimeout: 30_000,
  });

export const ecsClient = (port: number, key: Key) => new Ecs(config(`ecs.${REGION}.localhost:${port}`, key));

/** The operator opts the spoke's instances into a route, through the ECS API (its event starts authorize). */
export async function tagWithRoute(
  port: number,
  instanceIds: readonly string[],
  route: string,
): Promise<void> {
  await ecsClient(port, SPOKE).tagResources(
    new $Ecs.TagResourcesRequest({
      regionId: REGION,
      resourceType: "instance",
      resourceId: [...instanceIds],
      tag: [new $Ecs.TagResourcesRequestTag({ key: "logtail-xacct-route", value: route })],
    }),
  );
}
export const slsClient = (port: number, key: Key) => new Sls(config(`${REGION}.log.localhost:${port}`, key));

/** A local-stack fleet with the roles production has: event forwarding and the functions' role in the hub, the spoke's role. */
export function stackFleet(instances: SimulatedFleetInput["instances"]): SimulatedFleetSpec {
  return parseSimulatedFleet({
    accounts: [
      {
        ...HUB,
        roles: [
          { name: EVENT_FORWARDER_ROLE, trustedAccounts: [SPOKE.id] },
          { name: "logtail-xacct-fc", trustedServices: ["fc.aliyuncs.com"] },
        ],
      },
      { ...SPOKE, roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB.id] }] },
    ],
    instances,
  });
}

/** Polls until `probe` returns a value (every 25 ms, `attempts` times (20 s by default: a host command is first read after 5 s)), else fails naming what it waited for. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  attempts = 800,
): Promise<T> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Polls like `until`, moving a stopped emulator clock on by `stepMs` after each miss (at most
 * `steps` times): what takes emulated time (timers, writers, agents shipping) gets it.
 */
export async function untilAdvancing<T>(
  what: string,
  clock: { advanceClock(ms: number): void },
  probe: () => T | undefined | Promise<T | undefined>,
  stepMs = 10_000,
  steps = 60,
): Promise<T> {
  let advanced = 0;
  return until(what, async () => {
    const value = await probe();
    if (value !== undefined) return value;
    if (advanced < steps) {
      clock.advanceClock(stepMs);
      advanced += 1;
    }
    return undefined;
  });
}

/**
 * The deployed functions (test/fixtures/pipeline/s.yaml) on the local stack with the example routes
 * file, the hub's queues as the deployment makes them, the clock stopped at `startAt` (tests move
 * it) and the functions' log lines in `<workDir>/functions.log`. `options` swaps in another routes
 * file (same hub) or template (e.g. the project's own s.yaml, with reconcile).
 */
export function startFunctionStack(
  fleet: SimulatedFleetSpec,
  workDir: string,
  startAt: number,
  options: { routesFile?: string; template?: string } = {},
): Promise<LocalStack> {
  return startLocalStack({
    fleet,
    hubAccountId: HUB.id,
    workDir,
    endpointsFile: join(workDir, "endpoints.json"),
    template: options.template ?? join(__dirname, "../fixtures/pipeline/s.yaml"),
    functionEnv: {
      LOGTAIL_XACCT_ROUTES_FILE: options.routesFile ?? join(__dirname, "../../config/routes.example.yaml"),
      LOGTAIL_XACCT_LOG_FILE: join(workDir, "functions.log"),
    },
    hubQueues: WORK_QUEUES,
    deadLetterQueue: { name: HUB_QUEUES.deadLetter, maxReceiveCount: MAX_RECEIVE_COUNT },
    clock: { startAt, scale: 0 },
  });
}
