/**
 * The Linux host script, really executed: the exact text Cloud Assistant would receive, run by sh
 * in a private mount namespace with a stand-in agent. Also run by hand (file + arguments) to prove
 * its own validation, since the renderer would refuse bad values before they got there.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostRoot, type HostSpec } from "../../localstack/hostRoot";
import {
  type HostShell,
  runInSandbox,
  type SandboxKind,
  type SandboxResult,
} from "../../localstack/hostSandbox";
import { type HostAction, renderHostScript } from "../../shared/hostscript/hostCommand";
import { type HostReport, parseHostReport } from "../../shared/hostscript/hostReport";
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import {
  bwrapRequirement,
  commandRequirement,
  describeRequiring,
  sandboxRequirement,
} from "../support/requires";

const UID = "1200000000000456";
const OTHER_UID = "1300000000000789";
const ID = "app-b-prod-linux";
const DMI_UUID = "4C4C4544-0042-3510-8051-B7C04F4E3732";
const scripts = readHostScripts();
const scriptFile = join(__dirname, "../../shared/hostscript/linux.sh");

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "ltx-linux-script-"));
});
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

let hostCounter = 0;
function newHost(spec: Partial<HostSpec> = {}): HostRoot {
  hostCounter += 1;
  return HostRoot.create(join(workDir, `host-${hostCounter}`), {
    dmiUuid: DMI_UUID,
    agent: "ilogtail",
    agentRunning: true,
    appInfo: { ip: "172.16.1.20", hostname: "app-b-01", version: "2.1.1" },
    ...spec,
  });
}

interface Run extends SandboxResult {
  report: HostReport;
}

/** Runs the rendered command for an action, as Cloud Assistant would, and parses its report. */
async function runRendered(
  host: HostRoot,
  action: HostAction,
  shell: HostShell = "sh",
  kind?: SandboxKind,
): Promise<Run> {
  const path = join(workDir, `cmd-${hostCounter}-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(path, renderHostScript("linux", action, scripts));
  const result = await runInSandbox({ host, scriptPath: path, args: [], timeoutMs: 20_000, shell, kind });
  const parsed = parseHostReport(result.stdout);
  if (!parsed.ok) throw new Error(`${parsed.reason}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return { ...result, report: parsed.report };
}

/** Runs the script file by hand with raw arguments (no renderer in front of it). */
function runByHand(host: HostRoot, args: string[]): Promise<SandboxResult> {
  return runInSandbox({ host, scriptPath: scriptFile, args, timeoutMs: 20_000 });
}

const authorize = (identifier = ID, uid = UID): HostAction => ({ action: "authorize", uid, identifier });
/** Authorize on a host onboarded before by a version of the script that kept no record. */
const adopting = (): HostAction => ({ action: "authorize", uid: UID, identifier: ID, adopt: true });
const revoke = (
  identifier: string | string[] = ID,
  otherIdentifiers: string[] = [],
  uid = UID,
): HostAction => ({
  action: "revoke",
  uid,
  identifiers: typeof identifier === "string" ? [identifier] : identifier,
  otherIdentifiers,
});

describeRequiring(sandboxRequirement(), "linux.sh in a sandboxed host", () => {
  const realIlogtailBefore = existsSync("/etc/ilogtail");

  afterAll(() => {
    // The sandbox must never reach the machine's own Logtail directory.
    expect(existsSync("/etc/ilogtail")).toBe(realIlogtailBefore);
  });

  test("first authorize creates the UID file and the identifier line, restarts the agent and reports it", async () => {
    const host = newHost();

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(0);
    expect(host.uidFiles()).toEqual([UID]);
    expect(host.identifierFile()).toBe(`${ID}\n`);
    expect(host.agentEvents()).toEqual(["restart", "status"]);
    expect(run.report).toMatchObject({
      action: "authorize",
      ok: true,
      changed: { uidFile: true, identifiers: true },
      uidFiles: [UID],
      identifiers: [ID],
      agent: { flavor: "ilogtail", control: "initd", running: true, restarted: true, restartError: null },
      host: {
        dmiUuid: DMI_UUID,
        ip: "172.16.1.20",
        hostname: "app-b-01",
        agentVersion: "2.1.1",
        agentUuid: DMI_UUID,
        agentHostId: null,
      },
      error: null,
    });
  });

  test("the report names the region the agent was installed for, from ilogtail_config.json", async () => {
    const installed = newHost({ agentRegion: "cn-shanghai" });
    const unknown = newHost();

    expect((await runRendered(installed, authorize())).report.host?.agentRegion).toBe("cn-shanghai");
    expect((await runRendered(unknown, authorize())).report.host?.agentRegion).toBeNull();
  });

  test("a cluster that is not a region id is no region", async () => {
    const hostile = newHost();
    writeFileSync(
      join(hostile.dir, "usr-local/ilogtail", "ilogtail_config.json"),
      '{"data_server_list":[{"cluster":"cn-x\\",\\"ok\\":true"}]}\n',
    );

    const run = await runRendered(hostile, authorize());

    expect(run.report.ok).toBe(true);
    expect(run.report.host?.agentRegion).toBeNull();
  });

  test("the report names what the agent heartbeats with: app_info.json's UUID and host_id", async () => {
    const host = newHost({
      agent: "loongcollector",
      appInfo: {
        ip: "172.16.1.20",
        hostname: "app-b-01",
        version: "3.0.5",
        uuid: "9b2f3c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e",
        hostId: "i-bp1arm0000001",
      },
    });

    const run = await runRendered(host, authorize());

    expect(run.report).toMatchObject({
      ok: true,
      host: {
        dmiUuid: DMI_UUID,
        agentUuid: "9b2f3c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e",
        agentHostId: "i-bp1arm0000001",
      },
    });
  });

  test("Logtail 1.x is refused before anything is written: AgentTooOld, exit 5, the agent untouched", async () => {
    const host = newHost({ appInfo: { ip: "172.16.1.20", hostname: "app-b-01", version: "1.8.7" } });

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(5);
    expect(host.uidFiles()).toEqual([]);
    expect(host.identifierFile()).toBeUndefined();
    expect(host.agentEvents()).not.toContain("restart");
    expect(run.report).toMatchObject({
      ok: false,
      changed: { uidFile: false, identifiers: false },
      host: { agentVersion: "1.8.7" },
      error: { code: "AgentTooOld" },
    });
  });

  test("LoongCollector and an agent of unknown version are not refused", async () => {
    const loong = newHost({
      agent: "loongcollector",
      appInfo: { ip: "172.16.1.20", hostname: "app-b-01", version: "3.0.5" },
    });
    const unknown = newHost({ appInfo: undefined });

    expect((await runRendered(loong, authorize())).exitCode).toBe(0);
    expect((await runRendered(unknown, authorize())).exitCode).toBe(0);
    expect(unknown.identifierFile()).toBe(`${ID}\n`);
  });

  test("a repeated authorize changes nothing and does not restart the agent", async () => {
    const host = newHost();
    await runRendered(host, authorize());
    const before = statSync(join(host.dir, "etc-ilogtail", "user_defined_id"));

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(0);
    expect(run.report.changed).toEqual({ uidFile: false, identifiers: false });
    expect(run.report.agent.restarted).toBe(false);
    expect(host.agentEvents().filter((event) => event === "restart")).toHaveLength(1);
    const after = statSync(join(host.dir, "etc-ilogtail", "user_defined_id"));
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(host.identifierFile()).toBe(`${ID}\n`);
  });

  test("another team's identifier lines are kept byte for byte, ours is added as its own line", async () => {
    const foreign = "team-x-web\n\n  team-y-db  \nteam-z\r\nlast-without-newline";
    const host = newHost({ userDefinedIdContent: foreign, uidFiles: [OTHER_UID] });

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(0);
    expect(host.identifierFile()).toBe(`${foreign}\n${ID}\n`);
    expect(host.uidFiles()).toEqual([UID, OTHER_UID].sort());
    // The report lists lines as the agent reads them: spaces trimmed, a CR kept.
    expect(run.report.identifiers).toEqual([
      "team-x-web",
      "team-y-db",
      "team-z\r",
      "last-without-newline",
      ID,
    ]);
  });

  test("foreign lines and file names with quotes, backslashes and control characters are reported faithfully", async () => {
    const weird = 'say "hi"\\there\tnow\u0001';
    const host = newHost({ userDefinedIdContent: `${weird}\n`, uidFiles: ['we"ird\\name', ".hidden"] });

    const run = await runRendered(host, { action: "inspect" });

    expect(run.report.identifiers).toEqual([weird]);
    expect(run.report.uidFiles).toEqual(['we"ird\\name']);
  });

  test("a line the agent already reads as ours (spaces around it) is left as it was, and remembered as not ours", async () => {
    const content = `team-x\n  ${ID}   \n`;
    const host = newHost({ userDefinedIdContent: content, uidFiles: [UID] });

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(0);
    expect(host.identifierFile()).toBe(content);
    expect(run.report.changed).toEqual({ uidFile: false, identifiers: false });
    expect(host.record()).toEqual([`uid:${UID} existed`, "id-file existed", `id:${ID} existed`]);
  });

  test("a CR or tab variant of ours matches nothing: a clean line is appended and the variant kept", async () => {
    const content = `${ID}\r\nteam-x\n\t${ID}\n`;
    const host = newHost({ userDefinedIdContent: content });

    const run = await runRendered(host, authorize());

    expect(host.identifierFile()).toBe(`${content}${ID}\n`);
    expect(run.report.changed.identifiers).toBe(true);
    await runRendered(host, revoke());
    expect(host.identifierFile()).toBe(content);
  });

  test("a clean line of ours stays where it is", async () => {
    const host = newHost({ userDefinedIdContent: `${ID}\nteam-x\n`, uidFiles: [UID] });

    const run = await runRendered(host, authorize());

    expect(run.report.changed).toEqual({ uidFile: false, identifiers: false });
    expect(host.identifierFile()).toBe(`${ID}\nteam-x\n`);
  });

  test("revoke removes only our line and, with no other identifier of the UID left, the UID file", async () => {
    const host = newHost({ userDefinedIdContent: "team-x\r\nteam-y\n", uidFiles: [OTHER_UID] });
    await runRendered(host, authorize());

    const run = await runRendered(host, revoke(ID, ["app-b-prod-windows"]));

    expect(run.exitCode).toBe(0);
    expect(host.identifierFile()).toBe("team-x\r\nteam-y\n");
    expect(host.uidFiles()).toEqual([OTHER_UID]);
    expect(run.report.changed).toEqual({ uidFile: true, identifiers: true });
    expect(run.report.agent.restarted).toBe(true);
  });

  test("revoke keeps the UID file while another route's identifier of the same UID remains", async () => {
    const host = newHost();
    await runRendered(host, authorize("route-a"));
    await runRendered(host, authorize("route-b"));

    const run = await runRendered(host, revoke("route-a", ["route-b", "route-c"]));

    expect(run.exitCode).toBe(0);
    expect(host.identifierFile()).toBe("route-b\n");
    expect(host.uidFiles()).toEqual([UID]);
    expect(run.report.changed).toEqual({ uidFile: false, identifiers: true });
  });

  test("one revoke carries several identifiers: each goes, the UID file stays only for an --other-id left", async () => {
    const host = newHost({ userDefinedIdContent: "team-x\n" });
    for (const route of ["route-a", "route-b", "route-c"]) await runRendered(host, authorize(route));

    const some = await runRendered(host, revoke(["route-a", "route-b"], ["route-c"]));
    expect(some.exitCode).toBe(0);
    expect(host.identifierFile()).toBe("team-x\nroute-c\n");
    expect(host.uidFiles()).toEqual([UID]);

    const rest = await runRendered(host, revoke(["route-c", "route-a"]));
    expect(rest.report.changed).toEqual({ uidFile: true, identifiers: true });
    expect(host.identifierFile()).toBe("team-x\n");
    expect(host.uidFiles()).toEqual([]);
    expect(host.record()).toBeUndefined();
  });

  test("authorize takes one --id", async () => {
    const host = newHost();

    const run = await runByHand(host, ["authorize", "--uid", UID, "--id", "a", "--id", "b"]);

    expect(run.exitCode).toBe(2);
    expect(host.ilogtailTree()).toEqual([]);
  });

  test("authorize then revoke leaves the files exactly as they were", async () => {
    const original = "team-x\n";
    const host = newHost({ userDefinedIdContent: original, uidFiles: [OTHER_UID] });
    const treeBefore = host.ilogtailTree();

    await runRendered(host, authorize());
    await runRendered(host, revoke());

    expect(host.identifierFile()).toBe(original);
    expect(host.ilogtailTree()).toEqual(treeBefore);
  });

  test("authorize then revoke on a host with no identifier file leaves no identifier file", async () => {
    const host = newHost({ uidFiles: [OTHER_UID] });
    const treeBefore = host.ilogtailTree();
    expect(host.identifierFile()).toBeUndefined();

    await runRendered(host, authorize());
    const run = await runRendered(host, revoke());

    expect(run.exitCode).toBe(0);
    expect(host.identifierFile()).toBeUndefined();
    expect(host.uidFiles()).toEqual([OTHER_UID]);
    // users/ was there already (the other UID); nothing of ours is left beside it.
    expect(host.ilogtailTree()).toEqual(treeBefore);
    expect(run.report.changed).toEqual({ uidFile: true, identifiers: true });
  });

  describe("revoke leaves the host exactly as it was before onboarding", () => {
    const identifierPath = (host: HostRoot) => join(host.dir, "etc-ilogtail", "user_defined_id");

    test("a UID file and an identifier line that were there before stay, byte for byte", async () => {
      const content = `team-x\n${ID}\n`;
      const host = newHost({ userDefinedIdContent: content, uidFiles: [UID] });
      writeFileSync(join(host.dir, "etc-ilogtail", "users", UID), "the customer's own note\n");
      const treeBefore = host.ilogtailTree();

      await runRendered(host, authorize());
      const run = await runRendered(host, revoke());

      expect(run.exitCode).toBe(0);
      expect(host.identifierFile()).toBe(content);
      expect(readFileSync(join(host.dir, "etc-ilogtail", "users", UID), "utf8")).toBe(
        "the customer's own note\n",
      );
      expect(run.report.changed).toEqual({ uidFile: false, identifiers: false });
      // The hub is told why our identifier is still there: it is the owner's.
      expect(run.report.keptIdentifiers).toEqual([ID]);
      expect(host.ilogtailTree()).toEqual(treeBefore);
    });

    test("a file without a final newline gets it back without one", async () => {
      const content = "team-x\nteam-y";
      const host = newHost({ userDefinedIdContent: content });

      await runRendered(host, authorize());
      expect(host.identifierFile()).toBe(`${content}\n${ID}\n`);
      await runRendered(host, revoke());

      expect(host.identifierFile()).toBe(content);
      expect(host.record()).toBeUndefined();
    });

    test("an empty identifier file stays, empty; users/ created by authorize goes", async () => {
      const host = newHost({ userDefinedIdContent: "" });
      const treeBefore = host.ilogtailTree();
      expect(treeBefore).toEqual(["user_defined_id"]);

      await runRendered(host, authorize());
      expect(host.identifierFile()).toBe(`${ID}\n`);
      await runRendered(host, revoke());

      expect(host.identifierFile()).toBe("");
      expect(host.ilogtailTree()).toEqual(treeBefore);
    });

    test("the identifier file keeps its mode and owner through authorize and revoke", async () => {
      const host = newHost({ userDefinedIdContent: "team-x\n" });
      chmodSync(identifierPath(host), 0o600);
      // Another owner needs root to set; the sandbox by unshare runs as root (CI does).
      const asRoot = process.getuid?.() === 0;
      if (asRoot) chownSync(identifierPath(host), 65534, 65534);
      const owner = () => {
        const stat = statSync(identifierPath(host));
        return { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
      };
      const before = owner();

      await runRendered(host, authorize());
      expect(owner()).toEqual(before);
      await runRendered(host, revoke());

      expect(owner()).toEqual(before);
      expect(before).toMatchObject({ mode: 0o600, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
      expect(host.identifierFile()).toBe("team-x\n");
    });

    test("only the newest clean line of ours goes: one the owner added by hand after ours stays", async () => {
      const host = newHost();
      await runRendered(host, authorize());
      writeFileSync(identifierPath(host), `${ID}\nteam-x\n`);

      await runRendered(host, revoke());

      // Ours was appended; the owner's later copy above team-x cannot be told apart: one is kept.
      expect(host.identifierFile()).toBe("team-x\n");
    });

    test("a host set up by the earlier version (no record) is still offboarded: every line of ours goes", async () => {
      const host = newHost({ userDefinedIdContent: `team-x\n${ID}\n ${ID}\r\n`, uidFiles: [UID] });
      expect(host.record()).toBeUndefined();

      const run = await runRendered(host, revoke());

      expect(host.identifierFile()).toBe("team-x\n");
      expect(host.uidFiles()).toEqual([]);
      expect(run.report.changed).toEqual({ uidFile: true, identifiers: true });
    });

    test("--adopt: what a host onboarded by the earlier version has is taken as ours, so revoke removes it", async () => {
      const host = newHost({ userDefinedIdContent: `team-x\n${ID}\n`, uidFiles: [UID] });

      await runRendered(host, adopting());
      expect(host.record()).toEqual([`uid:${UID} created`, "id-file created", `id:${ID} added`]);
      await runRendered(host, revoke());

      expect(host.identifierFile()).toBe("team-x\n");
      expect(host.uidFiles()).toEqual([]);
      expect(host.record()).toBeUndefined();
    });

    test("a record that says existed is not overridden: a later authorize that re-adds the line takes it", async () => {
      const host = newHost({ userDefinedIdContent: `${ID}\n`, uidFiles: [UID] });
      await runRendered(host, authorize());
      // The owner removes their line; authorize puts ours back and now owns it.
      writeFileSync(identifierPath(host), "");
      await runRendered(host, adopting());
      expect(host.record()).toContain(`id:${ID} added`);

      await runRendered(host, revoke());

      expect(host.identifierFile()).toBe("");
      expect(host.uidFiles()).toEqual([UID]);
    });
  });

  test("revoke on a host that never had /etc/ilogtail succeeds and creates nothing", async () => {
    const host = newHost();
    // The sandbox binds the host's /etc/ilogtail, so it exists but is empty: nothing may appear in it.
    rmSync(join(host.dir, "etc-ilogtail"), { recursive: true });
    mkdirSync(join(host.dir, "etc-ilogtail"));

    const run = await runRendered(host, revoke());

    expect(run.exitCode).toBe(0);
    expect(host.ilogtailTree()).toEqual([]);
    expect(run.report.changed).toEqual({ uidFile: false, identifiers: false });
    expect(run.report.agent.restarted).toBe(false);
  });

  test("inspect changes nothing and restarts nothing", async () => {
    const host = newHost({ userDefinedIdContent: "team-x\n", uidFiles: [UID], agentRunning: false });
    const treeBefore = host.ilogtailTree();

    const run = await runRendered(host, { action: "inspect" });

    expect(run.exitCode).toBe(0);
    expect(host.ilogtailTree()).toEqual(treeBefore);
    expect(host.identifierFile()).toBe("team-x\n");
    expect(host.agentEvents()).toEqual(["status"]);
    expect(run.report).toMatchObject({
      action: "inspect",
      uidFiles: [UID],
      identifiers: ["team-x"],
      agent: { flavor: "ilogtail", running: false, restarted: false },
    });
  });

  test.each<HostShell>(["sh", "dash", "bash", "busybox"])(
    "inspect with --path counts the matching files and those changed since (%s), each once",
    async (shell) => {
      const host = newHost();
      const logs = join(host.dir, "var-log");
      mkdirSync(join(logs, "app", "2026", "12"), { recursive: true });
      mkdirSync(join(logs, "other"), { recursive: true });
      const at = (file: string, seconds: number) => {
        writeFileSync(file, "a line\n");
        utimesSync(file, seconds, seconds);
      };
      at(join(logs, "app", "old.log"), 1_000);
      at(join(logs, "app", "new.log"), 5_000);
      at(join(logs, "app", "2026", "12", "deep.log"), 6_000);
      at(join(logs, "app", "notes.txt"), 7_000);
      at(join(logs, "other", "x.log"), 8_000);
      mkdirSync(join(logs, "app", "dir.log"));
      const treeBefore = host.ilogtailTree();

      const run = await runRendered(
        host,
        {
          action: "inspect",
          files: {
            paths: ["/var/log/app/**/*.log", "/var/log/app/*.log", "/var/log/none/*.log"],
            sinceSeconds: 4_000,
          },
        },
        shell,
      );

      expect(run.exitCode).toBe(0);
      expect(run.report.files).toEqual({ matched: 3, changedSince: 2, newestChange: 6_000 });
      expect(host.ilogtailTree()).toEqual(treeBefore);
    },
  );

  test("inspect with --path where nothing matches says so; without --path it lists nothing", async () => {
    const host = newHost();

    const none = await runRendered(host, {
      action: "inspect",
      files: { paths: ["/var/log/app/*.log"], sinceSeconds: 1 },
    });
    const plain = await runRendered(host, { action: "inspect" });

    expect(none.report.files).toEqual({ matched: 0, changedSince: 0, newestChange: null });
    expect(plain.report.files).toBeUndefined();
  });

  test("LoongCollector is found and restarted through its own init script", async () => {
    const host = newHost({ agent: "loongcollector" });

    const run = await runRendered(host, authorize());

    expect(run.report.agent).toMatchObject({
      flavor: "loongcollector",
      control: "initd",
      restarted: true,
      running: true,
    });
    expect(existsSync(join(host.dir, "etc-init.d", "loongcollectord"))).toBe(true);
  });

  test("an agent managed by systemd is restarted with systemctl", async () => {
    const host = newHost({ agentControl: "systemd", agentRunning: false });

    const run = await runRendered(host, authorize());

    expect(run.report.agent).toMatchObject({
      flavor: "ilogtail",
      control: "systemd",
      restarted: true,
      running: true,
    });
    expect(host.agentEvents()).toContain("systemctl-restart");
  });

  test("authorize starts a stopped agent even when the files are already right; revoke leaves it stopped", async () => {
    const host = newHost({ userDefinedIdContent: `${ID}\n`, uidFiles: [UID], agentRunning: false });
    const treeBefore = host.ilogtailTree();

    const run = await runRendered(host, authorize());

    // Only the record that the files were there before this tool is new.
    expect(host.ilogtailTree()).toEqual([".logtail-xacct-record", ...treeBefore].sort());
    expect(run.report.changed).toEqual({ uidFile: false, identifiers: false });
    expect(run.report.agent).toMatchObject({ restarted: true, running: true });

    // Nothing of ours on this host: revoke changes nothing and does not start the agent.
    const stopped = newHost({ userDefinedIdContent: "team-x\n", agentRunning: false });
    const revoked = await runRendered(stopped, revoke());
    expect(revoked.report.changed).toEqual({ uidFile: false, identifiers: false });
    expect(revoked.report.agent).toMatchObject({ restarted: false, running: false });
  });

  test("a host without an agent still gets its files; the report says no agent", async () => {
    const host = newHost({ agent: "none" });

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(0);
    expect(host.identifierFile()).toBe(`${ID}\n`);
    expect(run.report.agent).toEqual({
      flavor: "none",
      control: "none",
      running: false,
      restarted: false,
      restartError: null,
    });
  });

  test("a failing restart is reported, not an error: the files are as requested", async () => {
    const host = newHost({ restartFails: true });

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(0);
    expect(run.report.ok).toBe(true);
    expect(run.report.agent).toMatchObject({ restarted: false, running: false });
    expect(run.report.agent.restartError).toMatch(/restart/);
  });

  test("a symbolic link in place of user_defined_id is refused and its target left alone", async () => {
    const host = newHost();
    const target = join(workDir, `target-${hostCounter}`);
    writeFileSync(target, "precious\n");
    symlinkSync(target, join(host.dir, "etc-ilogtail", "user_defined_id"));

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(3);
    expect(run.report.error?.code).toBe("UnsafePath");
    expect(readFileSync(target, "utf8")).toBe("precious\n");
    expect(host.uidFiles()).toEqual([]);
  });

  test("a local user holding a lock on /etc/ilogtail (it needs only read access) blocks nothing", async () => {
    const host = newHost();
    // What `flock -s /etc/ilogtail sleep infinity` as nobody did to the earlier lock.
    const holder = spawn("flock", ["-s", join(host.dir, "etc-ilogtail"), "sleep", "60"], { stdio: "ignore" });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const run = await runRendered(host, authorize());

      expect(run.exitCode).toBe(0);
      expect(run.report.ok).toBe(true);
      // The lock is root's alone: no other user can open it, so none can hold it.
      const lock = statSync(join(host.dir, "run", "logtail-xacct.lock"));
      expect(lock.mode & 0o077).toBe(0);
    } finally {
      holder.kill();
    }
  });

  test("the restarted agent inherits no descriptor of the run (the lock's included)", async () => {
    const host = newHost();

    const run = await runRendered(host, authorize());

    expect(run.report.agent.restarted).toBe(true);
    const inherited = host.restartDescriptors();
    expect(inherited).toBeDefined();
    // fd 9 is where the run holds its lock.
    expect(inherited).not.toContain("9");
  });

  test.each([
    ["/etc/ilogtail writable by others", "etc-ilogtail", 0o777],
    ["users/ writable by its group", "etc-ilogtail/users", 0o775],
  ])("%s is refused before anything is written", async (_, dir, mode) => {
    const host = newHost({ userDefinedIdContent: "team-x\n" });
    mkdirSync(join(host.dir, "etc-ilogtail", "users"), { recursive: true });
    chmodSync(join(host.dir, dir), mode);

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(3);
    expect(run.report.error).toMatchObject({
      code: "UnsafePath",
      message: expect.stringContaining("not root's alone"),
    });
    expect(host.uidFiles()).toEqual([]);
    expect(host.identifierFile()).toBe("team-x\n");
  });

  test("a huge user_defined_id and users/ still give a report that fits Cloud Assistant's 24 KB output", async () => {
    // 400 lines of 100 characters, every one full of control characters (6 bytes each once escaped).
    const noisy = Array.from(
      { length: 400 },
      (_, i) => `${"\u0001".repeat(95)}${String(i).padStart(5, "0")}`,
    );
    const host = newHost({ userDefinedIdContent: `${noisy.join("\n")}\n` });
    mkdirSync(join(host.dir, "etc-ilogtail", "users"), { recursive: true });
    for (let i = 0; i < 40; i += 1)
      writeFileSync(join(host.dir, "etc-ilogtail", "users", `${1700000000000000 + i}`), "");
    writeFileSync(join(host.dir, "etc-ilogtail", "users", "x".repeat(200)), "");

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(0);
    expect(Buffer.byteLength(run.stdout)).toBeLessThan(24 * 1024);
    // Ours is listed although it is the 401st line; the rest is bounded and counted.
    expect(run.report.identifiers).toContain(ID);
    expect(run.report.identifiers.length).toBeLessThanOrEqual(65);
    expect(run.report.omittedIdentifiers).toBe(401 - run.report.identifiers.length);
    expect(run.report.uidFiles).toHaveLength(32);
    expect(run.report.omittedUidFiles).toBe(42 - 32);
  });

  test("a link planted as the UID file is refused, and nothing is created where it points", async () => {
    const host = newHost();
    const target = join(workDir, `planted-${hostCounter}`);
    mkdirSync(join(host.dir, "etc-ilogtail", "users"), { recursive: true });
    symlinkSync(target, join(host.dir, "etc-ilogtail", "users", UID));

    const run = await runRendered(host, authorize());

    expect(run.exitCode).toBe(3);
    expect(run.report.error?.code).toBe("UnsafePath");
    expect(existsSync(target)).toBe(false);
  });

  test("a link planted as user_defined_id is never read into the report", async () => {
    const host = newHost();
    const secret = join(host.dir, "etc-ilogtail", "secret");
    writeFileSync(secret, "root-only-secret\n", { mode: 0o600 });
    symlinkSync(secret, join(host.dir, "etc-ilogtail", "user_defined_id"));

    const run = await runRendered(host, { action: "inspect" });

    expect(run.stdout).not.toContain("root-only-secret");
    expect(run.report.identifiers).toEqual([]);
  });

  test("eight runs at once on one host lose no line and leave no temporary file", async () => {
    const host = newHost({ userDefinedIdContent: "team-x\n" });
    const ids = Array.from({ length: 8 }, (_, i) => `route-${i}`);

    const runs = await Promise.all(ids.map((id) => runRendered(host, authorize(id))));

    expect(runs.map((run) => run.exitCode)).toEqual(ids.map(() => 0));
    const lines = (host.identifierFile() ?? "").split("\n").filter((line) => line !== "");
    expect(lines[0]).toBe("team-x");
    expect([...lines.slice(1)].sort()).toEqual([...ids].sort());
    expect(host.ilogtailTree()).toEqual([
      ".logtail-xacct-record",
      "user_defined_id",
      "users/",
      `users/${UID}`,
    ]);
    // Each run's own record survives the others: every identifier is remembered as added.
    const added = (host.record() ?? []).filter((line) => line.endsWith(" added"));
    expect(added.sort()).toEqual(ids.map((id) => `id:${id} added`).sort());
  });

  test.each<[HostShell]>([["dash"], ["bash"], ["busybox"]])("runs the same under %s", async (shell) => {
    const host = newHost({ userDefinedIdContent: "team-x\r\n" });

    const first = await runRendered(host, authorize(), shell);
    const second = await runRendered(host, authorize(), shell);
    const third = await runRendered(host, revoke(), shell);

    expect([first.exitCode, second.exitCode, third.exitCode]).toEqual([0, 0, 0]);
    expect(first.report.changed).toEqual({ uidFile: true, identifiers: true });
    expect(second.report.changed).toEqual({ uidFile: false, identifiers: false });
    expect(host.identifierFile()).toBe("team-x\r\n");
    expect(host.uidFiles()).toEqual([]);
  });
});

describeRequiring(
  bwrapRequirement(),
  "linux.sh in a bubblewrap sandbox (the path for users who are not root)",
  () => {
    test("authorize, repeat and revoke behave the same, and the real /etc/ilogtail is untouched", async () => {
      const realIlogtailBefore = existsSync("/etc/ilogtail");
      const host = newHost({ userDefinedIdContent: "team-x\n", uidFiles: [OTHER_UID] });

      const first = await runRendered(host, authorize(), "sh", "bwrap");
      const second = await runRendered(host, authorize(), "sh", "bwrap");
      expect(host.identifierFile()).toBe(`team-x\n${ID}\n`);
      const third = await runRendered(host, revoke(), "sh", "bwrap");

      expect([first.exitCode, second.exitCode, third.exitCode]).toEqual([0, 0, 0]);
      expect(first.report.agent).toMatchObject({ flavor: "ilogtail", restarted: true, running: true });
      expect(first.report.host?.dmiUuid).toBe(DMI_UUID);
      expect(second.report.changed).toEqual({ uidFile: false, identifiers: false });
      expect(host.identifierFile()).toBe("team-x\n");
      expect(host.uidFiles()).toEqual([OTHER_UID]);
      expect(existsSync("/etc/ilogtail")).toBe(realIlogtailBefore);
    });
  },
);

describeRequiring(sandboxRequirement(), "linux.sh refuses bad arguments by itself", () => {
  const canary = join(tmpdir(), `ltx-canary-${process.pid}`);
  const hostile: Array<[string, string]> = [
    ["semicolon", "abc;touch CANARY"],
    ["command substitution", "$(touch CANARY)"],
    ["backticks", "`touch CANARY`"],
    ["newline", "abc\ntouch CANARY"],
    ["carriage return", "abc\r"],
    ["path traversal", "../../etc/passwd"],
    ["single quote", "abc'def"],
    ["double quote", 'abc"def'],
    ["space", "abc def"],
    ["leading dash", "-abc"],
    ["very long", "a".repeat(129)],
    ["non-ASCII", "abcé"],
    ["unicode look-alike", "аbc"],
    ["empty", ""],
    ["glob", "*"],
    ["pipe", "abc|touch CANARY"],
    ["ampersand", "abc&touch CANARY"],
    ["redirect", "abc>CANARY"],
  ];

  beforeEach(() => rmSync(canary, { force: true }));

  function expectRefused(host: HostRoot, result: SandboxResult, treeBefore: string[]): void {
    expect(result.exitCode).toBe(2);
    expect(host.ilogtailTree()).toEqual(treeBefore);
    expect(host.agentEvents().filter((event) => event !== "status")).toEqual([]);
    expect(existsSync(canary)).toBe(false);
    const report = parseHostReport(result.stdout);
    expect(report.ok && report.report.error?.code).toBe("InvalidArgument");
  }

  test.each(hostile)("--id with %s: exit 2, nothing written", async (_name, value) => {
    const host = newHost({ userDefinedIdContent: "team-x\n" });
    const treeBefore = host.ilogtailTree();

    const result = await runByHand(host, [
      "authorize",
      "--uid",
      UID,
      "--id",
      value.replaceAll("CANARY", canary),
    ]);

    expectRefused(host, result, treeBefore);
    expect(result.stdout + result.stderr).not.toContain(canary);
  });

  test.each([
    ...hostile,
    ["15 digits", "120000000000045"],
    ["17 digits", "12000000000004567"],
    ["a sign", "+200000000000456"],
    ["a 16-digit UID with a trailing newline", "1200000000000456\n"],
  ])("--uid with %s: exit 2, nothing written", async (_name, value) => {
    const host = newHost();
    const treeBefore = host.ilogtailTree();

    const result = await runByHand(host, [
      "authorize",
      "--uid",
      value.replaceAll("CANARY", canary),
      "--id",
      ID,
    ]);

    expectRefused(host, result, treeBefore);
  });

  test.each(hostile)("--other-id with %s: exit 2, nothing written", async (_name, value) => {
    const host = newHost({ userDefinedIdContent: `${ID}\n`, uidFiles: [UID] });
    const treeBefore = host.ilogtailTree();

    const result = await runByHand(host, [
      "revoke",
      "--uid",
      UID,
      "--id",
      ID,
      "--other-id",
      value.replaceAll("CANARY", canary),
    ]);

    expectRefused(host, result, treeBefore);
  });

  test.each<[string, string[]]>([
    ["no action", []],
    ["unknown action", ["destroy"]],
    ["missing --uid", ["authorize", "--id", ID]],
    ["missing --id", ["authorize", "--uid", UID]],
    ["flag without value", ["authorize", "--uid", UID, "--id"]],
    ["repeated --id", ["authorize", "--uid", UID, "--id", ID, "--id", "other"]],
    ["unknown flag", ["authorize", "--uid", UID, "--id", ID, "--force"]],
    ["--other-id on authorize", ["authorize", "--uid", UID, "--id", ID, "--other-id", "x"]],
    ["inspect with --uid", ["inspect", "--uid", UID]],
    ["bad --restart", ["authorize", "--uid", UID, "--id", ID, "--restart", "sometimes"]],
  ])("%s: exit 2, nothing written", async (_name, args) => {
    const host = newHost();
    const treeBefore = host.ilogtailTree();

    const result = await runByHand(host, args);

    expectRefused(host, result, treeBefore);
  });

  test("--flag=value is accepted, and a hostile value in that form is refused the same way", async () => {
    const good = newHost();
    const bad = newHost();
    const treeBefore = bad.ilogtailTree();

    const accepted = await runByHand(good, ["authorize", `--uid=${UID}`, `--id=${ID}`]);
    const refused = await runByHand(bad, ["authorize", `--uid=${UID}`, `--id=$(touch ${canary})`]);

    expect(accepted.exitCode).toBe(0);
    expect(good.identifierFile()).toBe(`${ID}\n`);
    expectRefused(bad, refused, treeBefore);
  });

  test("by hand, valid arguments work the same as the rendered command", async () => {
    const host = newHost();

    const result = await runByHand(host, ["authorize", "--uid", UID, "--id", ID, "--restart", "never"]);

    expect(result.exitCode).toBe(0);
    expect(host.identifierFile()).toBe(`${ID}\n`);
    expect(host.agentEvents()).toEqual(["status"]);
  });
});

describeRequiring(commandRequirement("shellcheck"), "linux.sh under shellcheck", () => {
  test("the script file passes shellcheck as POSIX sh", () => {
    const result = spawnSync("shellcheck", ["-s", "sh", scriptFile], { encoding: "utf8" });
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  test("the rendered command passes shellcheck too", () => {
    const rendered = join(workDir, "rendered-for-shellcheck.sh");
    writeFileSync(rendered, renderHostScript("linux", revoke(ID, ["x-1", "x-2"]), scripts));
    const result = spawnSync("shellcheck", ["-s", "sh", rendered], { encoding: "utf8" });
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });
});
