/**
 * End to end through the deployed functions on the local stack: an operator tags instances in a
 * spoke, the events run authorize, the heartbeat timer and apply, and every instance collects; then
 * the operator removes the tags and the same functions take every host back to the files it had
 * before — other teams' identifier lines intact — and mark the instances revoked.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as $Ecs from "@alicloud/ecs20140526";
import type { LocalStack } from "../../localstack/stack";
import {
  ecsClient,
  HUB,
  REGION,
  SPOKE,
  stackFleet,
  startFunctionStack,
  tagWithRoute,
  until,
  untilAdvancing,
} from "../support/localAccounts";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const IDS = ["i-bp1e2e000000001", "i-bp1e2e000000002", "i-bp1e2e000000003", "i-bp1e2e000000004"];
const FOREIGN: Record<string, string[]> = {
  "i-bp1e2e000000002": ["team-x-web"],
  "i-bp1e2e000000003": ["team-x-web", "ops-baseline"],
};

const fleet = stackFleet(
  IDS.map((id) => ({
    account: "app-b",
    region: REGION,
    id,
    ...(FOREIGN[id] ? { userDefinedIds: FOREIGN[id] } : {}),
    // They write where the route reads: their lines earn `collecting`.
    writers: [{ path: "/var/log/app-b/app.log", linesPerSecond: 1 }],
  })),
);

describeRequiring(sandboxRequirement(), "tag, converge, untag, converge back — through the functions", () => {
  let stack: LocalStack;
  let workDir: string;
  const before = new Map<string, { identifiers: string | undefined; uids: string[] }>();
  const status = (id: string) => stack.emulator.ecs.getInstance(id)?.tags.get("logtail-xacct-status");
  const all = (value: string) => (IDS.every((id) => status(id) === value) ? true : undefined);

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-e2e-"));
    stack = await startFunctionStack(fleet, workDir, Date.UTC(2026, 2, 1));
    for (const id of IDS) {
      const host = stack.fleet.host(id);
      before.set(id, { identifiers: host?.root().identifierFile(), uids: host?.uidFiles() ?? [] });
    }
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test("tagged: every instance ends collecting, with the route's identifier next to the foreign ones", async () => {
    await tagWithRoute(stack.emulator.port, IDS, "app-b-prod");
    await until("every instance authorized", () => all("authorized"), 800);
    // The heartbeat timer runs every minute on the emulator's clock: it sends the heartbeating
    // hosts to apply, which binds the config; their lines then make them collecting.
    stack.emulator.advanceClock(60_000);
    await untilAdvancing("every instance collecting", stack.emulator, () => all("collecting"));

    for (const id of IDS) {
      const lines = [...(FOREIGN[id] ?? []), "app-b-prod-linux"];
      expect(stack.fleet.host(id)?.root().identifierFile()).toBe(`${lines.join("\n")}\n`);
      expect(stack.fleet.host(id)?.uidFiles()).toEqual([HUB.id]);
    }
  });

  test("the group's listing is shared through the bucket: heartbeat listed and kept it, apply looked there", () => {
    const { callers } = stack.emulator.metrics();
    /** A function's calls (its FC session, or the sessions it assumed roles with). */
    const callsOf = (fn: string, operation: string) =>
      Object.entries(callers)
        .filter(([caller]) => caller.endsWith(`logtail-xacct-${fn}`))
        .reduce((n, [, counts]) => n + (counts.operations[operation] ?? 0), 0);
    expect(callsOf("heartbeat", "sls:ListMachines")).toBeGreaterThan(0);
    // Each listing that found the group is kept (the first run found none and made it).
    expect(callsOf("heartbeat", "oss:PutObject")).toBeGreaterThan(0);
    // Apply looks in the bucket first. Whether a look finds a listing young enough depends on how
    // long the run waited behind others (a loaded machine): that it saves listings is counted in
    // test/unit/usecases/groupListings.test.ts and in the scale bench, not here.
    expect(callsOf("apply", "oss:GetObject")).toBeGreaterThan(0);
  });

  test("untagged: every host is as before onboarding and every instance says revoked", async () => {
    await ecsClient(stack.emulator.port, SPOKE).untagResources(
      new $Ecs.UntagResourcesRequest({
        regionId: REGION,
        resourceType: "instance",
        resourceId: IDS,
        tagKey: ["logtail-xacct-route"],
      }),
    );
    await until("every instance revoked", () => all("revoked"), 800);

    for (const id of IDS) {
      const host = stack.fleet.host(id);
      expect({ identifiers: host?.root().identifierFile(), uids: host?.uidFiles() }).toEqual(before.get(id));
    }
    // Nothing was poison along the way.
    expect(stack.emulator.mns.getQueue(HUB.id, REGION, "logtail-xacct-dead-letter").activeMessages).toBe(0);
  });
});
