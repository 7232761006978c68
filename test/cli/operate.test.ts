/**
 * The operator commands against the local stack, through the CLI as a person runs it: onboard with
 * `reconcile`, break things on purpose through the emulator's APIs (delete a machine group, remove a
 * binding, stop an agent, untag an instance), then `plan` lists exactly those, `reconcile` repairs
 * them and `status` shows the result.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as $Ecs from "@alicloud/ecs20140526";
import { bufferIo } from "../../cli/io";
import { main } from "../../cli/main";
import { parseSimulatedFleet } from "../../localstack/fleet/simulatedFleet";
import { type LocalStack, startLocalStack } from "../../localstack/stack";
import { WORK_QUEUES } from "../../shared/messages/queueMessages";
import type { DriftReport } from "../../shared/status/driftReport";
import type { FleetReport } from "../../shared/status/fleetReport";
import { ecsClient, REGION, slsClient } from "../support/localAccounts";
import { ACCOUNTS, config, HUB } from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const ROUTES = join(__dirname, "../../config/routes.example.yaml");
const APP = ["i-bp1cliapp000001", "i-bp1cliapp000002"];
const PAY = ["i-bp1clipay000001", "i-bp1clipay000002"];
const LEAVER = "i-bp1clileave0001";
const SPOKE_KEY = { accessKeyId: "LTAIcliSpoke01", accessKeySecret: "cli-spoke-secret" };
const HUB_KEY = { accessKeyId: "LTAIcliHub0001", accessKeySecret: "cli-hub-secret" };

describeRequiring(sandboxRequirement(), "operator commands on the local stack", () => {
  let stack: LocalStack;
  let workDir: string;
  let endpointsFile: string;

  const cli = async (...args: string[]) => {
    const io = bufferIo();
    const code = await main([...args, "--config", ROUTES, "--endpoints-file", endpointsFile], io);
    return { code, out: io.stdout(), err: io.stderr() };
  };
  const status = (id: string) => stack.emulator.ecs.getInstance(id)?.tags.get("logtail-xacct-status");
  /** Moves the stopped clock on in steps, the hosts writing and their agents shipping meanwhile. */
  const letLinesFlow = async (seconds: number, stepSeconds = 1) => {
    for (let second = 0; second < seconds; second += stepSeconds) {
      stack.emulator.advanceClock(stepSeconds * 1_000);
      await stack.fleet.settleCollection();
    }
  };
  const writes = () =>
    stack.emulator
      .metrics()
      .operations.filter((o) =>
        /^(Create|Update|Delete|Apply|Remove|TagResources|UntagResources|RunCommand)/.test(o.operation),
      )
      .reduce((n, o) => n + o.calls, 0);

  beforeAll(async () => {
    process.env.LOGTAIL_XACCT_RESULT_POLL_MS = "200";
    workDir = mkdtempSync(join(tmpdir(), "ltx-cli-"));
    endpointsFile = join(workDir, "endpoints.json");
    // The copy job's roles, as the spoke setup creates them: read in the source, write in the hub.
    const accounts = (ACCOUNTS ?? []).map((account) =>
      account.id === HUB
        ? {
            ...account,
            ...HUB_KEY,
            roles: [
              { name: "logtail-xacct-etl-write", trustedServices: ["1700000000000397@log.aliyuncs.com"] },
            ],
          }
        : account.name === "app-b"
          ? {
              ...account,
              ...SPOKE_KEY,
              roles: [
                ...(account.roles ?? []),
                { name: "logtail-xacct-etl-read", trustedServices: ["log.aliyuncs.com"] },
              ],
            }
          : account,
    );
    const tagged = (route: string) => ({ "logtail-xacct-route": route });
    // Every host writes where its route reads: lines earn `collecting`.
    const writing = (dir: string) => ({ writers: [{ path: `/var/log/${dir}/app.log`, linesPerSecond: 1 }] });
    stack = await startLocalStack({
      fleet: parseSimulatedFleet({
        accounts,
        instances: [
          ...APP.map((id) => ({
            account: "app-b",
            region: REGION,
            id,
            tags: tagged("app-b-prod"),
            ...writing("app-b"),
          })),
          {
            account: "app-b",
            region: REGION,
            id: LEAVER,
            tags: tagged("app-b-prod"),
            userDefinedIds: ["team-x-web"],
            ...writing("app-b"),
          },
          ...PAY.map((id) => ({
            account: "app-b",
            region: REGION,
            id,
            tags: tagged("payments-prod"),
            ...writing("payments"),
          })),
        ],
        // app-b's own collection and history, which the cutover retires and copies.
        projects: [
          {
            account: "app-b",
            region: REGION,
            name: "app-b-logs",
            logstores: ["app-b"],
            machineGroups: [{ name: "app-b-servers", identifiers: ["app-b-legacy"] }],
            configs: [{ name: "app-b-files", logstore: "app-b", filePaths: ["/var/log/app-b/*.log"] }],
            bindings: [{ machineGroup: "app-b-servers", config: "app-b-files" }],
          },
        ],
      }),
      hubAccountId: HUB,
      workDir,
      endpointsFile,
      hubQueues: WORK_QUEUES,
      deadLetterQueue: { name: "logtail-xacct-dead-letter", maxReceiveCount: 10 },
      clock: { startAt: Date.UTC(2026, 4, 1), scale: 0 },
    });
  });

  afterAll(async () => {
    delete process.env.LOGTAIL_XACCT_RESULT_POLL_MS;
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test("plan on a fresh fleet lists every tagged instance and the missing destination, and changes nothing", async () => {
    const before = writes();
    const { code, out } = await cli("plan", "--json");

    expect(code).toBe(0);
    const drift = JSON.parse(out) as DriftReport;
    const notCollecting = drift.items
      .filter((i) => i.kind === "tagged-not-collecting")
      .flatMap((i) => i.instanceIds);
    expect(notCollecting.sort()).toEqual([...APP, LEAVER, ...PAY].sort());
    expect(
      drift.items
        .filter((i) => i.kind === "route-resource-missing")
        .map((i) => i.route)
        .sort(),
    ).toEqual(["app-b-prod", "payments-prod"]);
    expect(drift.byAccount["1700000000000397"]?.["tagged-not-collecting"]).toBe(5);
    expect(writes()).toBe(before);
  });

  test("reconcile onboards them; once their lines arrive, reconcile makes them collecting and cuts over", async () => {
    const first = await cli("reconcile");
    expect(first.code).toBe(0);
    expect([...APP, LEAVER, ...PAY].map(status)).toEqual(Array(5).fill("authorized"));

    // The route's config waits for the source config's position meta (set by the first run) to
    // reach the hosts: configPropagationSeconds, 120 s by default. Then it is bound: heartbeating
    // is not collecting yet.
    stack.emulator.advanceClock(130_000);
    const second = await cli("reconcile", "--json");
    expect(second.code).toBe(0);
    expect((JSON.parse(second.out) as { status: FleetReport }).status.totals).toEqual({ authorized: 5 });

    // The agents load the config and ship what the hosts write; the next reconcile sees the lines.
    await letLinesFlow(30);
    const third = await cli("reconcile", "--json");
    expect(third.code).toBe(0);
    expect((JSON.parse(third.out) as { status: FleetReport }).status.totals).toEqual({ collecting: 5 });

    // app-b's own config never read these files: past its silence window, and once the
    // destination's readers have a checkpoint (checkpointSeconds), the handover cuts over.
    const handover = config.routes["app-b-prod"]?.handover;
    await letLinesFlow(Math.max(handover?.sourceSilenceSeconds ?? 0, handover?.checkpointSeconds ?? 0), 10);
    const fourth = await cli("reconcile", "--json");
    expect(fourth.code).toBe(0);
    const report = (JSON.parse(fourth.out) as { status: FleetReport }).status;
    expect(report.totals).toEqual({ collecting: 5 });
    expect(stack.fleet.host(LEAVER)?.root().identifierFile()).toBe("team-x-web\napp-b-prod-linux\n");
    // Every app-b instance collects: the cutover retired the source config and started the copy.
    expect(report.copyJobs).toEqual([
      expect.objectContaining({
        route: "app-b-prod",
        sourceAccount: "1700000000000397",
        status: expect.stringMatching(/STARTING|RUNNING/),
      }),
    ]);
  });

  test("after breaking four things on purpose, plan lists exactly those", async () => {
    const sls = slsClient(stack.emulator.port, HUB_KEY);
    await sls.deleteMachineGroup("central-logs", "app-b-prod-linux");
    await sls.removeConfigFromMachineGroup("central-logs", "payments-prod-linux", "payments-prod-linux");
    stack.fleet.setAgentRunning(PAY[0] ?? "", false);
    await ecsClient(stack.emulator.port, SPOKE_KEY).untagResources(
      new $Ecs.UntagResourcesRequest({
        regionId: REGION,
        resourceType: "instance",
        resourceId: [LEAVER],
        tagKey: ["logtail-xacct-route"],
      }),
    );
    // Long enough for the stopped agent's last heartbeat to go stale.
    stack.emulator.advanceClock(240_000);
    const before = writes();

    const { code, out } = await cli("plan", "--json");

    expect(code).toBe(0);
    expect(writes()).toBe(before);
    const drift = JSON.parse(out) as DriftReport;
    const found = drift.items.map((i) => [i.kind, i.route ?? "", i.instanceIds.join(",")]);
    expect(found).toEqual(
      expect.arrayContaining([
        ["route-resource-missing", "app-b-prod", ""],
        ["route-resource-missing", "payments-prod", ""],
        ["tagged-not-collecting", "payments-prod", PAY[0]],
        ["untagged-still-onboarded", "app-b-prod, payments-prod", LEAVER],
      ]),
    );
    const missing = Object.fromEntries(
      drift.items.filter((i) => i.kind === "route-resource-missing").map((i) => [i.route, i.detail]),
    );
    expect(missing["app-b-prod"]).toMatch(/machineGroup:linux, .*binding:linux/);
    expect(missing["payments-prod"]).toMatch(/: binding:linux$/);
    // Nothing else is reported broken: the untouched instances only get their status corrected
    // (payments collects nowhere while its binding is gone).
    const other = drift.items.filter(
      (i) =>
        !["route-resource-missing", "tagged-not-collecting", "untagged-still-onboarded"].includes(i.kind),
    );
    expect(other.map((i) => i.kind)).toEqual(other.map(() => "status-out-of-date"));
    expect(other.flatMap((i) => i.instanceIds)).not.toContain(APP[0]);
  });

  test("reconcile repairs them and status shows the result; the untagged host's files are as before", async () => {
    const repaired = await cli("reconcile");
    expect(repaired.code).toBe(0);
    // The restarted agent heartbeats again: one more pass confirms it.
    stack.emulator.advanceClock(20_000);
    expect((await cli("reconcile")).code).toBe(0);

    const { code, out } = await cli("status", "--json", "--html", join(workDir, "report.html"));
    expect(code).toBe(0);
    const report = JSON.parse(out) as FleetReport;
    expect(report.totals).toEqual({ collecting: 4, revoked: 1 });
    expect(report.failed).toEqual([]);
    expect(stack.fleet.host(LEAVER)?.root().identifierFile()).toBe("team-x-web\n");
    expect(stack.fleet.host(LEAVER)?.uidFiles()).toEqual([]);
    expect(readFileSync(join(workDir, "report.html"), "utf8")).toContain("<html");

    const again = JSON.parse((await cli("plan", "--json")).out) as DriftReport;
    expect(again.items).toEqual([]);

    const text = await cli("status");
    expect(text.out).toMatch(/app-b-prod\s+1700000000000397\s+cn-hangzhou\s+0\s+0\s+2\s+0\s+0\s+0\s+2/);
    // No colour codes when stdout is not a terminal.
    expect(text.out.includes("\u001b[")).toBe(false);
  });

  test("revoke --instance offboards explicitly: tag removed, host revoked", async () => {
    const { code, out } = await cli("revoke", "--instance", APP[1] ?? "");
    expect(code).toBe(0);
    expect(out).toContain(`${APP[1]}  revoked`);
    expect(stack.emulator.ecs.getInstance(APP[1] ?? "")?.tags.get("logtail-xacct-route")).toBeUndefined();
    expect(
      stack.fleet
        .host(APP[1] ?? "")
        ?.root()
        .identifierFile(),
    ).toBeUndefined();
  });

  test("revoke --route offboards every instance tagged with it", async () => {
    const { code, out } = await cli("revoke", "--route", "payments-prod", "--json");
    expect(code).toBe(0);
    const result = JSON.parse(out) as { revoked: Array<{ instanceId: string; status: string }> };
    expect(result.revoked).toEqual(PAY.map((instanceId) => ({ instanceId, status: "revoked" })));
    for (const id of PAY) expect(stack.fleet.host(id)?.root().identifierFile()).toBeUndefined();
    const after = JSON.parse((await cli("status", "--json")).out) as FleetReport;
    expect(after.groups.some((g) => g.route === "payments-prod")).toBe(false);
  });

  test.each([
    [["status", "--config", "/nonexistent/routes.yaml"], 1, /routes\.yaml.*cannot read the file/],
    [
      ["plan", "--route", "no-such-route"],
      1,
      /--route no-such-route: no such route in .*\(routes: app-b-prod, payments-prod\)/,
    ],
    [["reconcile", "--account", "1999999999999999"], 1, /--account 1999999999999999: not a source account/],
    [
      ["revoke", "--instance", "i-bp1nothere00001"],
      1,
      /not found in any account and region .*nothing was changed/,
    ],
    [["revoke", "--instance", "$(reboot)"], 1, /not an ECS instance id/],
    [["revoke"], 1, /either --instance ID\.\.\. or --route NAME/],
  ])("bad input %j: one line, exit %i, nothing changed", async (args, exit, message) => {
    const before = writes();
    const io = bufferIo();
    const defaults = args.includes("--config") ? [] : ["--config", ROUTES];
    const code = await main([...args, ...defaults, "--endpoints-file", endpointsFile], io);
    expect(code).toBe(exit);
    expect(io.stderr()).toMatch(message);
    expect(io.stderr().trim().split("\n")).toHaveLength(1);
    expect(writes()).toBe(before);
  });

  test("an unreachable endpoint and missing credentials are one line each, exit 3", async () => {
    const stopped = join(workDir, "stopped.json");
    const document = JSON.parse(readFileSync(endpointsFile, "utf8"));
    const closed = JSON.stringify(document).replaceAll(`:${stack.emulator.port}`, ":9");
    writeFileSync(stopped, closed);
    const io = bufferIo();
    expect(await main(["status", "--config", ROUTES, "--endpoints-file", stopped], io)).toBe(3);
    expect(io.stderr()).toMatch(/^logtail-xacct: cannot (reach|read the local stack's clock)/);
    expect(io.stderr().trim().split("\n")).toHaveLength(1);

    const saved = { ...process.env };
    for (const key of Object.keys(process.env)) if (key.startsWith("ALIBABA_CLOUD")) delete process.env[key];
    process.env.ALIBABA_CLOUD_CREDENTIALS_FILE = join(workDir, "no-such-credentials");
    process.env.HOME = workDir;
    process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true";
    try {
      const none = bufferIo();
      expect(await main(["status", "--config", ROUTES], none)).toBe(3);
      expect(none.stderr()).toMatch(/^logtail-xacct: no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID/);
    } finally {
      process.env = saved;
    }
  });
});
