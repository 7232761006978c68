/**
 * The exactly-once handover under the agent's real rules, measured line by line: `npm start` on a
 * fleet of four hosts writing 10 lines/s through onboarding, handover and copy, per scenario. The
 * ledger (what the hosts wrote) says what became of every line; `verify` says the same from the
 * two logstores alone.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { bufferIo } from "../../cli/io";
import { main } from "../../cli/main";
import { copiesFound, type VerifyReport } from "../../shared/status/verifyReport";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const BASE = join(__dirname, "../fixtures/localstack/fleet.writers.yaml");

interface Delivery {
  route: string;
  hosts: number;
  offboarded?: { hosts: number; written: number; lost: number };
  written: number;
  once: number;
  duplicated: number;
  extraCopies: number;
  missing: number;
}
type Verdict = Pick<VerifyReport, "route" | "ok" | "totals">;

type Fleet = {
  accounts: Array<{
    name: string;
    agentConfigDelaySeconds?: number;
    putLogsAnswerLoss?: number;
    copyJobRestart?: { afterSeconds: number; resumesFrom: "stop" | "lastSave"; linesPerSecond?: number };
  }>;
  instances: Array<{
    count: number;
    name?: string;
    agentVersion?: string;
    agentCrashEverySeconds?: number;
    tagAfterCutover?: boolean;
    untagAfterRetire?: boolean;
    agentRestartAtCutover?: "clean" | "crash";
    writers: Array<{ path: string; rotate?: unknown }>;
  }>;
};

let workDir: string;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "ltx-handover-"));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** Runs `start` on the base fleet changed by `change`; the route app-b-prod's delivery and verdict. */
async function run(
  name: string,
  change: (fleet: Fleet) => void,
  startOptions: readonly string[] = [],
): Promise<{ delivery: Delivery; verdict: Verdict }> {
  const fleet = parseYaml(readFileSync(BASE, "utf8")) as Fleet;
  change(fleet);
  const file = join(workDir, `${name}.yaml`);
  writeFileSync(file, stringifyYaml(fleet));
  const io = bufferIo();
  // A migration waits about 960 emulated seconds for the destination readers' checkpoints (48 s
  // of wall time at ×20, alone): start's default deadline (115 s) is too short beside other suites.
  const deadline = startOptions.includes("--deadline") ? [] : ["--deadline", "300"];
  const code = await main(
    ["start", "--fleet", file, "--exit-when-converged", "--json", ...deadline, ...startOptions],
    io,
  );
  if (code !== 0) throw new Error(`start ${name} exited ${code}:\n${io.stderr().slice(-2000)}`);
  const summary = JSON.parse(io.stdout().trim().split("\n").at(-1) ?? "{}");
  const delivery = (summary.delivery as Delivery[]).find((route) => route.route === "app-b-prod");
  const verdict = (summary.verify as Verdict[]).find((route) => route.route === "app-b-prod");
  if (delivery === undefined || verdict === undefined)
    throw new Error(`start ${name}: no app-b-prod summary`);
  return { delivery, verdict };
}

/**
 * Nothing lost, by the ledger and by verify. `once`: no line twice either. `copies`: the agents or
 * the copy service made copies themselves, and verify found every one of them.
 */
function expectNothingLost(delivery: Delivery, verdict: Verdict, duplicates: "once" | "copies"): void {
  expect(delivery.written).toBeGreaterThan(1_000);
  expect(delivery.missing).toBe(0);
  expect(verdict.totals).toMatchObject({ missing: 0, unplacedMissing: 0, unplacedExtra: 0 });
  if (duplicates === "once") {
    expect(delivery).toMatchObject({ duplicated: 0, extraCopies: 0 });
    expect(verdict.ok).toBe(true);
  } else {
    expect(delivery.extraCopies).toBeGreaterThan(0);
    expect(copiesFound(verdict.totals)).toBe(delivery.extraCopies);
  }
}

const delay = (fleet: Fleet, account: string, seconds: number): void => {
  const found = fleet.accounts.find((candidate) => candidate.name === account);
  if (found) found.agentConfigDelaySeconds = seconds;
};

describeRequiring(sandboxRequirement(), "exactly-once handover scenarios (ledger and verify)", () => {
  test.each([
    ["config changes reach agents 60 s late from the source account, 120 s from the hub", 60, 120],
    ["120 s late from the source account (the propagation wait), 10 s from the hub", 120, 10],
    ["10 s late from the source account, 60 s from the hub", 10, 60],
    ["60 s late from the source account, 10 s from the hub", 60, 10],
    ["10 s late from the source account, 120 s from the hub", 10, 120],
    ["120 s late from the source account, 60 s from the hub", 120, 60],
  ])(
    "%s: every line once",
    async (_what, sourceDelay, hubDelay) => {
      const { delivery, verdict } = await run(`delay-${sourceDelay}-${hubDelay}`, (fleet) => {
        delay(fleet, "app-b", sourceDelay);
        delay(fleet, "hub", hubDelay);
      });

      expect(delivery.written).toBeGreaterThan(1_000);
      expect(delivery).toMatchObject({ duplicated: 0, missing: 0 });
      expect(delivery.once).toBe(delivery.written);
      expect(verdict.ok).toBe(true);
    },
    360_000,
  );

  // Rotation inside the handoff: a reused inode number (rename) and an inode holding one file after
  // another (copytruncate) must not be taken for the destination's file.
  test.each([
    ["rename rotation every 60 s (inode numbers reused)", { mode: "rename", everySeconds: 60, keep: 2 }],
    ["copytruncate every 90 s", { mode: "copytruncate", everySeconds: 90, keep: 1 }],
  ])(
    "%s: every line once, and verify agrees with the ledger",
    async (_what, rotate) => {
      const { delivery, verdict } = await run(`rotate-${rotate.mode}`, (fleet) => {
        for (const entry of fleet.instances)
          for (const writer of entry.writers) if (writer.path.endsWith("/app.log")) writer.rotate = rotate;
      });

      expect(delivery.written).toBeGreaterThan(1_000);
      expect(delivery).toMatchObject({ duplicated: 0, missing: 0 });
      expect(verdict.totals.missing).toBe(delivery.missing);
      expect(verdict.totals.extraCopies).toBe(delivery.extraCopies);
      expect(verdict.ok).toBe(true);
    },
    360_000,
  );

  // A host of the source group tagged once the copy was cut: the first round copied it whole up to
  // the cut; its lines after the cut below where the destination began are only in the source
  // until a later round copies them (before it did, this run lost 816 of 20,335 lines), and the
  // source config is retired only after that round.
  test("a host tagged after the copy was cut: a later round copies what only the source has, every line once", async () => {
    const { delivery, verdict } = await run("tagged-after-cutover", (fleet) => {
      const [first] = fleet.instances;
      if (first === undefined) throw new Error("the base fleet has no instances");
      fleet.instances.push({ ...first, count: 1, name: "app-b-late", tagAfterCutover: true });
    });

    expect(delivery.hosts).toBe(5);
    expect(delivery.written).toBeGreaterThan(1_000);
    expect(delivery).toMatchObject({ duplicated: 0, missing: 0 });
    expect(delivery.once).toBe(delivery.written);
    expect(verdict.ok).toBe(true);
  }, 360_000);

  // A machine of the source group untagged once the source config was retired: the revoke takes it
  // out of the destination, and the retired config no longer reaches it. The config goes back to
  // the group before the revoke, so every line it wrote is in one logstore or the other.
  test("a host untagged after the retire: its source collects it again before the revoke, no line lost", async () => {
    const { delivery, verdict } = await run("untagged-after-retire", (fleet) => {
      const [first] = fleet.instances;
      if (first === undefined) throw new Error("the base fleet has no instances");
      fleet.instances.push({ ...first, count: 1, name: "app-b-leaving", untagAfterRetire: true });
    });

    expect(delivery.offboarded?.hosts).toBe(1);
    expect(delivery.offboarded?.written).toBeGreaterThan(1_000);
    expect(delivery.offboarded?.lost).toBe(0);
    // The hosts that stay lose nothing and get nothing twice.
    expect(delivery.hosts).toBe(4);
    expect(delivery).toMatchObject({ duplicated: 0, missing: 0 });
    // verify counts the lines read after the host left with what stays in the source alone.
    expect(verdict.totals.missing).toBe(0);
    expect(verdict.totals.sourceOnlyLines).toBeGreaterThan(0);
    expect(verdict.ok).toBe(true);
  }, 360_000);

  // Copies the agents make themselves: the migration adds none, and verify finds every one.
  test("5% of PutLogs answers lost after the lines were stored (the agent sends the pack again): nothing lost, verify finds every copy", async () => {
    const { delivery, verdict } = await run("answer-loss", (fleet) => {
      for (const account of fleet.accounts) account.putLogsAnswerLoss = 0.05;
    });

    expectNothingLost(delivery, verdict, "copies");
  }, 360_000);

  // A crash re-reads from the last saved checkpoint (copies). A destination reader that has none
  // yet (saved every 15 min and at config updates) starts again at the end of the file
  // (TailSizeKB 0): the pack it had read but not sent is only in the source, past the
  // destination's first offset. The cut finds such holes and copies them (README "Exactly-once
  // cutover"); before it did, this run lost 42 of 14,508 lines.
  test("every agent crashes every 120 s: nothing lost, and verify finds every copy the agents made", async () => {
    // The cut waits for the holes to settle until the agents' first periodic checkpoint (15
    // emulated minutes): about 100 s of wall time alone, longer beside other suites.
    const { delivery, verdict } = await run(
      "crash",
      (fleet) => {
        for (const entry of fleet.instances) entry.agentCrashEverySeconds = 120;
      },
      ["--deadline", "360"],
    );

    expectNothingLost(delivery, verdict, "copies");
  }, 420_000);

  // An agent restart right after the cut. A clean one saves its readers' checkpoints: nothing is
  // read twice. A crash goes back to the last saved ones: the cut waited until the destination's
  // readers had one (handover.checkpointSeconds), so it re-reads instead of restarting at the end
  // of the file (TailSizeKB 0). Before that wait, the crash lost 48 of 14,875 lines.
  test.each([
    ["clean", "every line once"],
    ["crash", "nothing lost, and verify finds every copy the restart made"],
  ] as const)(
    "agents restarted at the cutover (%s): %s",
    async (how, _expected) => {
      const { delivery, verdict } = await run(`restart-at-cutover-${how}`, (fleet) => {
        for (const entry of fleet.instances) entry.agentRestartAtCutover = how;
      });

      expectNothingLost(delivery, verdict, how === "crash" ? "copies" : "once");
    },
    360_000,
  );

  // The copy service restarts the job mid-copy (after its first periodic save at 65 s; the copy
  // slowed to 50 lines/s so that the restart at 90 s lands in it). Resumed where it stopped, it
  // copies each line once; resumed from its last save, it copies again what it copied since:
  // copies of the service's own, which verify finds.
  test.each([
    ["where it stopped", "stop"],
    ["its last save", "lastSave"],
  ] as const)(
    "the copy job restarted, resuming from %s: nothing lost",
    async (_what, resumesFrom) => {
      const { delivery, verdict } = await run(`copy-restart-${resumesFrom}`, (fleet) => {
        for (const account of fleet.accounts)
          if (account.name === "app-b")
            account.copyJobRestart = { afterSeconds: 90, resumesFrom, linesPerSecond: 50 };
      });

      expectNothingLost(delivery, verdict, resumesFrom === "lastSave" ? "copies" : "once");
    },
    360_000,
  );
});
