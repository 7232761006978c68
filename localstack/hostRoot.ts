/**
 * The private files of one simulated host: what its `/etc/ilogtail`, `/etc/init.d`,
 * `/usr/local/ilogtail`, `/run` and DMI UUID are inside the sandbox. The agent's init script (or
 * systemd unit) is a stand-in that records starts, stops and restarts and flips the running state,
 * so the real host script drives it exactly as it drives Logtail.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type AgentFlavor = "ilogtail" | "loongcollector" | "none";
export type AgentControl = "initd" | "systemd";

export interface HostSpec {
  /** The SMBIOS UUID the host reports (`/sys/class/dmi/id/product_uuid`). */
  dmiUuid: string;
  agent: AgentFlavor;
  /** How the agent is managed; init scripts by default. */
  agentControl?: AgentControl;
  agentRunning: boolean;
  /** The agent's restart command fails (a broken install). */
  restartFails?: boolean;
  /** Raw content of `user_defined_id` before any run (another team's lines, CRLF, …). */
  userDefinedIdContent?: string;
  /** UID files that already exist. */
  uidFiles?: readonly string[];
  /**
   * The region the agent was installed for: written to ilogtail_config.json as its data server
   * cluster and config server address (the layout of Alibaba's installer, unverified beyond them).
   */
  agentRegion?: string;
  /** app_info.json: `uuid` is what the agent heartbeats with (default: the DMI UUID), `hostId` its host-id. */
  appInfo?: { ip: string; hostname: string; version: string; uuid?: string; hostId?: string };
}

/** Where the stand-in agent keeps its state, inside the sandbox (the host's private /run). */
const AGENT_STATE_DIR = "/run/ilogtail-sim";

function serviceName(flavor: Exclude<AgentFlavor, "none">): string {
  return flavor === "ilogtail" ? "ilogtaild" : "loongcollectord";
}

function initScript(restartFails: boolean): string {
  return `#!/bin/sh
# Stand-in for the agent's init script: records what it was asked and flips the running state.
state=${AGENT_STATE_DIR}
mkdir -p "$state"
echo "$1" >>"$state/events"
# The descriptors the agent would inherit: a lock held open by its caller would live as long as it.
[ "$1" = restart ] && ls /proc/$$/fd >"$state/restart-fds" 2>/dev/null
case "$1" in
  start) : >"$state/running" ;;
  stop) rm -f "$state/running" ;;
  restart) ${restartFails ? 'rm -f "$state/running"; exit 1' : ': >"$state/running"'} ;;
  status) [ -e "$state/running" ] || exit 3 ;;
  *) exit 2 ;;
esac
exit 0
`;
}

function systemctlStandIn(unit: string, restartFails: boolean): string {
  return `#!/bin/sh
# Stand-in for systemctl that knows one unit, ${unit}.
state=${AGENT_STATE_DIR}
mkdir -p "$state"
verb=$1
shift
[ "\${1:-}" = --quiet ] && shift
[ "\${1:-}" = "${unit}" ] || exit 1
echo "systemctl-$verb" >>"$state/events"
case "$verb" in
  cat) exit 0 ;;
  is-active) [ -e "$state/running" ] || exit 3 ;;
  restart) ${restartFails ? 'rm -f "$state/running"; exit 1' : ': >"$state/running"'} ;;
  *) exit 1 ;;
esac
exit 0
`;
}

export class HostRoot {
  private constructor(readonly dir: string) {}

  static create(dir: string, spec: HostSpec): HostRoot {
    const host = new HostRoot(dir);
    // usr-local, sys and var-log are bound over the whole /usr/local, /sys and /var/log: one
    // mount each per run (var-log holds the files the host's writers write and its agent reads).
    for (const sub of [
      "etc-ilogtail",
      "etc-init.d",
      "usr-local/ilogtail",
      "usr-bin",
      "run",
      "sys/class/dmi/id",
      "var-log",
    ]) {
      mkdirSync(join(dir, sub), { recursive: true });
    }
    writeFileSync(join(dir, "sys/class/dmi/id/product_uuid"), `${spec.dmiUuid}\n`);
    if (spec.userDefinedIdContent !== undefined) {
      writeFileSync(join(dir, "etc-ilogtail", "user_defined_id"), spec.userDefinedIdContent);
    }
    if (spec.uidFiles && spec.uidFiles.length > 0) {
      mkdirSync(join(dir, "etc-ilogtail", "users"), { recursive: true });
      for (const uid of spec.uidFiles) writeFileSync(join(dir, "etc-ilogtail", "users", uid), "");
    }
    mkdirSync(join(dir, "run", "ilogtail-sim"), { recursive: true });
    if (spec.agent !== "none") {
      const service = serviceName(spec.agent);
      const restartFails = spec.restartFails ?? false;
      if ((spec.agentControl ?? "initd") === "initd") {
        const path = join(dir, "etc-init.d", service);
        writeFileSync(path, initScript(restartFails));
        chmodSync(path, 0o755);
      } else {
        mkdirSync(join(dir, "run", "systemd", "system"), { recursive: true });
        const path = join(dir, "usr-bin", "systemctl");
        writeFileSync(path, systemctlStandIn(`${service}.service`, restartFails));
        chmodSync(path, 0o755);
      }
      if (spec.agentRunning) writeFileSync(join(dir, "run", "ilogtail-sim", "running"), "");
      if (spec.agentRegion !== undefined) {
        const region = spec.agentRegion;
        writeFileSync(
          join(dir, "usr-local/ilogtail", "ilogtail_config.json"),
          `${JSON.stringify(
            {
              config_server_address: `http://logtail.${region}-intranet.log.aliyuncs.com`,
              data_server_list: [{ cluster: region, endpoint: `${region}-intranet.log.aliyuncs.com` }],
              cpu_usage_limit: 0.4,
              mem_usage_limit: 384,
            },
            null,
            4,
          )}\n`,
        );
      }
      const info = spec.appInfo;
      if (info) {
        const versionKey = spec.agent === "ilogtail" ? "logtail_version" : "loongcollector_version";
        writeFileSync(
          join(dir, "usr-local/ilogtail", "app_info.json"),
          `${JSON.stringify({ UUID: info.uuid ?? spec.dmiUuid, hostname: info.hostname, instance_id: "sim", ip: info.ip, [versionKey]: info.version, ...(info.hostId ? { host_id: info.hostId } : {}) }, null, 4)}\n`,
        );
      }
    }
    return host;
  }

  /** Raw content of the host's `/etc/ilogtail/user_defined_id`, or undefined when absent. */
  identifierFile(): string | undefined {
    const path = join(this.dir, "etc-ilogtail", "user_defined_id");
    return existsSync(path) ? readFileSync(path, "utf8") : undefined;
  }

  /** Lines of the host script's record of what it created (`.logtail-xacct-record`), or undefined. */
  record(): string[] | undefined {
    const path = join(this.dir, "etc-ilogtail", ".logtail-xacct-record");
    return existsSync(path)
      ? readFileSync(path, "utf8")
          .split("\n")
          .filter((line) => line !== "")
      : undefined;
  }

  /** Names in `/etc/ilogtail/users/`, sorted. */
  uidFiles(): string[] {
    const path = join(this.dir, "etc-ilogtail", "users");
    return existsSync(path) ? readdirSync(path).sort() : [];
  }

  /** Every name under the host's `/etc/ilogtail`, recursively (to prove nothing else was left behind). */
  ilogtailTree(): string[] {
    const root = join(this.dir, "etc-ilogtail");
    const walk = (dir: string, prefix: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const name = `${prefix}${entry.name}`;
        return entry.isDirectory() ? [`${name}/`, ...walk(join(dir, entry.name), `${name}/`)] : [name];
      });
    return walk(root, "").sort();
  }

  /** What the agent's init script or systemctl stand-in was asked, in order. */
  agentEvents(): string[] {
    const path = join(this.dir, "run", "ilogtail-sim", "events");
    return existsSync(path)
      ? readFileSync(path, "utf8")
          .split("\n")
          .filter((line) => line !== "")
      : [];
  }

  /** The descriptors the agent's init script had open at its last restart (from /proc). */
  restartDescriptors(): string[] | undefined {
    const path = join(this.dir, "run", "ilogtail-sim", "restart-fds");
    return existsSync(path)
      ? readFileSync(path, "utf8")
          .split("\n")
          .filter((fd) => fd !== "")
      : undefined;
  }

  agentRunning(): boolean {
    return existsSync(join(this.dir, "run", "ilogtail-sim", "running"));
  }
}
