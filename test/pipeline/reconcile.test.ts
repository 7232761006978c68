/**
 * Reconcile on the local stack: instances tagged while no event reached the hub are onboarded;
 * drift (a binding removed) is repaired; an untagged instance is offboarded; a converged fleet
 * yields no action.
 */
import { decodeMessage } from "../../shared/messages/queueMessages";
import { type ApplyDeps, applyRoute } from "../../shared/usecases/applyRoute";
import { checkHeartbeats } from "../../shared/usecases/checkHeartbeats";
import { type ReconcileDeps, reconcile } from "../../shared/usecases/reconcile";
import {
  APPLY_QUEUE,
  config,
  HEARTBEAT_QUEUE,
  HUB,
  type PipelineKit,
  REGION,
  SPOKE,
  startPipelineKit,
} from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const ids = ["i-bp1recon000001", "i-bp1recon000002", "i-bp1recon000003"];

describeRequiring(sandboxRequirement(), "reconcile on the local stack", () => {
  let kit: PipelineKit;
  let deps: ReconcileDeps;
  let applyDeps: ApplyDeps;

  beforeAll(async () => {
    kit = await startPipelineKit(
      ids.map((id, i) => ({
        account: "app-b",
        region: REGION,
        id,
        tags: { [config.tagKey]: "app-b-prod" },
        // They write where the route reads: their lines earn `collecting`.
        writers: [{ path: "/var/log/app-b/app.log", linesPerSecond: 1 }],
        ...(i === 2 ? { userDefinedIds: ["team-x-web"] } : {}),
      })),
    );
    const sls = (scope: { accountId: string; region: string; project: string }) => kit.adapters.sls(scope);
    deps = { ...kit.deps, sls, heartbeatQueue: HEARTBEAT_QUEUE, applyQueue: APPLY_QUEUE };
    applyDeps = {
      ...kit.deps,
      sls,
      slsDataEndpoint: (region) => kit.endpoints.slsDataEndpoint(region),
      applyQueue: APPLY_QUEUE,
    };
    // The source's history and old collection, so the cutover can complete.
    const source = sls({ accountId: SPOKE, region: REGION, project: "app-b-logs" });
    await source.ensureProject();
    await source.ensureLogstore("app-b");
  });

  afterAll(async () => {
    await kit?.stop();
  });

  /** Runs what the apply function would for every message on the apply queue. */
  async function drainApply(): Promise<number> {
    let handled = 0;
    for (;;) {
      const received = await kit.adapters.queue().receive(APPLY_QUEUE, 16, 0);
      if (received.length === 0) return handled;
      for (const item of received) {
        const decoded = decodeMessage(item.body);
        if (decoded.ok && decoded.message.type === "apply") await applyRoute(applyDeps, decoded.message);
        handled += 1;
      }
      await kit.adapters.queue().delete(
        APPLY_QUEUE,
        received.map((r) => r.receiptHandle),
      );
    }
  }

  /** Heartbeats seen, apply binds; the hosts' lines arrive, the next look sends them to apply again. */
  async function converge(): Promise<void> {
    const heartbeat = () =>
      checkHeartbeats({ ...deps, applyQueue: APPLY_QUEUE, deadLetter: kit.deps.deadLetter });
    kit.stack.emulator.advanceClock(10_000);
    await heartbeat();
    await drainApply();
    await kit.letLinesFlow(40);
    await heartbeat();
    await drainApply();
  }

  test("instances tagged while no event arrived are onboarded by reconcile", async () => {
    const outcome = await reconcile(deps);

    expect(outcome.executed.authorize).toBe(1);
    expect(outcome.executed.ensureRoute).toBe(1);
    expect(ids.map(kit.status)).toEqual(["authorized", "authorized", "authorized"]);

    await converge();

    expect(ids.map(kit.status)).toEqual(["collecting", "collecting", "collecting"]);
  });

  test("a converged fleet plans nothing", async () => {
    await drainApply();

    const outcome = await reconcile(deps);

    expect(outcome.plan.actions).toEqual([]);
  });

  test("a read refused for another reason than a missing resource stops the run: nothing taken for drift", async () => {
    // Not retryable and not "…NotExist": once, such an answer was read as "no config here" and the
    // collecting instances were demoted. Now the run stops and changes nothing.
    const fault = kit.stack.emulator.addFault({
      service: "sls",
      operation: "GetAppliedConfigs",
      error: { status: 401, code: "Unauthorized", message: "The security token you provided has expired" },
    });
    const writes = () =>
      kit.stack.emulator
        .metrics()
        .operations.filter((o) => /^(Create|Apply|TagResources|RunCommand)/.test(o.operation))
        .reduce((n, o) => n + o.calls, 0);
    const before = writes();
    try {
      await expect(reconcile(deps)).rejects.toMatchObject({ code: "Unauthorized" });
    } finally {
      kit.stack.emulator.removeFault(fault.id);
    }
    expect(writes()).toBe(before);
    expect(ids.map(kit.status)).toEqual(["collecting", "collecting", "collecting"]);
  });

  test("drift: a binding removed in the destination is put back", async () => {
    await kit.adapters
      .sls({ accountId: HUB, region: REGION, project: "central-logs" })
      .removeConfig("app-b-prod-linux", "app-b-prod-linux");

    const outcome = await reconcile(deps);
    await drainApply();

    expect(outcome.plan.actions).toContainEqual({
      type: "ensureRoute",
      route: "app-b-prod",
      missing: ["binding:linux"],
    });
    const applied = await kit.adapters
      .sls({ accountId: HUB, region: REGION, project: "central-logs" })
      .appliedConfigs("app-b-prod-linux");
    expect(applied).toEqual(["app-b-prod-linux"]);
  });

  test("an instance whose tag is gone is offboarded: files as before, status revoked", async () => {
    const untagged = ids[2] ?? "";
    await kit.deps.ecs({ accountId: SPOKE, region: REGION }).untagInstances([untagged], [config.tagKey]);

    const outcome = await reconcile(deps);

    expect(outcome.executed.revoke).toBe(1);
    expect(kit.status(untagged)).toBe("revoked");
    expect(kit.stack.fleet.host(untagged)?.root().identifierFile()).toBe("team-x-web\n");
    expect(kit.stack.fleet.host(untagged)?.uidFiles()).toEqual([]);
  });

  test("an instance whose route and status tags were both removed is traced through its group and offboarded", async () => {
    // What infrastructure as code that owns the tag set does: every key it did not write goes.
    const stripped = ids[1] ?? "";
    const ecs = kit.deps.ecs({ accountId: SPOKE, region: REGION });
    const keys = Object.keys((await ecs.describeInstances({ instanceIds: [stripped] }))[0]?.tags ?? {});
    expect(keys).toEqual(expect.arrayContaining([config.tagKey, config.statusTagKey]));
    await ecs.untagInstances([stripped], keys);

    const outcome = await reconcile(deps);

    expect(outcome.executed.revoke).toBe(1);
    expect(kit.stack.fleet.host(stripped)?.root().identifierFile()).toBeUndefined();
    expect(kit.stack.fleet.host(stripped)?.uidFiles()).toEqual([]);
    // Only the status tag comes back, saying what happened (and `status` shows it again).
    expect((await ecs.describeInstances({ instanceIds: [stripped] }))[0]?.tags).toEqual({
      [config.statusTagKey]: "revoked",
    });
    // Converged once its last heartbeat with the identifier has aged (until then a revoke repeats,
    // changing nothing): the next run finds nobody unaccounted for and plans nothing for it.
    kit.stack.emulator.advanceClock(200_000);
    const again = await reconcile(deps);
    expect(again.executed.revoke).toBe(0);
  });
});
