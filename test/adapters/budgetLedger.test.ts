/**
 * The budget ledger on OSS through the official SDK: a slot's object is made by one caller only
 * (`x-oss-forbid-overwrite`), so parts of a budget are won once however many instances race.
 */
import { budgetSlotKey, objectBudgetLedger } from "../../shared/adapters/budgetLedger";
import { calls, hub, type Kit, region, spoke, startKit } from "./adapterKit";

let kit: Kit;
const bucket = "logtail-xacct-ledger-test";

beforeAll(async () => {
  kit = await startKit();
});
afterAll(async () => {
  await kit.emulator.stop();
});
beforeEach(async () => {
  await kit.emulator.reset();
  kit.emulator.oss.createBucket({ name: bucket, region, ownerAccountId: hub.id });
});

const slot = (n: number, minute = 29_400_000) => ({
  service: "ecs" as const,
  operation: "RunCommand",
  accountId: spoke.id,
  region,
  minute,
  slot: n,
});

describe("the budget ledger on OSS", () => {
  it("names a slot by its minute, key and number", () => {
    expect(budgetSlotKey(slot(3, Date.UTC(2026, 11, 8, 0, 17) / 60_000))).toBe(
      `budgets/v1/2026-12-08T00:17/${spoke.id}/${region}/ecs/RunCommand/3`,
    );
  });

  it("gives a slot to exactly one of the instances racing for it, and the next slot to another", async () => {
    const instances = await Promise.all(
      Array.from({ length: 5 }, async () => objectBudgetLedger((await kit.adapters()).snapshotStore(bucket))),
    );

    const first = await Promise.all(instances.map((ledger) => ledger.claim(slot(0))));
    expect(first.filter(Boolean)).toHaveLength(1);
    // Another minute's slot 0 is another object.
    expect(await instances[1]?.claim(slot(0, 29_400_001))).toBe(true);
    expect(await instances[2]?.claim(slot(1))).toBe(true);
    expect(await instances[3]?.claim(slot(1))).toBe(false);
    expect(calls(kit.emulator, "PutObject", hub.id)).toBe(8);
  });

  it("lets an error other than a taken slot through, for the gate to fall back to its share", async () => {
    const ledger = objectBudgetLedger((await kit.adapters()).snapshotStore("logtail-xacct-no-such-bucket"));
    await expect(ledger.claim(slot(0))).rejects.toMatchObject({ code: "NoSuchBucket" });
  });
});
