/**
 * A machine group's listing, observed once and shared through the hub's snapshot store: who lists,
 * who reads, what a stale, broken or missing store costs, and that readers judge heartbeats as of
 * the listing (never as of their own later clock).
 */
import { gzipSync } from "node:zlib";
import { LISTING_MAX_AGE_MS, listGroup, listingKey } from "../../../shared/usecases/groupListings";
import { reconcile } from "../../../shared/usecases/reconcile";
import {
  type FakeCloud,
  fakeCloud,
  instance,
  machineOf,
  memorySnapshotStore,
  routeFor,
  tags,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const ROUTE = routeFor("app-b-prod");
const IDS = ["i-bp1share00001", "i-bp1share00002"];

let cloud: FakeCloud;
let store: ReturnType<typeof memorySnapshotStore>;
let deps: UseCaseDeps;

const listings = () =>
  cloud.sls(ROUTE.destination).calls.filter((call) => call.method === "listMachines").length;

beforeEach(() => {
  cloud = fakeCloud();
  store = memorySnapshotStore();
  deps = useCaseDeps(cloud, { snapshots: store });
  cloud.add(...IDS.map((id) => instance(id, { tags: tags("app-b-prod", "collecting") })));
  const sls = cloud.sls(ROUTE.destination);
  sls.projectExists = true;
  sls.machineGroups.set(ROUTE.group, [ROUTE.identifier]);
  sls.machines.set(
    ROUTE.group,
    IDS.flatMap((id) => {
      const record = cloud.record(id);
      return record ? [machineOf(record, ROUTE.identifier, cloud.clock.now())] : [];
    }),
  );
});

describe("one listing of a group serves the readers of its period", () => {
  test("the first reader lists and keeps it; the next ones within a minute read it", async () => {
    const first = await listGroup(deps, ROUTE.destination, ROUTE.group);
    await cloud.clock.sleep(LISTING_MAX_AGE_MS - 1000);
    const second = await listGroup(deps, ROUTE.destination, ROUTE.group);
    const third = await listGroup(deps, ROUTE.destination, ROUTE.group);

    expect(listings()).toBe(1);
    expect(store.writes).toBe(1);
    expect(second).toEqual(first);
    expect(third?.machines.map((m) => m.machineUniqueId)).toHaveLength(2);
    expect([...store.objects.keys()]).toEqual([listingKey(ROUTE.destination, ROUTE.group)]);
  });

  test("an older listing is not served: the reader lists again and replaces it", async () => {
    await listGroup(deps, ROUTE.destination, ROUTE.group);
    await cloud.clock.sleep(LISTING_MAX_AGE_MS + 1000);
    const again = await listGroup(deps, ROUTE.destination, ROUTE.group);

    expect(listings()).toBe(2);
    expect(again?.listedAt).toBe(Math.floor(cloud.clock.now()));
  });

  test("fresh (the heartbeat timer): lists whatever the store holds, and keeps the new listing", async () => {
    await listGroup(deps, ROUTE.destination, ROUTE.group);
    await listGroup(deps, ROUTE.destination, ROUTE.group, { fresh: true });

    expect(listings()).toBe(2);
    expect(store.writes).toBe(2);
  });

  test("a missing group is not stored: nothing to serve", async () => {
    expect(await listGroup(deps, ROUTE.destination, "no-such-group")).toBeUndefined();
    expect(store.writes).toBe(0);
  });

  test("without a store every reader lists for itself, as before", async () => {
    const bare = useCaseDeps(cloud);
    await listGroup(bare, ROUTE.destination, ROUTE.group);
    await listGroup(bare, ROUTE.destination, ROUTE.group);
    expect(listings()).toBe(2);
  });
});

describe("a store that fails or lies costs a listing, never the step", () => {
  test("a read that fails: the reader lists, and the failure is logged with the object's key", async () => {
    store.read = async () => {
      throw Object.assign(new Error("bucket gone"), { code: "NoSuchBucket" });
    };

    const listing = await listGroup(deps, ROUTE.destination, ROUTE.group);

    expect(listing?.machines).toHaveLength(2);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "group-listing",
        outcome: "failed",
        reason: "NoSuchBucket",
        detail: expect.stringContaining(listingKey(ROUTE.destination, ROUTE.group)),
      }),
    );
  });

  test("a write that fails: the listing is still used", async () => {
    store.write = async () => {
      throw Object.assign(new Error("denied"), { code: "AccessDenied" });
    };
    expect((await listGroup(deps, ROUTE.destination, ROUTE.group))?.machines).toHaveLength(2);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({ action: "group-listing", reason: "AccessDenied" }),
    );
  });

  test.each([
    ["not gzip", Buffer.from("plain text")],
    ["not JSON", gzipSync("{")],
    ["another shape", gzipSync(JSON.stringify({ v: 1, listedAt: 0, machines: [{ ip: 7 }] }))],
    [
      "a listing from the future",
      gzipSync(JSON.stringify({ v: 1, listedAt: Date.parse("2999-01-01T00:00:00Z"), machines: [] })),
    ],
  ])("an object that is %s is not served: the reader lists", async (_, body) => {
    store.objects.set(listingKey(ROUTE.destination, ROUTE.group), body);

    const listing = await listGroup(deps, ROUTE.destination, ROUTE.group);

    expect(listing?.machines).toHaveLength(2);
    expect(listings()).toBe(1);
  });
});

describe("readers judge heartbeats as of the listing", () => {
  test("reconcile on a 50 s old listing: a heartbeat fresh when listed keeps its host collecting", async () => {
    const sls = cloud.sls(ROUTE.destination);
    sls.logstores.add(ROUTE.route.logstore);
    sls.indexes.add(ROUTE.route.logstore);
    sls.bindings.set(ROUTE.group, new Set([ROUTE.config]));
    // Heartbeats 170 s old when listed: fresh (180 s) then, stale by reconcile's own clock.
    sls.machines.set(
      ROUTE.group,
      IDS.flatMap((id) => {
        const record = cloud.record(id);
        return record ? [machineOf(record, ROUTE.identifier, cloud.clock.now() - 170_000)] : [];
      }),
    );
    await listGroup(deps, ROUTE.destination, ROUTE.group);
    await cloud.clock.sleep(50_000);

    const outcome = await reconcile(deps);

    expect(listings()).toBe(1);
    expect(outcome.plan.actions.filter((a) => a.type === "authorize")).toEqual([]);
    expect(outcome.plan.verdicts.map((v) => v.stage)).toEqual(["collecting", "collecting"]);
  });
});
