/**
 * Lost requests and lost answers: the connection closes without an answer, before the service acted
 * (`lose: request`) or after (`lose: response`). The client sees the same network failure either
 * way; only the state behind it tells them apart, which is what makes the second one dangerous.
 */
import type { EmulatorHandle } from "../../emulator/index";
import { $Ecs, ecsClient, region, spokeA, startTestEmulator } from "./emulatorKit";

let emulator: EmulatorHandle;

beforeAll(async () => {
  emulator = await startTestEmulator();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(async () => {
  await emulator.reset();
});

const INSTANCE = "i-spokea0000000000001";

function tag(value: string): Promise<unknown> {
  return ecsClient(emulator, spokeA).tagResources(
    new $Ecs.TagResourcesRequest({
      regionId: region,
      resourceType: "instance",
      resourceId: [INSTANCE],
      tag: [new $Ecs.TagResourcesRequestTag({ key: "owner", value })],
    }),
  );
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as { code?: string; message?: string },
  );

test("a lost request fails like a dropped connection and changes nothing", async () => {
  emulator.addFault({ service: "ecs", operation: "TagResources", lose: "request", times: 1 });
  const error = await failureOf(tag("first"));
  expect(error?.code).toBe("ECONNRESET");
  expect(emulator.ecs.getInstance(INSTANCE)?.tags.get("owner")).toBeUndefined();
  await tag("second");
  expect(emulator.ecs.getInstance(INSTANCE)?.tags.get("owner")).toBe("second");
});

test("a lost answer fails the same way, but the call was served", async () => {
  emulator.addFault({ service: "ecs", operation: "TagResources", lose: "response", times: 1 });
  const error = await failureOf(tag("served"));
  expect(error?.code).toBe("ECONNRESET");
  expect(emulator.ecs.getInstance(INSTANCE)?.tags.get("owner")).toBe("served");
});

test("lost calls are counted as errors in the metrics, at the rule's rate", async () => {
  emulator.addFault({ service: "ecs", operation: "TagResources", lose: "response", errorRate: 0.5 });
  const outcomes = [];
  for (let n = 0; n < 40; n += 1) outcomes.push((await failureOf(tag(`v${n}`))) === undefined);
  const lost = outcomes.filter((ok) => !ok).length;
  expect(lost).toBeGreaterThan(8);
  expect(lost).toBeLessThan(32);
  const tagging = emulator.metrics().operations.find((op) => op.operation === "TagResources");
  expect(tagging).toMatchObject({ calls: 40, errors: lost });
});

test("the admin API takes lose rules and refuses unknown kinds", async () => {
  const post = (body: unknown) =>
    fetch(`http://127.0.0.1:${emulator.port}/_admin/faults`, {
      method: "POST",
      headers: { host: "admin.localhost", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const ok = await post({ service: "sls", lose: "response", errorRate: 0.1 });
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({ service: "sls", lose: "response" });
  const bad = await post({ service: "sls", lose: "sometimes" });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(await bad.json())).toContain("lose");
});
