/**
 * Killed invocations (chaos): from its kill point on, an invocation reaches nothing outside its
 * process — a request it makes never arrives — and the runtime reports it failed whatever the
 * handler returns. Invocations running at the same time are not affected.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import {
  type FcHandler,
  FunctionInvoker,
  type FunctionSpec,
  InvocationKilledError,
  type InvocationKiller,
  randomKiller,
  staticCredentials,
} from "../../localstack/fc";

const HUB = "1700000000000001";
let server: http.Server;
let port = 0;
const arrived: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    arrived.push(req.url ?? "");
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  arrived.length = 0;
});

/** One GET through `http.request`, as the SDKs send theirs. */
function get(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, path, method: "GET" }, (response) => {
      let body = "";
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve(body));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end();
  });
}

/** A handler that makes `count` requests one after the other, tagged with its own name. */
const sequential =
  (name: string, count: number): FcHandler =>
  async () => {
    for (let n = 1; n <= count; n += 1) await get(`/${name}/${n}`);
    return "done";
  };

function invoker(handler: FcHandler, killer: InvocationKiller): FunctionInvoker {
  const spec: FunctionSpec = {
    resource: "f",
    name: "f",
    region: "cn-hangzhou",
    runtime: "nodejs20",
    codeDir: join(__dirname, "../fixtures/fc/functions/echo"),
    handler: "index.handler",
    memorySize: 128,
    timeout: 5,
    environmentVariables: {},
    triggers: [],
    instanceConcurrency: 1,
  };
  return new FunctionInvoker(spec, {
    accountId: HUB,
    credentials: staticCredentials({ accessKeyId: "id", accessKeySecret: "secret", securityToken: "" }),
    loadModule: () => ({ handler }),
    killer,
  });
}

test("killed before its third request: two arrive, the invocation fails as killed", async () => {
  const result = await invoker(sequential("a", 5), () => ({ atRequest: 3 })).invoke(Buffer.from("{}"), "t");
  expect(arrived).toEqual(["/a/1", "/a/2"]);
  expect(result.ok).toBe(false);
  expect(result.ok ? undefined : result.error).toBeInstanceOf(InvocationKilledError);
});

test("killed after its last request: everything arrived, yet the invocation counts as failed", async () => {
  const result = await invoker(sequential("b", 3), () => ({ atRequest: 4 })).invoke(Buffer.from("{}"), "t");
  expect(arrived).toEqual(["/b/1", "/b/2", "/b/3"]);
  expect(result.ok ? undefined : result.error).toBeInstanceOf(InvocationKilledError);
});

test("a kill point past the end leaves the invocation alone", async () => {
  const result = await invoker(sequential("c", 3), () => ({ atRequest: 5 })).invoke(Buffer.from("{}"), "t");
  expect(arrived).toEqual(["/c/1", "/c/2", "/c/3"]);
  expect(result).toMatchObject({ ok: true, value: "done" });
});

test("a handler that swallows the failure and goes on still sends nothing more", async () => {
  const stubborn: FcHandler = async () => {
    for (let n = 1; n <= 4; n += 1) await get(`/d/${n}`).catch(() => "ignored");
    return "pretends all is well";
  };
  const result = await invoker(stubborn, () => ({ atRequest: 2 })).invoke(Buffer.from("{}"), "t");
  expect(arrived).toEqual(["/d/1"]);
  expect(result.ok ? undefined : result.error).toBeInstanceOf(InvocationKilledError);
});

test("a killed invocation ends at once: the handler left waiting does not hold the function's slot", async () => {
  let released = false;
  const lingering: FcHandler = async () => {
    await get("/f/1").catch(() => "refused");
    // A killed handler that would sleep on (a result poll, a backoff) before returning.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    released = true;
    return "late";
  };
  const result = await invoker(lingering, () => ({ atRequest: 1 })).invoke(Buffer.from("{}"), "t");
  expect(result.ok ? undefined : result.error).toBeInstanceOf(InvocationKilledError);
  // Had the invocation waited for its handler, the handler would have finished its sleep first.
  expect(released).toBe(false);
  expect(arrived).toEqual([]);
});

test("only the killed invocation is cut off; one running beside it is served in full", async () => {
  const killOnlyFirst: InvocationKiller = (() => {
    let calls = 0;
    return () => (++calls === 1 ? { atRequest: 1 } : undefined);
  })();
  const slow: FcHandler = async () => {
    for (let n = 1; n <= 3; n += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await get(`/e/${n}`).catch(() => "refused");
    }
    return "done";
  };
  const target = invoker(slow, killOnlyFirst);
  const [killed, spared] = await Promise.all([
    target.invoke(Buffer.from("{}"), "t"),
    target.invoke(Buffer.from("{}"), "t"),
  ]);
  expect(killed?.ok).toBe(false);
  expect(spared).toMatchObject({ ok: true, value: "done" });
  expect(arrived).toEqual(["/e/1", "/e/2", "/e/3"]);
});

test("randomKiller kills at the given rate, at points in range, repeatably for a seed", () => {
  const draws = (seed: number) => {
    let state = seed;
    const random = () => {
      state = (state * 16807) % 2147483647;
      return state / 2147483647;
    };
    const killer = randomKiller({ rate: 0.3, maxRequest: 10, random });
    return Array.from({ length: 1000 }, () => killer({ functionName: "f", requestId: "r" }));
  };
  const plans = draws(42);
  const killed = plans.filter((plan) => plan !== undefined);
  expect(killed.length).toBeGreaterThan(240);
  expect(killed.length).toBeLessThan(360);
  expect(killed.every((plan) => plan && plan.atRequest >= 1 && plan.atRequest <= 10)).toBe(true);
  expect(draws(42)).toEqual(plans);
});
