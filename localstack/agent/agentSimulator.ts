/**
 * Simulated Logtail agents: each host's agent reads its identity files the way the real agent does,
 * picks changes up within a refresh interval (at once after a restart), and heartbeats on a period
 * into SLS — where the host then appears in `ListMachines` of every custom-identifier machine group
 * whose identifier it carries, in projects owned by its own account or by an account whose UID
 * file it holds. A stopped agent, or one whose network to SLS is blocked, stops heartbeating and
 * drops out once SLS's staleness window passes.
 *
 * Cost matters (10,000 idle agents under 10% of one core): files are read only at refresh time or
 * when the host reports a change, and a heartbeat is one call into the sink.
 */
import type { Clock } from "../../emulator/core/types";
import { accountsFromUidFiles, identifiersFromFile } from "./agentRules";

/** What one heartbeat says, as SLS receives it. */
export interface Heartbeat {
  /** The region of the SLS endpoint the agent talks to. */
  region: string;
  /** Accounts whose projects may list the machine: the host's own and every UID file's. */
  accountIds: string[];
  identifiers: string[];
  ip: string;
  /** The host's DMI UUID, reported by SLS as `machine-uniqueid`. */
  machineUniqueId: string;
  hostId: string;
  /** Emulator time, ms. */
  at: number;
}

/** Where heartbeats go: the SLS emulator's backend. */
export interface HeartbeatSink {
  heartbeat(beat: Heartbeat): void;
}

/** The part of a simulated host the agent needs: its identity, files and agent state. */
export interface AgentHost {
  instanceId: string;
  accountId: string;
  /** Region of the SLS endpoint the agent was installed for (usually the host's own). */
  slsRegion: string;
  ip: string;
  machineUniqueId: string;
  hostId: string;
  /** False when no agent is installed. */
  installed(): boolean;
  running(): boolean;
  networkToSls(): boolean;
  /** Raw `user_defined_id` content, or undefined. */
  identifierFile(): string | undefined;
  uidFiles(): string[];
  /** How many times the agent was (re)started so far: a change means "re-read now". */
  restartCount(): number;
}

export interface AgentSimulatorOptions {
  heartbeatPeriodMs: number;
  /** How long a file change may go unnoticed without a restart (the real agent: about a minute). */
  refreshIntervalMs: number;
}

interface AgentState {
  host: AgentHost;
  identifiers: string[];
  accountIds: string[];
  running: boolean;
  restarts: number;
  nextHeartbeatAt: number;
  nextRefreshAt: number;
}

export class AgentSimulator {
  private readonly agents = new Map<string, AgentState>();
  private heartbeatsSent = 0;

  constructor(
    private readonly clock: Clock,
    private readonly sink: HeartbeatSink,
    private readonly options: AgentSimulatorOptions,
  ) {}

  /** Starts simulating a host's agent. Heartbeats are spread over one period so they do not all land at once. */
  add(host: AgentHost): void {
    const now = this.clock.now();
    const state: AgentState = {
      host,
      identifiers: [],
      accountIds: [],
      running: false,
      restarts: -1,
      nextHeartbeatAt: now + (hashOf(host.instanceId) % this.options.heartbeatPeriodMs),
      nextRefreshAt: now,
    };
    this.refresh(state, now);
    this.agents.set(host.instanceId, state);
  }

  remove(instanceId: string): void {
    this.agents.delete(instanceId);
  }

  /**
   * The host's files or agent may have changed (a command ran, the agent was stopped): a restart is
   * noticed at once, a plain file change at the next refresh, as with the real agent.
   */
  hostChanged(instanceId: string): void {
    const state = this.agents.get(instanceId);
    if (!state) return;
    const now = this.clock.now();
    state.running = state.host.installed() && state.host.running();
    if (state.host.restartCount() !== state.restarts) this.refresh(state, now);
  }

  /** Sends every heartbeat that is due by now; returns how many were sent. */
  tick(): number {
    const now = this.clock.now();
    let sent = 0;
    for (const state of this.agents.values()) {
      if (now >= state.nextRefreshAt) this.refresh(state, now);
      if (now < state.nextHeartbeatAt) continue;
      // Catch up without sending a burst for every missed period.
      const periods = Math.floor((now - state.nextHeartbeatAt) / this.options.heartbeatPeriodMs) + 1;
      state.nextHeartbeatAt += periods * this.options.heartbeatPeriodMs;
      if (!state.running || !state.host.networkToSls()) continue;
      this.sink.heartbeat({
        region: state.host.slsRegion,
        accountIds: state.accountIds,
        identifiers: state.identifiers,
        ip: state.host.ip,
        machineUniqueId: state.host.machineUniqueId,
        hostId: state.host.hostId,
        at: now,
      });
      sent += 1;
    }
    this.heartbeatsSent += sent;
    return sent;
  }

  /** What the agent knows of itself now (the collector reads it); undefined for a host not simulated. */
  identity(
    instanceId: string,
  ): { running: boolean; accountIds: string[]; identifiers: string[] } | undefined {
    const state = this.agents.get(instanceId);
    if (state === undefined) return undefined;
    return { running: state.running, accountIds: state.accountIds, identifiers: state.identifiers };
  }

  /** Counters for benchmarks and tests. */
  stats(): { agents: number; heartbeatsSent: number } {
    return { agents: this.agents.size, heartbeatsSent: this.heartbeatsSent };
  }

  private refresh(state: AgentState, now: number): void {
    const { host } = state;
    state.running = host.installed() && host.running();
    state.restarts = host.restartCount();
    state.identifiers = identifiersFromFile(host.identifierFile());
    state.accountIds = [...new Set([host.accountId, ...accountsFromUidFiles(host.uidFiles())])].sort();
    state.nextRefreshAt = now + this.options.refreshIntervalMs;
  }
}

/** A stable spread of start offsets (FNV-1a), so runs are reproducible. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
