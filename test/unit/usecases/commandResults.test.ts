/**
 * Waiting for a Cloud Assistant invocation, on the fake clock: the first look after 5 s, twice as
 * long before each later one, no wait past the limit or the invocation's deadline.
 */
import { waitForInvocation } from "../../../shared/usecases/commandResults";
import {
  APP_B,
  argsOf,
  type FakeCloud,
  fakeCloud,
  REGION,
  stillRunning,
  succeeded,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const HOST = "i-bp1wait000001";

let cloud: FakeCloud;

beforeEach(() => {
  cloud = fakeCloud();
});

const ecs = () => cloud.ecs({ accountId: APP_B, region: REGION });
async function invocation(): Promise<string> {
  ecs().answer = (id) => stillRunning(id);
  const [made] = await ecs().fns.runCommand(
    { type: "RunShellScript", contentEncoding: "Base64", commandContent: "", timeoutSeconds: 60 },
    [HOST],
    { attemptKey: "wait" },
  );
  if (!made) throw new Error("no invocation");
  return made.invokeId;
}
const looks = () => argsOf(ecs().calls, "invocationResults").length;
const wait = (invokeId: string, overrides: Partial<UseCaseDeps> = {}) =>
  waitForInvocation(useCaseDeps(cloud, overrides), ecs(), invokeId);

describe("waitForInvocation", () => {
  test("a command that has finished at the first look is read once, after 5 s", async () => {
    const invokeId = await invocation();
    ecs().setResult(invokeId, succeeded(HOST));

    const results = await wait(invokeId);

    expect(results).toEqual([
      expect.objectContaining({ instanceId: HOST, status: "Success", finished: true }),
    ]);
    expect(cloud.clock.slept).toEqual([5000]);
    expect(looks()).toBe(1);
  });

  test("each later look waits twice as long, and the wait ends when the command does", async () => {
    const invokeId = await invocation();
    const base = ecs().fns.invocationResults;
    ecs().fns.invocationResults = async (id) => {
      // The host finishes between the third and the fourth look.
      if (looks() === 4) ecs().setResult(invokeId, succeeded(HOST));
      return base(id);
    };

    const results = await wait(invokeId);

    expect(results[0]?.finished).toBe(true);
    expect(cloud.clock.slept).toEqual([5000, 10_000, 20_000, 40_000]);
  });

  test("a command that never ends is given up after 90 s: five looks, and the unfinished results", async () => {
    const invokeId = await invocation();
    const start = cloud.clock.now();

    const results = await wait(invokeId);

    expect(results).toEqual([expect.objectContaining({ instanceId: HOST, finished: false })]);
    expect(cloud.clock.now() - start).toBe(90_000);
    expect(cloud.clock.slept).toEqual([5000, 10_000, 20_000, 40_000, 15_000]);
    expect(looks()).toBe(5);
  });

  test("the first look and the limit can be set", async () => {
    const invokeId = await invocation();

    await wait(invokeId, { resultPollMs: 100, resultWaitMs: 1000 });

    expect(cloud.clock.slept).toEqual([100, 200, 400, 300]);
  });

  test("no wait goes past the invocation's deadline", async () => {
    const invokeId = await invocation();
    const start = cloud.clock.now();

    await wait(invokeId, { deadline: () => start + 12_000 });

    expect(cloud.clock.slept).toEqual([5000, 7000]);
    expect(cloud.clock.now()).toBe(start + 12_000);
  });

  test("a deadline already past: one look at once, no wait", async () => {
    const invokeId = await invocation();
    const start = cloud.clock.now();

    const results = await wait(invokeId, { deadline: () => start - 1 });

    expect(cloud.clock.now()).toBe(start);
    expect(looks()).toBe(1);
    expect(results).toHaveLength(1);
  });
});
