/**
 * Runs a host script on a simulated host: the real script, executed by the real `sh`, inside a
 * private mount namespace where `/etc/ilogtail`, `/etc/init.d`, `/usr/local/ilogtail`, `/run` and
 * `/sys/class/dmi/id` are the host's own directories. Nothing the script does can reach the
 * machine's real Logtail files, init scripts or service manager.
 *
 * Two mechanisms: `unshare` (util-linux) when running as root, bubblewrap otherwise. Where neither
 * works the sandbox says so and refuses, rather than running a script against the real machine.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HostRoot } from "./hostRoot";

export type SandboxKind = "unshare" | "bwrap";

/** Shells a Linux host may have as /bin/sh: dash (Debian, Ubuntu), bash (RHEL, Alibaba Cloud Linux), busybox ash (Alpine). */
export type HostShell = "sh" | "dash" | "bash" | "busybox";

const SHELL_COMMAND: Record<HostShell, string[]> = {
  sh: ["sh"],
  dash: ["dash"],
  bash: ["bash", "--posix"],
  busybox: ["busybox", "sh"],
};

export type SandboxAvailability =
  | { available: true; kind: SandboxKind }
  | { available: false; reason: string };

export class SandboxUnavailableError extends Error {
  constructor(reason: string) {
    super(`no sandbox to run host scripts in: ${reason}`);
    this.name = "SandboxUnavailableError";
  }
}

export interface SandboxRun {
  host: HostRoot;
  /** Path of the script file to run with `sh` (the exact content that was sent). */
  scriptPath: string;
  args: readonly string[];
  timeoutMs: number;
  /** The shell that runs the script: `sh` (the host's /bin/sh), or another POSIX shell to prove portability. */
  shell?: HostShell;
  /** Stdout and stderr as one stream in `stdout`, in the order written (as Cloud Assistant reports). */
  mergeOutput?: boolean;
  /** Use this mechanism instead of the one detected (tests of the bubblewrap path as root). */
  kind?: SandboxKind;
  /** Cap on captured output per stream; Cloud Assistant itself truncates past 24 KB. */
  maxOutputBytes?: number;
}

export interface SandboxResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** Bytes written to stdout in all, including what was not kept. */
  stdoutBytes: number;
}

/** The environment a Cloud Assistant command gets: none of ours (no keys) leaks into a host. */
const HOST_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C" };

let cachedAvailability: SandboxAvailability | undefined;

/** Probes (once) which sandbox works on this machine by really entering one. */
export function detectSandbox(): SandboxAvailability {
  if (cachedAvailability) return cachedAvailability;
  const reasons: string[] = [];
  if (process.getuid?.() === 0) {
    const probe = spawnSync(
      "unshare",
      ["--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /mnt && echo ok"],
      { encoding: "utf8", timeout: 10_000 },
    );
    if (probe.status === 0 && probe.stdout.trim() === "ok") {
      cachedAvailability = { available: true, kind: "unshare" };
      return cachedAvailability;
    }
    reasons.push(`unshare: ${(probe.error?.message ?? probe.stderr.trim()) || `exit ${probe.status}`}`);
  } else {
    reasons.push("unshare needs root");
  }
  const bwrap = spawnSync("bwrap", ["--dev-bind", "/", "/", "--tmpfs", "/mnt", "true"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (bwrap.status === 0) {
    cachedAvailability = { available: true, kind: "bwrap" };
    return cachedAvailability;
  }
  reasons.push(`bwrap: ${(bwrap.error?.message ?? bwrap.stderr.trim()) || `exit ${bwrap.status}`}`);
  cachedAvailability = { available: false, reason: reasons.join("; ") };
  return cachedAvailability;
}

/**
 * Mount setup for unshare, run by root inside the new mount namespace. /etc gets a throwaway overlay
 * so mount points can be created without touching the real directory, and the host's own
 * directories are bound on top; /usr/local, /run and /sys are replaced whole by the host's; /usr/bin
 * gets an overlay only when the host has a stand-in command (systemctl). Paths arrive as
 * environment variables and are always quoted.
 */
const UNSHARE_SETUP = `set -e
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$LTX_SCRATCH/etc-upper,workdir=$LTX_SCRATCH/etc-work" /etc
mkdir -p /etc/ilogtail /etc/init.d
mount --bind "$LTX_HOST/etc-ilogtail" /etc/ilogtail
mount --bind "$LTX_HOST/etc-init.d" /etc/init.d
mount --bind "$LTX_HOST/usr-local" /usr/local
mount --bind "$LTX_HOST/run" /run
mount --bind "$LTX_HOST/sys" /sys
mount --bind "$LTX_HOST/var-log" /var/log
if [ -n "$LTX_BIN_OVERLAY" ]; then
  mount -t overlay overlay -o "lowerdir=/usr/bin,upperdir=$LTX_SCRATCH/bin-upper,workdir=$LTX_SCRATCH/bin-work" /usr/bin
fi
unset LTX_HOST LTX_SCRATCH LTX_BIN_OVERLAY
cd /
exec "$@"
`;

/** Per-run overlay directories (an overlay's work dir cannot be shared by concurrent mounts). */
function scratchDirs(standIns: readonly string[], host: HostRoot): string {
  const scratch = mkdtempSync(join(tmpdir(), "ltx-sandbox-"));
  const dirs =
    standIns.length > 0 ? ["etc-upper", "etc-work", "bin-upper", "bin-work"] : ["etc-upper", "etc-work"];
  for (const dir of dirs) mkdirSync(join(scratch, dir));
  for (const entry of standIns)
    copyFileSync(join(host.dir, "usr-bin", entry), join(scratch, "bin-upper", entry));
  return scratch;
}

/**
 * bubblewrap has no overlay in Debian 12's 0.8: /etc (and /usr/bin, when the host has a stand-in
 * command there) becomes a tmpfs with every real entry bound back, so mount points can be made.
 */
function bwrapArgs(run: SandboxRun, shell: readonly string[]): string[] {
  const args = ["--die-with-parent", "--unshare-pid", "--dev-bind", "/", "/"];
  const hostBin = join(run.host.dir, "usr-bin");
  const standIns = readdirSync(hostBin);
  for (const dir of standIns.length > 0 ? ["/etc", "/usr/bin"] : ["/etc"]) {
    args.push("--tmpfs", dir);
    for (const entry of readdirSync(dir)) {
      if (dir === "/etc" && (entry === "ilogtail" || entry === "init.d")) continue;
      if (dir === "/usr/bin" && standIns.includes(entry)) continue;
      args.push("--dev-bind", join(dir, entry), join(dir, entry));
    }
  }
  for (const entry of standIns) args.push("--ro-bind", join(hostBin, entry), join("/usr/bin", entry));
  args.push(
    "--bind",
    join(run.host.dir, "etc-ilogtail"),
    "/etc/ilogtail",
    "--bind",
    join(run.host.dir, "etc-init.d"),
    "/etc/init.d",
    "--bind",
    join(run.host.dir, "usr-local"),
    "/usr/local",
    "--bind",
    join(run.host.dir, "run"),
    "/run",
    "--bind",
    join(run.host.dir, "sys"),
    "/sys",
    "--bind",
    join(run.host.dir, "var-log"),
    "/var/log",
    "--chdir",
    "/",
    ...shell,
    run.scriptPath,
    ...run.args,
  );
  return args;
}

/** Runs the script on the host; resolves with its exit, never rejects for a non-zero exit. */
export function runInSandbox(run: SandboxRun): Promise<SandboxResult> {
  const availability = detectSandbox();
  if (!availability.available) return Promise.reject(new SandboxUnavailableError(availability.reason));
  const maxBytes = run.maxOutputBytes ?? 64 * 1024;
  // Merged output: both streams go to one pipe inside the sandbox, so lines keep the order written.
  const shell = [
    ...(run.mergeOutput ? ["sh", "-c", 'exec "$@" 2>&1', "ltx-merge"] : []),
    ...SHELL_COMMAND[run.shell ?? "sh"],
  ];
  let scratch: string | undefined;
  let command: string;
  let args: string[];
  const env: Record<string, string> = { ...HOST_ENV };
  const kind = run.kind ?? availability.kind;
  if (kind === "unshare") {
    const standIns = readdirSync(join(run.host.dir, "usr-bin"));
    scratch = scratchDirs(standIns, run.host);
    if (standIns.length > 0) env.LTX_BIN_OVERLAY = "1";
    command = "unshare";
    args = [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      UNSHARE_SETUP,
      "ltx-setup",
      ...shell,
      run.scriptPath,
      ...run.args,
    ];
    env.LTX_HOST = run.host.dir;
    env.LTX_SCRATCH = scratch;
  } else {
    command = "bwrap";
    args = bwrapArgs(run, shell);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      if (stdoutBytes < maxBytes) stdout.push(chunk);
      stdoutBytes += chunk.length;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderrBytes < maxBytes) stderr.push(chunk);
      stderrBytes += chunk.length;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole process group: the script and anything it started.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      }
    }, run.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      reject(error);
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      resolve({
        exitCode,
        signal,
        timedOut,
        stdout: Buffer.concat(stdout).subarray(0, maxBytes).toString("utf8"),
        stderr: Buffer.concat(stderr).subarray(0, maxBytes).toString("utf8"),
        stdoutBytes,
      });
    });
  });
}
