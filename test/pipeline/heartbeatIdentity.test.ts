/**
 * Every kind of host converges, through the deployed functions on the local stack, whatever key
 * its agent heartbeats with: an x86 Logtail (machine-uniqueid = serial number), an ARM Logtail (its
 * agent does not read DMI: a UUID of its own), a LoongCollector (host-id = instance id) and an x86
 * Logtail whose agent reports an unrelated UUID. Before the match used host-id and the host's own
 * report, the ARM host and the unrelated one ended NoHeartbeat and held up their account's cutover.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalStack } from "../../localstack/stack";
import { AGENT_ID_TAG_KEY, type HeartbeatKey, heartbeatMatch } from "../../shared/planner/heartbeating";
import {
  HUB,
  REGION,
  stackFleet,
  startFunctionStack,
  tagWithRoute,
  until,
  untilAdvancing,
} from "../support/localAccounts";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const UNRELATED = "7d1e0c55-3a0b-4f6e-9c2d-81b7a64e5f10";
const KINDS = {
  "i-bp1hbkey000x86": { expected: "serial", extra: {} },
  "i-bp1hbkey000arm": { expected: "agent-uuid", extra: { arch: "arm64" } },
  "i-bp1hbkey00loong": { expected: "host-id", extra: { agent: "loongcollector" } },
  "i-bp1hbkey0other": { expected: "agent-uuid", extra: { agentUuid: UNRELATED } },
} as const satisfies Record<string, { expected: HeartbeatKey; extra: object }>;
const IDS = Object.keys(KINDS) as Array<keyof typeof KINDS>;

const fleet = stackFleet(
  IDS.map((id) => ({
    account: "app-b",
    region: REGION,
    id,
    writers: [{ path: "/var/log/app-b/app.log", linesPerSecond: 1 }],
    ...KINDS[id].extra,
  })),
);

describeRequiring(sandboxRequirement(), "heartbeats matched by every key a host gives", () => {
  let stack: LocalStack;
  let workDir: string;
  const tag = (id: string, key: string) => stack.emulator.ecs.getInstance(id)?.tags.get(key);
  const all = (value: string) =>
    IDS.every((id) => tag(id, "logtail-xacct-status") === value) ? true : undefined;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-hbkey-"));
    stack = await startFunctionStack(fleet, workDir, Date.UTC(2026, 2, 1));
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test("each kind ends collecting, found by its own key; only hosts no other key finds get the agent-id tag", async () => {
    // The fleet is what it says: the ARM and the unrelated agents do not heartbeat with the serial.
    for (const id of ["i-bp1hbkey000arm", "i-bp1hbkey0other"]) {
      const host = stack.fleet.host(id);
      expect(host?.machineUniqueId).not.toBe(stack.emulator.ecs.getInstance(id)?.serialNumber);
    }
    expect(stack.fleet.host("i-bp1hbkey00loong")?.hostId).toBe("i-bp1hbkey00loong");

    await tagWithRoute(stack.emulator.port, IDS, "app-b-prod");
    await until("every instance authorized", () => all("authorized"), 800);
    stack.emulator.advanceClock(60_000);
    await untilAdvancing("every instance collecting", stack.emulator, () => all("collecting"));

    expect(Object.fromEntries(IDS.map((id) => [id, tag(id, AGENT_ID_TAG_KEY) ?? null]))).toEqual({
      "i-bp1hbkey000x86": null,
      "i-bp1hbkey000arm": stack.fleet.host("i-bp1hbkey000arm")?.machineUniqueId,
      "i-bp1hbkey00loong": null,
      "i-bp1hbkey0other": UNRELATED,
    });
    // What the route's group says now, read as the product reads it: each host by its own key.
    const machines = stack.emulator.sls
      .listMachines(
        { accountId: HUB.id, region: REGION, action: "ListMachines" },
        "central-logs",
        "app-b-prod-linux",
        { offset: 0, size: 500 },
      )
      .items.map((m) => ({
        machineUniqueId: m.machineUniqueId,
        userdefinedId: m.userDefinedId,
        lastHeartbeatTime: m.lastHeartbeatTime,
        ip: m.ip,
        hostId: m.hostId,
      }));
    const now = stack.emulator.core.clock.now() / 1000;
    const keys = Object.fromEntries(
      IDS.map((id) => {
        const instance = stack.emulator.ecs.getInstance(id);
        const tags = Object.fromEntries(instance?.tags ?? []);
        const found = heartbeatMatch(
          machines,
          { instanceId: id, serialNumber: instance?.serialNumber ?? "", tags },
          "app-b-prod-linux",
          now,
          180,
        );
        return [id, found?.key ?? null];
      }),
    );
    expect(keys).toEqual(Object.fromEntries(IDS.map((id) => [id, KINDS[id].expected])));
  }, 120_000);
});
