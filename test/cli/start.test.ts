import { join } from "node:path";
import { bufferIo } from "../../cli/io";
import { main } from "../../cli/main";
import { describeRequiring, sandboxRequirement } from "../support/requires";

describeRequiring(sandboxRequirement(), "logtail-xacct start", () => {
  test("the first 30 demo instances are tagged, onboarded by the real functions, and converge to collecting (idle: their logs exist, unwritten)", async () => {
    const io = bufferIo();

    const code = await main(["start", "--instances", "30", "--exit-when-converged", "--json"], io);

    expect(code).toBe(0);
    const lines = io.stdout().trim().split("\n");
    const summary = JSON.parse(lines.at(-1) ?? "{}");
    expect(summary).toMatchObject({
      converged: true,
      instances: 30,
      byStage: { collecting: 30 },
      unexpected: [],
    });
    expect(lines[0]).toMatch(/^route\s+status\s+instances/);
    expect(io.stderr()).toMatch(/tags {5}30 instances tagged/);
    expect(io.stderr()).toMatch(/progress/);
    // Idle hosts collect once a delivery timeout (300 emulated s) and a look at their files pass.
  }, 120_000);
});

describeRequiring(sandboxRequirement(), "logtail-xacct start with hosts that write logs", () => {
  test("shows lines flowing, hands the source config over and ends with every written line in the destination once", async () => {
    const io = bufferIo();
    const fleet = join(__dirname, "../fixtures/localstack/fleet.writers.yaml");

    const code = await main(
      ["start", "--fleet", fleet, "--scale", "50", "--exit-when-converged", "--json"],
      io,
    );

    expect(code).toBe(0);
    const summary = JSON.parse(io.stdout().trim().split("\n").at(-1) ?? "{}");
    const appB = summary.delivery.find((route: { route: string }) => route.route === "app-b-prod");
    // 4 hosts × 10 lines/s of app.log; other.txt is not a path of the route's config.
    expect(appB).toMatchObject({ destination: "central-logs/app-b", hosts: 4, unexpected: 0, unparsed: 0 });
    expect(appB.written).toBeGreaterThan(4 * 10 * 60);
    // The handover is exactly once: every line in the destination once, none missing.
    expect(appB).toMatchObject({ duplicated: 0, extraCopies: 0, missing: 0 });
    expect(appB.once).toBe(appB.written);
    expect(appB.stored).toBe(appB.written);
    // `verify`, from the two logstores alone, agrees.
    expect(summary.verify).toEqual([
      expect.objectContaining({
        route: "app-b-prod",
        ok: true,
        totals: expect.objectContaining({ missing: 0, extraCopies: 0, unplacedMissing: 0, unplacedExtra: 0 }),
      }),
    ]);
    expect(summary.verify[0].totals.inSource).toBeGreaterThan(0);
    expect(io.stdout()).toMatch(/delivery app-b-prod → central-logs\/app-b: [\d,]+ written by 4 hosts, /);
    expect(io.stderr()).toMatch(/flow {5}app-b-prod [\d.]+ lines\/s \([\d,]+ stored\)/);
  }, 200_000);
});

describeRequiring(sandboxRequirement(), "logtail-xacct start --by-hand (the baseline)", () => {
  test("the manual procedure migrates the route's hosts outside the product and doubles the lines both configs read", async () => {
    const io = bufferIo();
    const fleet = join(__dirname, "../fixtures/localstack/fleet.writers.yaml");

    const code = await main(
      [
        "start",
        "--fleet",
        fleet,
        "--by-hand",
        "app-b-prod",
        "--scale",
        "50",
        "--exit-when-converged",
        "--json",
      ],
      io,
    );

    expect(code).toBe(0);
    const summary = JSON.parse(io.stdout().trim().split("\n").at(-1) ?? "{}");
    // The product was not asked: no route tag, no cutover, no verify.
    expect(summary).toMatchObject({ converged: true, byStage: { "(none)": 4 }, cutovers: [], verify: [] });
    expect(summary.apiCalls.byOperation).toMatchObject({
      "ecs:RunCommand": 1,
      "sls:RemoveConfigFromMachineGroup": 1,
      "sls:CreateETL": 1,
    });
    const appB = summary.delivery.find((route: { route: string }) => route.route === "app-b-prod");
    expect(appB).toMatchObject({ hosts: 4, missing: 0, unexpected: 0 });
    // The new config reads each file from up to 1 MB before its end, the copy takes the source's
    // lines up to the removal: the lines both read are there twice (ALIBABA-FACTS "Data plane").
    expect(appB.extraCopies).toBeGreaterThan(100);
    expect(appB.latency).toEqual(expect.objectContaining({ lines: appB.written }));
    expect(io.stderr()).toMatch(/by hand {2}app-b-prod: 4 hosts, Alibaba's manual procedure/);
    expect(io.stderr()).toMatch(/by hand: done/);
  }, 200_000);
});

describe("logtail-xacct start with bad input", () => {
  test("an invalid routes file: exit 1 with its problems, nothing started", async () => {
    const io = bufferIo();

    const code = await main(["start", "--config", "/nonexistent/routes.yaml"], io);

    expect(code).toBe(1);
    expect(io.stderr()).toContain("cannot read the file (ENOENT)");
    expect(io.stdout()).toBe("");
  });

  test.each([
    ["nosuch", 'no route "nosuch"'],
    ["constructor", 'no route "constructor"'],
    ["payments-prod", 'route "payments-prod" has no source with retire and backfill'],
  ])("--by-hand %s: exit 2 with the reason, nothing started", async (route, reason) => {
    const io = bufferIo();

    expect(await main(["start", "--by-hand", route], io)).toBe(2);
    expect(io.stderr()).toContain(`--by-hand: ${reason}`);
    expect(io.stderr()).not.toContain("cloud    emulator");
  });

  test("a bad --instances: exit 2", async () => {
    const io = bufferIo();

    expect(await main(["start", "--instances", "zero"], io)).toBe(2);
  });
});
