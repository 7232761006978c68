/**
 * The later look at slow hosts' commands (check-command messages) on port fakes: statuses written
 * per host, the hosts found authorized handed back for their heartbeat check, the commands still
 * running looked at again with backoff, lost invocations settled at once. The per-host decision
 * alone is test/pipeline/settle.test.ts's.
 */

import { type CheckCommandMessage, HUB_QUEUES } from "../../../shared/messages/queueMessages";
import { AGENT_ID_TAG_KEY } from "../../../shared/planner/heartbeating";
import { checkCommands } from "../../../shared/usecases/checkCommands";
import {
  APP_B,
  argsOf,
  cloudError,
  type FakeCloud,
  failedRun,
  fakeCloud,
  HUB,
  hostReport,
  instance,
  REGION,
  STATUS_KEY,
  stillRunning,
  succeeded,
  tags,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const HEARTBEAT = HUB_QUEUES.heartbeat;
const A = "i-bp1slowa00001";
const B = "i-bp1slowb00001";

let cloud: FakeCloud;
let deps: UseCaseDeps;

beforeEach(() => {
  cloud = fakeCloud();
  deps = useCaseDeps(cloud);
});

const ecs = () => cloud.ecs({ accountId: APP_B, region: REGION });
/** An invocation on these hosts, each still running until the test says otherwise. */
async function invocation(ids: string[]): Promise<string> {
  ecs().answer = (id) => stillRunning(id);
  const [made] = await ecs().fns.runCommand(
    { type: "RunShellScript", contentEncoding: "Base64", commandContent: "", timeoutSeconds: 60 },
    ids,
    { attemptKey: "test" },
  );
  if (!made) throw new Error("no invocation");
  return made.invokeId;
}
const check = (invokeId: string, fields: Partial<CheckCommandMessage> = {}): CheckCommandMessage => ({
  v: 1,
  type: "check-command",
  accountId: APP_B,
  region: REGION,
  route: "app-b-prod",
  instanceIds: [A],
  invokeId,
  action: "authorize",
  sentAt: cloud.clock.now() - 60_000,
  checks: 0,
  ...fields,
});
const again = () =>
  cloud.queue
    .sent(HEARTBEAT)
    .flatMap((m) =>
      m.ok && m.message.type === "check-command" ? [{ ...m.message, delay: m.delaySeconds }] : [],
    );

describe("checkCommands: authorize", () => {
  beforeEach(() => {
    cloud.add(
      instance(A, { tags: tags("app-b-prod", "pending") }),
      instance(B, { tags: tags("app-b-prod") }),
    );
  });

  test("a finished command authorizes the host and hands it back for its heartbeat check (not queued)", async () => {
    const invokeId = await invocation([A, B]);
    ecs().setResult(invokeId, succeeded(A));
    ecs().setResult(invokeId, succeeded(B));

    const outcome = await checkCommands(deps, [check(invokeId, { instanceIds: [A, B] })]);

    expect(outcome).toMatchObject({ settled: 2, running: 0 });
    expect(outcome.authorized).toEqual([
      {
        v: 1,
        type: "await-heartbeat",
        accountId: APP_B,
        region: REGION,
        route: "app-b-prod",
        instanceIds: [A, B],
        authorizedAt: cloud.clock.now(),
        checks: 0,
      },
    ]);
    expect([cloud.status(A), cloud.status(B)]).toEqual(["authorized", "authorized"]);
    // One status write for both hosts.
    expect(argsOf(ecs().calls, "tagInstances")).toEqual([[[A, B], { [STATUS_KEY]: "authorized" }]]);
    expect(cloud.queue.sent(HEARTBEAT)).toEqual([]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "authorize",
        outcome: "ok",
        instanceIds: [A, B],
        detail: "result read after 60 s",
        invokeId,
      }),
    );
  });

  test("a slow ARM host's agent UUID is recorded before its status, as authorize records it", async () => {
    const ARM_AGENT = "9b2f3c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e";
    const invokeId = await invocation([A]);
    const report = hostReport({
      host: { dmiUuid: null, ip: null, hostname: null, agentVersion: null, agentUuid: ARM_AGENT },
    });
    ecs().setResult(invokeId, succeeded(A, report));

    await checkCommands(deps, [check(invokeId, { instanceIds: [A] })]);

    expect(argsOf(ecs().calls, "tagInstances")).toEqual([
      [[A], { [AGENT_ID_TAG_KEY]: ARM_AGENT }],
      [[A], { [STATUS_KEY]: "authorized" }],
    ]);
  });

  test("a command still running is looked at again, later each time, and its host stays pending", async () => {
    const invokeId = await invocation([A]);

    const first = await checkCommands(deps, [check(invokeId)]);
    const fourth = await checkCommands(deps, [check(invokeId, { checks: 3 })]);

    expect(first).toMatchObject({ settled: 0, running: 1, authorized: [] });
    expect(fourth.running).toBe(1);
    expect(again().map((m) => [m.instanceIds, m.checks, m.delay])).toEqual([
      [[A], 1, 50],
      [[A], 4, 100],
    ]);
    expect(cloud.status(A)).toBe("pending");
    expect(argsOf(ecs().calls, "tagInstances")).toEqual([]);
  });

  test("only the hosts still running are looked at again; the finished ones are settled now", async () => {
    const invokeId = await invocation([A, B]);
    ecs().setResult(invokeId, failedRun(A, { errorCode: "DeliveryTimeout", errorInfo: "no agent" }));

    const outcome = await checkCommands(deps, [check(invokeId, { instanceIds: [A, B] })]);

    expect(outcome).toMatchObject({ settled: 1, running: 1 });
    expect(cloud.status(A)).toBe("failed:CloudAssistantOffline");
    expect(again().map((m) => m.instanceIds)).toEqual([[B]]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({ outcome: "failed", reason: "DeliveryTimeout", instanceIds: [A], invokeId }),
    );
  });

  test("a command without a result 30 minutes after it was sent is failed HostCommandTimeout", async () => {
    const invokeId = await invocation([A]);

    const outcome = await checkCommands(deps, [
      check(invokeId, { sentAt: cloud.clock.now() - 30 * 60_000, checks: 9 }),
    ]);

    expect(outcome).toMatchObject({ settled: 1, running: 0 });
    expect(cloud.status(A)).toBe("failed:HostCommandTimeout");
    expect(again()).toEqual([]);
  });

  test("an invocation Cloud Assistant no longer knows settles its hosts at once", async () => {
    const outcome = await checkCommands(deps, [check("t-hz0000gone0000")]);

    expect(outcome).toMatchObject({ settled: 1, running: 0 });
    expect(cloud.status(A)).toBe("failed:HostCommandTimeout");
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        outcome: "skipped",
        reason: "InvocationNotFound",
        invokeId: "t-hz0000gone0000",
      }),
    );
  });

  test("a retryable failure to read the results fails the run: the message comes back", async () => {
    const invokeId = await invocation([A]);
    ecs().fns.invocationResults = async () => {
      throw cloudError("Throttling.User", { retryable: true });
    };

    await expect(checkCommands(deps, [check(invokeId)])).rejects.toMatchObject({ code: "Throttling.User" });
    expect(cloud.status(A)).toBe("pending");
  });

  test("a host that moved on (re-tagged, or authorized by a newer run) is not touched", async () => {
    const record = cloud.record(A);
    if (record) record.tags = tags("payments-prod", "pending");
    const invokeId = await invocation([A, B]);
    ecs().setResult(invokeId, succeeded(A));
    const other = cloud.record(B);
    if (other) other.tags = tags("app-b-prod", "collecting");
    ecs().setResult(invokeId, succeeded(B));

    const outcome = await checkCommands(deps, [check(invokeId, { instanceIds: [A, B] })]);

    expect(outcome).toEqual({ settled: 0, running: 0, authorized: [], idle: [] });
    expect(argsOf(ecs().calls, "tagInstances")).toEqual([]);
  });

  test("a retried host failure keeps its reason when its command ends; the heartbeat check decides", async () => {
    const record = cloud.record(A);
    if (record) record.tags = tags("app-b-prod", "failed:AgentNotRunning");
    const invokeId = await invocation([A]);
    ecs().setResult(invokeId, succeeded(A));

    const outcome = await checkCommands(deps, [check(invokeId)]);

    expect(cloud.status(A)).toBe("failed:AgentNotRunning");
    expect(outcome.authorized.flatMap((m) => m.instanceIds)).toEqual([A]);
  });

  test("no messages: no call at all", async () => {
    expect(await checkCommands(deps, [])).toEqual({ settled: 0, running: 0, authorized: [], idle: [] });
    expect(cloud.journal).toEqual([]);
  });
});

describe("checkCommands: revoke", () => {
  const revokeCheck = (invokeId: string) => check(invokeId, { action: "revoke" });

  test("an untagged host is revoked once its report shows no route's identifier left", async () => {
    cloud.add(instance(A, { tags: tags(undefined, "collecting") }));
    const invokeId = await invocation([A]);
    ecs().setResult(invokeId, succeeded(A, hostReport({ action: "revoke", identifiers: ["team-x-web"] })));

    const outcome = await checkCommands(deps, [revokeCheck(invokeId)]);

    expect(outcome).toMatchObject({ settled: 1, authorized: [] });
    expect(cloud.status(A)).toBe("revoked");
  });

  test("an untagged host with another route's identifier still on it is not revoked yet", async () => {
    cloud.add(instance(A, { tags: tags(undefined, "collecting") }));
    const invokeId = await invocation([A]);
    ecs().setResult(
      invokeId,
      succeeded(A, hostReport({ action: "revoke", uidFiles: [HUB], identifiers: ["payments-prod-linux"] })),
    );

    await checkCommands(deps, [revokeCheck(invokeId)]);

    expect(cloud.status(A)).toBe("collecting");
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "revoke",
        outcome: "ok",
        detail: expect.stringContaining("payments-prod-linux"),
      }),
    );
  });

  test("an identifier revoke kept because it was there before onboarding does not hold the host back", async () => {
    cloud.add(instance(A, { tags: tags(undefined, "collecting") }));
    const invokeId = await invocation([A]);
    ecs().setResult(
      invokeId,
      succeeded(
        A,
        hostReport({
          action: "revoke",
          identifiers: ["app-b-prod-linux"],
          keptIdentifiers: ["app-b-prod-linux"],
        }),
      ),
    );

    await checkCommands(deps, [revokeCheck(invokeId)]);

    expect(cloud.status(A)).toBe("revoked");
  });

  test("a re-tagged host's status is left to its new route when the old route's revoke ends", async () => {
    cloud.add(instance(A, { tags: tags("payments-prod", "authorized") }));
    const invokeId = await invocation([A]);
    ecs().setResult(invokeId, succeeded(A, hostReport({ action: "revoke" })));

    await checkCommands(deps, [revokeCheck(invokeId)]);

    expect(cloud.status(A)).toBe("authorized");
    expect(argsOf(ecs().calls, "tagInstances")).toEqual([]);
  });

  test("a failed revoke is logged for reconcile to try again; the status stays", async () => {
    cloud.add(instance(A, { tags: tags(undefined, "collecting") }));
    const invokeId = await invocation([A]);
    ecs().setResult(invokeId, failedRun(A, { errorCode: "ExitCodeNonzero" }));

    await checkCommands(deps, [revokeCheck(invokeId)]);

    expect(cloud.status(A)).toBe("collecting");
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "revoke",
        outcome: "failed",
        reason: "ExitCodeNonzero",
        instanceIds: [A],
      }),
    );
  });
});
