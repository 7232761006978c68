/**
 * The authorize step against the local stack: real adapters (official SDKs, AssumeRole into the
 * spoke), real RunCommand of the real host script on sandboxed hosts, real status tags and queue.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultQueueAttributes } from "../../emulator/mns/backend";
import { parseSimulatedFleet } from "../../localstack/fleet/simulatedFleet";
import { type LocalStack, startLocalStack } from "../../localstack/stack";
import {
  createAlibabaAdapters,
  localEndpoints,
  readEndpointsFile,
  rolesFromRoutes,
} from "../../shared/adapters";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import { decodeMessage } from "../../shared/messages/queueMessages";
import {
  type AuthorizeDeps,
  authorizeInstances,
  type LogLine,
} from "../../shared/usecases/authorizeInstances";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
const HUB = config.hub.accountId;
const SPOKE = "1700000000000397";
const REGION = "cn-hangzhou";
const QUEUE = "logtail-xacct-heartbeat";
const ROUTE_KEY = config.tagKey;
const STATUS_KEY = config.statusTagKey;

const ids = {
  web: "i-bp1authweb00001",
  shared: "i-bp1authshared01",
  stopped: "i-bp1authstop0001",
  offline: "i-bp1authoffl0001",
  badTag: "i-bp1authbadtag01",
  wrongRoute: "i-bp1authwrong001",
  untagged: "i-bp1authuntag001",
};

const fleet = parseSimulatedFleet({
  accounts: [
    { id: HUB, name: "hub", roles: [] },
    { id: SPOKE, name: "app-b", roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB] }] },
    {
      id: "1800000000000512",
      name: "payments",
      roles: [{ name: "logtail-xacct-spoke", trustedAccounts: [HUB] }],
    },
  ],
  instances: [
    { account: "app-b", region: REGION, id: ids.web, tags: { [ROUTE_KEY]: "app-b-prod" } },
    {
      account: "app-b",
      region: REGION,
      id: ids.shared,
      tags: { [ROUTE_KEY]: "app-b-prod" },
      userDefinedIds: ["team-x-web"],
    },
    {
      account: "app-b",
      region: REGION,
      id: ids.stopped,
      status: "Stopped",
      tags: { [ROUTE_KEY]: "app-b-prod" },
    },
    {
      account: "app-b",
      region: REGION,
      id: ids.offline,
      cloudAssistant: "offline",
      tags: { [ROUTE_KEY]: "app-b-prod" },
    },
    { account: "app-b", region: REGION, id: ids.badTag, tags: { [ROUTE_KEY]: "$(reboot)" } },
    { account: "payments", region: REGION, id: ids.wrongRoute, tags: { [ROUTE_KEY]: "app-b-prod" } },
    { account: "app-b", region: REGION, id: ids.untagged },
  ],
});

describeRequiring(sandboxRequirement(), "authorize on the local stack", () => {
  let stack: LocalStack;
  let workDir: string;
  let deps: AuthorizeDeps;
  const logs: LogLine[] = [];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-authorize-"));
    const endpointsFile = join(workDir, "endpoints.json");
    stack = await startLocalStack({
      fleet,
      hubAccountId: HUB,
      workDir,
      endpointsFile,
      clock: { startAt: Date.UTC(2026, 0, 1), scale: 0 },
    });
    stack.emulator.mns.createQueue(HUB, REGION, QUEUE, defaultQueueAttributes);
    const endpoints = await readEndpointsFile(endpointsFile);
    const hubKey = endpoints.accounts.find((a) => a.id === HUB);
    if (!hubKey) throw new Error("no hub key");
    const adapters = createAlibabaAdapters({
      endpoints: localEndpoints(endpoints),
      hub: {
        accountId: HUB,
        region: REGION,
        credentials: () => ({ accessKeyId: hubKey.accessKeyId, accessKeySecret: hubKey.accessKeySecret }),
      },
      roles: rolesFromRoutes(config),
      now: () => stack.emulator.now(),
    });
    deps = {
      config,
      ecs: (scope) => adapters.ecs(scope),
      queue: adapters.queue(),
      heartbeatQueue: QUEUE,
      scripts: readHostScripts(),
      now: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      log: (line) => logs.push(line),
      resultPollMs: 25,
      resultWaitMs: 20_000,
    };
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const statusTag = (id: string) => stack.emulator.ecs.getInstance(id)?.tags.get(STATUS_KEY);

  test("one pass: authorized, pending, refused and offline instances each get their status; only runnable hosts get a command", async () => {
    const outcome = await authorizeInstances(deps, {
      accountId: SPOKE,
      region: REGION,
      instanceIds: Object.values(ids),
    });

    expect(statusTag(ids.web)).toBe("authorized");
    expect(statusTag(ids.shared)).toBe("authorized");
    expect(statusTag(ids.stopped)).toBe("pending");
    expect(statusTag(ids.offline)).toBe("failed:CloudAssistantOffline");
    expect(statusTag(ids.badTag)).toBe("failed:InvalidRouteTag");
    expect(statusTag(ids.untagged)).toBeUndefined();
    expect(outcome.commands).toBe(1);
    expect(stack.fleet.host(ids.shared)?.root().identifierFile()).toBe("team-x-web\napp-b-prod-linux\n");
    expect(stack.fleet.host(ids.web)?.uidFiles()).toEqual([HUB]);
    // Another account's instance id in a spoke's event is simply not found there.
    expect(logs).toContainEqual(
      expect.objectContaining({ reason: "InstanceReleased", instanceIds: [ids.wrongRoute] }),
    );
  });

  test("the authorized instances are queued for the heartbeat check, identities only", () => {
    const queued = stack.emulator.mns.peek(HUB, REGION, QUEUE, 16);

    expect(queued).toHaveLength(1);
    const body = Buffer.from(queued[0]?.body ?? "", "base64").toString("utf8");
    const decoded = decodeMessage(body);
    expect(decoded).toMatchObject({
      ok: true,
      message: {
        type: "await-heartbeat",
        accountId: SPOKE,
        route: "app-b-prod",
        instanceIds: [ids.web, ids.shared].sort(),
      },
    });
  });

  test("a second pass changes nothing on the hosts and writes no status", async () => {
    const before = stack.emulator.metrics();
    const beforeTags = before.operations
      .filter((o) => o.operation === "TagResources")
      .reduce((n, o) => n + o.calls, 0);

    await authorizeInstances(deps, { accountId: SPOKE, region: REGION, instanceIds: [ids.web, ids.shared] });

    const after = stack.emulator.metrics();
    const afterTags = after.operations
      .filter((o) => o.operation === "TagResources")
      .reduce((n, o) => n + o.calls, 0);
    expect(afterTags).toBe(beforeTags);
    expect(
      stack.fleet
        .host(ids.web)
        ?.root()
        .agentEvents()
        .filter((e) => e === "restart"),
    ).toHaveLength(1);
  });

  test("untagging revokes: the host's files are as before onboarding, the status says revoked", async () => {
    await deps.ecs({ accountId: SPOKE, region: REGION }).untagInstances([ids.shared], [ROUTE_KEY]);

    await authorizeInstances(deps, { accountId: SPOKE, region: REGION, instanceIds: [ids.shared] });

    expect(statusTag(ids.shared)).toBe("revoked");
    expect(stack.fleet.host(ids.shared)?.root().identifierFile()).toBe("team-x-web\n");
    expect(stack.fleet.host(ids.shared)?.uidFiles()).toEqual([]);
  });

  test("an event for an account that is not in the routes file is refused in the log, nothing called", async () => {
    const calls = stack.emulator.metrics().totalCalls;

    await authorizeInstances(deps, { accountId: "1999999999999999", region: REGION, instanceIds: [ids.web] });

    expect(stack.emulator.metrics().totalCalls).toBe(calls);
    expect(logs.at(-1)).toMatchObject({ outcome: "refused", reason: "AccountNotConfigured" });
  });
});
