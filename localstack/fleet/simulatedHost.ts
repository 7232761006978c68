/**
 * One simulated ECS host: what Cloud Assistant needs to run a command on it and what its Logtail
 * agent needs to heartbeat. Its private files (a HostRoot) are created on first use, so a fleet of
 * 10,000 idle hosts costs no disk until a command reaches them.
 */
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentHost } from "../agent/agentSimulator";
import { type AgentControl, type AgentFlavor, HostRoot } from "../hostRoot";
import type { CommandHost } from "./cloudAssistant";

export interface SimulatedHostSpec {
  instanceId: string;
  accountId: string;
  region: string;
  os: "linux" | "windows";
  ip: string;
  /** The host's DMI UUID; ECS reports it as the instance's SerialNumber. */
  serialNumber: string;
  cloudAssistant: "online" | "offline";
  agent: AgentFlavor;
  agentControl?: AgentControl;
  agentRunning: boolean;
  /** `blocked`: the agent has no network to SLS and never heartbeats. */
  heartbeat: "ok" | "blocked";
  /** Lines already in `user_defined_id` (another team's identifiers). */
  userDefinedIds?: readonly string[];
  /** Region of the SLS endpoint the agent was installed for; the host's region by default. */
  slsRegion?: string;
  /** Emulated seconds before a command starts on this host (a slow host). */
  commandDelaySeconds?: number;
  /** The agent's version (`app_info.json`); below 2 the collector models a 1.x Logtail. */
  agentVersion?: string;
  /** `arm64`: its agent does not read DMI and heartbeats with a UUID of its own. */
  arch?: "x86_64" | "arm64";
  /** The UUID the agent heartbeats with, when not the serial number. */
  agentUuid?: string;
  /** Its agent's `host-id`: the instance id, or none; by default LoongCollector's is the instance id. */
  agentHostId?: "instance-id" | "none";
  /** The log files the host has: its writers' and its idle ones (paths under /var/log). */
  logFiles?: readonly string[];
  /** `start` tags it only once its route's copy is cut (a host onboarded after the cutover). */
  tagAfterCutover?: boolean;
  /** `start` untags it once its source config is retired (offboarded after the cutover). */
  untagAfterRetire?: boolean;
  /** `start` restarts its agent once its route's copy is cut: cleanly, or as a crash. */
  agentRestartAtCutover?: "clean" | "crash";
}

const RESTART_EVENTS = new Set(["start", "restart", "systemctl-restart"]);

/** A lower-case UUID derived from a text. */
function uuidFrom(text: string): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export class SimulatedHost implements CommandHost, AgentHost {
  private hostRoot: HostRoot | undefined;
  private networkBlocked: boolean;

  constructor(
    readonly spec: SimulatedHostSpec,
    private readonly dir: string,
    /** The instance's ECS status, owned by the ECS emulator. */
    private readonly statusOf: () => string,
    /** Cloud Assistant's state, owned by the ECS emulator (it can change at run time). */
    private readonly cloudAssistantOf: () => boolean = () => spec.cloudAssistant === "online",
  ) {
    this.networkBlocked = spec.heartbeat === "blocked";
  }

  get instanceId(): string {
    return this.spec.instanceId;
  }
  get os(): "linux" | "windows" {
    return this.spec.os;
  }
  get accountId(): string {
    return this.spec.accountId;
  }
  get slsRegion(): string {
    return this.spec.slsRegion ?? this.spec.region;
  }
  get ip(): string {
    return this.spec.ip;
  }
  /**
   * What the agent heartbeats with as `machine-uniqueid`: the DMI UUID (ECS's serial number) on
   * x86, a UUID of the agent's own on ARM (derived from the instance id, so runs repeat) or where
   * the fleet names one.
   */
  get machineUniqueId(): string {
    if (this.spec.agentUuid !== undefined) return this.spec.agentUuid;
    if (this.spec.arch === "arm64") return uuidFrom(`arm64 agent ${this.spec.instanceId}`);
    return this.spec.serialNumber;
  }
  /** SLS's `host-id`: LoongCollector's is the instance id; Logtail's none unless the fleet says. */
  get hostId(): string {
    const kind = this.spec.agentHostId ?? (this.spec.agent === "loongcollector" ? "instance-id" : "none");
    return kind === "instance-id" ? this.spec.instanceId : "";
  }
  get status(): string {
    return this.statusOf();
  }
  get commandDelayMs(): number {
    return (this.spec.commandDelaySeconds ?? 0) * 1000;
  }
  /** The fleet's `agentVersion`, else a current release of the flavor (2.x Logtail, 3.x LoongCollector). */
  get agentVersion(): string {
    return this.spec.agentVersion ?? (this.spec.agent === "loongcollector" ? "3.0.5" : "2.1.1");
  }
  /** The host's private directory, created on first use. */
  hostDir(): string {
    return this.root().dir;
  }
  get cloudAssistantOnline(): boolean {
    return this.cloudAssistantOf();
  }

  root(): HostRoot {
    if (!this.hostRoot) {
      this.hostRoot = HostRoot.create(this.dir, {
        dmiUuid: this.spec.serialNumber,
        agentRegion: this.slsRegion,
        agent: this.spec.agent,
        agentControl: this.spec.agentControl,
        agentRunning: this.spec.agentRunning,
        userDefinedIdContent: this.spec.userDefinedIds
          ? this.spec.userDefinedIds.map((line) => `${line}\n`).join("")
          : undefined,
        appInfo: {
          ip: this.spec.ip,
          hostname: this.spec.instanceId,
          version: this.agentVersion,
          uuid: this.machineUniqueId,
          hostId: this.hostId,
        },
      });
    }
    return this.hostRoot;
  }

  installed(): boolean {
    return this.spec.agent !== "none";
  }

  running(): boolean {
    return this.hostRoot ? this.hostRoot.agentRunning() : this.installed() && this.spec.agentRunning;
  }

  networkToSls(): boolean {
    return !this.networkBlocked;
  }

  identifierFile(): string | undefined {
    if (this.hostRoot) return this.hostRoot.identifierFile();
    return this.spec.userDefinedIds
      ? this.spec.userDefinedIds.map((line) => `${line}\n`).join("")
      : undefined;
  }

  uidFiles(): string[] {
    return this.hostRoot ? this.hostRoot.uidFiles() : [];
  }

  restartCount(): number {
    return this.hostRoot
      ? this.hostRoot.agentEvents().filter((event) => RESTART_EVENTS.has(event)).length
      : 0;
  }

  /** Stops or starts the agent as an operator (or a crash) would, without a restart record. */
  setAgentRunning(running: boolean): void {
    const flag = join(this.root().dir, "run", "ilogtail-sim", "running");
    if (running) writeFileSync(flag, "");
    else rmSync(flag, { force: true });
  }

  setNetworkToSls(ok: boolean): void {
    this.networkBlocked = !ok;
  }
}
