/**
 * The simulated fleet: the emulator's fleet file extended with what only hosts and agents have
 * (agent flavor and state, network to SLS, lines already in `user_defined_id`), loaded into a
 * running emulator, with a sandboxed host per instance, Cloud Assistant wired to those hosts and an
 * agent per host heartbeating into the SLS emulator on the emulator's clock.
 */
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { EmulatorHandle } from "../../emulator/index";
import { accountSchema, createFleetSchema, instanceSchema } from "../../emulator/index";
import type { EtlServiceRestart } from "../../emulator/sls/backend";
import { CUSTOM_IDENTIFIER } from "../../shared/config/patterns";
import { AgentSimulator, type AgentSimulatorOptions } from "../agent/agentSimulator";
import { onDisk } from "../agent/hostPaths";
import {
  type CollectorEvents,
  DEFAULT_COLLECTOR_OPTIONS,
  LogCollector,
  type LogCollectorOptions,
} from "../agent/logCollector";
import { PutLogsClient } from "../agent/putLogsClient";
import { SimulatedCloudAssistant } from "./cloudAssistant";
import { accountKeys, slsConfigSource } from "./collectionWiring";
import { FleetCommandExecutor, slsHeartbeatSink } from "./fleetExecutor";
import { HostWriters, writerSchema, writersSchema } from "./hostWriters";
import { LineLedger } from "./lineLedger";
import { SimulatedHost } from "./simulatedHost";

/** Host and agent fields of a fleet instance; defaults make every host a healthy Logtail host. */
export const simulatedInstanceSchema = instanceSchema
  .extend({
    agent: z.enum(["ilogtail", "loongcollector", "none"]).default("ilogtail"),
    agentControl: z.enum(["initd", "systemd"]).default("initd"),
    agentRunning: z.boolean().default(true),
    /** `blocked`: no network from the agent to SLS, so it never heartbeats. */
    heartbeat: z.enum(["ok", "blocked"]).default("ok"),
    /** Lines already in `user_defined_id`, e.g. another team's identifiers. */
    userDefinedIds: z
      .array(z.string().regex(CUSTOM_IDENTIFIER, "an identifier line without spaces or control characters"))
      .optional(),
    /** Region of the SLS endpoint the agent was installed for; the instance's region by default. */
    slsRegion: z
      .string()
      .regex(/^[a-z]{2,}(-[a-z0-9]+)+$/)
      .optional(),
    /**
     * A slow host: emulated seconds before a command starts on it (a loaded server, slow delivery).
     * Cloud Assistant shows the command `Pending` meanwhile, as it does for a real slow host.
     */
    commandDelaySeconds: z.number().min(0).max(3_600).default(0),
    /**
     * `arm64`: an ARM instance (Yitian). Its Logtail does not read DMI, so the `machine-uniqueid`
     * it heartbeats with is not the serial number (what it is instead is unverified: here a UUID of
     * its own, also in its app_info.json).
     */
    arch: z.enum(["x86_64", "arm64"]).default("x86_64"),
    /** The UUID the agent heartbeats with, when it is not the serial number (any host, any arch). */
    agentUuid: z
      .string()
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "a lower-case UUID")
      .optional(),
    /**
     * The `host-id` the agent heartbeats with: LoongCollector reports the ECS instance id (its
     * code); what Logtail reports is unverified, none by default. Both can be set either way.
     */
    agentHostId: z.enum(["instance-id", "none"]).optional(),
    /** The agent's version; a 1.x Logtail collects with the conservative model (README "Collection"). */
    agentVersion: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/, "a version such as 1.8.7 or 2.1.1")
      .optional(),
    /** Files the host writes logs to (README "Host log writers"). */
    writers: writersSchema,
    /**
     * Log files that exist on the host and do not change (written a day before the run): a host
     * whose route finds only these is idle, not broken (README "Collecting means lines").
     */
    idleLogs: z.array(writerSchema.shape.path).max(20).default([]),
    /**
     * The agent process dies and its daemon starts it again every this many emulated seconds (first
     * after a share of the period that differs per host): it goes back to its last saved checkpoints
     * and reads again what it had read since (README "Collection"). Only agents that collect files
     * (hosts with `writers`) crash.
     */
    agentCrashEverySeconds: z.number().min(30).max(86_400).optional(),
    /**
     * `start` tags the host with its route only once the route's copy from its account has been cut:
     * a host onboarded after the cutover. It writes from the start like the others.
     */
    tagAfterCutover: z.boolean().default(false),
    /**
     * `start` takes the route's tag off the host once its source config has been retired (an
     * instance offboarded after the cutover): it must be revoked, and collected by its source again.
     */
    untagAfterRetire: z.boolean().default(false),
    /**
     * `start` restarts the host's agent once its route's copy from its account has been cut:
     * `clean` (a stop saves the checkpoints, unsent packs are sent after the start) or `crash`
     * (back to the last saved checkpoints, unsent packs lost). Once per host.
     */
    agentRestartAtCutover: z.enum(["clean", "crash"]).optional(),
  })
  .superRefine((instance, issues) => {
    if (instance.os === "windows" && instance.idleLogs.length > 0) {
      issues.addIssue({
        code: "custom",
        path: ["idleLogs"],
        message: "idle log files are under /var/log: a linux host only",
      });
    }
    if (instance.os === "windows" && instance.writers.length > 0) {
      issues.addIssue({
        code: "custom",
        path: ["writers"],
        message: "log writers write under /var/log: a linux host only",
      });
    }
  });

/** Account fields of the simulation: how late its config changes reach its agents. */
export const simulatedAccountSchema = accountSchema.extend({
  /**
   * Emulated seconds before a config change in this account's projects reaches an agent (the
   * collector's `configDelayMs`; Alibaba's delivery delay is unverified). Default: the collector's.
   */
  agentConfigDelaySeconds: z.number().min(0).max(3_600).optional(),
  /**
   * Share (0–0.5) of PutLogs calls signed by this account whose answer is lost after SLS stored the
   * lines: the agent sends the same pack again (same `__pack_id__`), so the lines are stored twice.
   */
  putLogsAnswerLoss: z.number().min(0).max(0.5).optional(),
  /**
   * The copy jobs of this account's projects are restarted by the service once, this long after
   * they start, if still copying. A consumer group is at-least-once; where the restart resumes is
   * unverified: `stop` (where the run was) or `lastSave` (its last periodic save: what it copied
   * since is copied again). `linesPerSecond` slows the copy so that the restart lands mid-copy.
   */
  copyJobRestart: z
    .strictObject({
      afterSeconds: z.number().int().min(1).max(86_400),
      resumesFrom: z.enum(["stop", "lastSave"]).default("lastSave"),
      linesPerSecond: z.number().int().min(1).max(1_000_000).optional(),
    })
    .optional(),
});

/** The emulator's fleet checks (duplicate accounts, fixed ids with count 1, …) apply as they are. */
export const simulatedFleetSchema = createFleetSchema(simulatedInstanceSchema, simulatedAccountSchema);

export type SimulatedFleetInput = z.input<typeof simulatedFleetSchema>;
export type SimulatedFleetSpec = z.output<typeof simulatedFleetSchema>;

export class FleetFileError extends Error {
  override name = "FleetFileError";
}

export function parseSimulatedFleet(document: unknown, source = "fleet"): SimulatedFleetSpec {
  const result = simulatedFleetSchema.safeParse(document);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
  throw new FleetFileError(`${source}: ${issues.join("; ")}`);
}

export function readSimulatedFleetFile(path: string): SimulatedFleetSpec {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(path, "utf8"));
  } catch (error) {
    throw new FleetFileError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseSimulatedFleet(document, path);
}

export interface SimulatedFleetOptions {
  /** Where hosts keep their private files. */
  workDir: string;
  agent?: Partial<AgentSimulatorOptions>;
  /** Commands running at once across the fleet. */
  maxConcurrentCommands?: number;
  /** Collection by the agents of hosts with writers (README "Collection"). */
  collection?: Partial<LogCollectorOptions>;
  /** Called for every pack PutLogs accepted (benchmarks measure delivery latency with it). */
  onDelivered?: NonNullable<CollectorEvents["delivered"]>;
  /** Emulated ms between two writes of the host writers. */
  writerTickMs?: number;
  /** Called after each command a host ran (tests watch what each run left on the host). */
  onCommandFinished?: (host: SimulatedHost) => void;
}

/** The fleet file's per-account config delays as the collector's option (none given: the default). */
function configDelays(fleet: SimulatedFleetSpec): Partial<LogCollectorOptions> {
  const delays = new Map<string, number>();
  for (const account of fleet.accounts) {
    if (account.agentConfigDelaySeconds !== undefined)
      delays.set(account.id, account.agentConfigDelaySeconds * 1000);
  }
  if (delays.size === 0) return {};
  const fallback = DEFAULT_COLLECTOR_OPTIONS.configDelayMs;
  return { configDelayMs: (accountId) => delays.get(accountId) ?? fallback(accountId) };
}

/** The fleet file's copy-job restarts as the SLS emulator's option, by account id. */
function copyJobRestarts(fleet: SimulatedFleetSpec, tickMs: number): Record<string, EtlServiceRestart> {
  const restarts: Record<string, EtlServiceRestart> = {};
  for (const { id, copyJobRestart } of fleet.accounts) {
    if (copyJobRestart === undefined) continue;
    const { afterSeconds, resumesFrom, linesPerSecond } = copyJobRestart;
    restarts[id] = {
      afterMs: afterSeconds * 1000,
      resumesFrom,
      ...(linesPerSecond === undefined
        ? {}
        : { linesPerTick: Math.max(1, Math.round((linesPerSecond * tickMs) / 1000)) }),
    };
  }
  return restarts;
}

export const DEFAULT_AGENT_OPTIONS: AgentSimulatorOptions = {
  heartbeatPeriodMs: 10_000,
  refreshIntervalMs: 60_000,
};

export interface SimulatedFleet {
  hosts: ReadonlyMap<string, SimulatedHost>;
  agents: AgentSimulator;
  /** The hosts' log writers and the ledger of every line they wrote. */
  writers: HostWriters;
  ledger: LineLedger;
  /** The agents' file collection (hosts with writers). */
  collector: LogCollector;
  /** Resolves once the collection tick due by now has run and its sends have finished. */
  settleCollection(): Promise<void>;
  host(instanceId: string): SimulatedHost | undefined;
  /** Stops or starts a host's agent (the heartbeat drops out after SLS's staleness window). */
  setAgentRunning(instanceId: string, running: boolean): void;
  stop(): void;
}

/** Loads the fleet into the emulator and brings its hosts and agents to life. */
export async function startSimulatedFleet(
  emulator: EmulatorHandle,
  fleet: SimulatedFleetSpec,
  options: SimulatedFleetOptions,
): Promise<SimulatedFleet> {
  const loaded = await emulator.loadFleet({
    accounts: fleet.accounts.map(
      ({ agentConfigDelaySeconds: _d, putLogsAnswerLoss: _p, copyJobRestart: _c, ...account }) => account,
    ),
    projects: fleet.projects,
    instances: fleet.instances.map(
      ({
        agent: _a,
        agentControl: _c,
        agentRunning: _r,
        heartbeat: _h,
        userDefinedIds: _u,
        slsRegion: _s,
        commandDelaySeconds: _d,
        agentVersion: _v,
        arch: _arch,
        agentUuid: _uuid,
        agentHostId: _hostId,
        writers: _w,
        idleLogs: _l,
        agentCrashEverySeconds: _x,
        tagAfterCutover: _t,
        untagAfterRetire: _o,
        agentRestartAtCutover: _restart,
        ...ecs
      }) => ecs,
    ),
  });
  emulator.sls.configure({ etlServiceRestarts: copyJobRestarts(fleet, emulator.sls.settings.etlTickMs) });
  for (const account of fleet.accounts) {
    if (account.putLogsAnswerLoss !== undefined && account.putLogsAnswerLoss > 0)
      emulator.addFault({
        service: "sls",
        operation: "PutLogs",
        accountId: account.id,
        lose: "response",
        errorRate: account.putLogsAnswerLoss,
      });
  }
  const hosts = new Map<string, SimulatedHost>();
  let next = 0;
  for (const spec of fleet.instances) {
    for (let copy = 0; copy < spec.count; copy += 1) {
      const instance = loaded.instances[next];
      next += 1;
      if (!instance) throw new FleetFileError("the emulator loaded fewer instances than the fleet lists");
      const id = instance.instanceId;
      hosts.set(
        id,
        new SimulatedHost(
          {
            instanceId: id,
            accountId: instance.accountId,
            region: instance.regionId,
            os: instance.osType,
            ip: instance.privateIpAddress,
            serialNumber: instance.serialNumber,
            cloudAssistant: spec.cloudAssistant,
            agent: spec.agent,
            agentControl: spec.agentControl,
            agentRunning: spec.agentRunning,
            heartbeat: spec.heartbeat,
            ...(spec.userDefinedIds ? { userDefinedIds: spec.userDefinedIds } : {}),
            ...(spec.slsRegion ? { slsRegion: spec.slsRegion } : {}),
            commandDelaySeconds: spec.commandDelaySeconds,
            ...(spec.agentVersion ? { agentVersion: spec.agentVersion } : {}),
            arch: spec.arch,
            ...(spec.agentUuid ? { agentUuid: spec.agentUuid } : {}),
            ...(spec.agentHostId ? { agentHostId: spec.agentHostId } : {}),
            logFiles: [...spec.writers.map((writer) => writer.path), ...spec.idleLogs],
            ...(spec.tagAfterCutover ? { tagAfterCutover: true } : {}),
            ...(spec.untagAfterRetire ? { untagAfterRetire: true } : {}),
            ...(spec.agentRestartAtCutover ? { agentRestartAtCutover: spec.agentRestartAtCutover } : {}),
          },
          join(options.workDir, id),
          () => emulator.ecs.getInstance(id)?.status ?? "Released",
          () => emulator.ecs.getInstance(id)?.cloudAssistantOnline ?? false,
        ),
      );
    }
  }

  const clock = emulator.core.clock;
  {
    let index = 0;
    const dayBefore = clock.now() / 1000 - 86_400;
    for (const spec of fleet.instances) {
      for (let copy = 0; copy < spec.count; copy += 1) {
        const instance = loaded.instances[index];
        index += 1;
        const host = instance && hosts.get(instance.instanceId);
        if (host === undefined) continue;
        for (const path of spec.idleLogs) {
          const file = onDisk(host.hostDir(), path);
          if (file === undefined) continue;
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, "an old line, written before the run\n".repeat(10));
          utimesSync(file, dayBefore, dayBefore);
        }
      }
    }
  }
  const agentOptions = { ...DEFAULT_AGENT_OPTIONS, ...options.agent };
  const agents = new AgentSimulator(clock, slsHeartbeatSink(emulator.sls), agentOptions);
  for (const host of hosts.values()) agents.add(host);

  // Hosts write logs and their agents collect them (only hosts with writers have log files).
  const ledger = new LineLedger();
  const writers = new HostWriters(clock, ledger, options.writerTickMs);
  const putLogs = new PutLogsClient(emulator.port);
  const collector = new LogCollector(
    clock,
    {
      identity: (id) => agents.identity(id),
      configs: slsConfigSource(emulator.sls, () => clock.now()),
      keyOf: accountKeys(emulator.accounts),
      send: (target, body) => putLogs.send(target, body),
      events: {
        fate: (record) => ledger.recordFate(record),
        ...(options.onDelivered ? { delivered: options.onDelivered } : {}),
      },
    },
    { ...DEFAULT_COLLECTOR_OPTIONS, ...configDelays(fleet), ...options.collection },
  );
  const writerSpecs = new Map<string, SimulatedFleetSpec["instances"][number]["writers"]>();
  const crashEveryMs = new Map<string, number>();
  {
    let index = 0;
    for (const spec of fleet.instances) {
      for (let copy = 0; copy < spec.count; copy += 1) {
        const instance = loaded.instances[index];
        index += 1;
        if (instance !== undefined && spec.writers.length > 0)
          writerSpecs.set(instance.instanceId, spec.writers);
        if (instance !== undefined && spec.agentCrashEverySeconds !== undefined)
          crashEveryMs.set(instance.instanceId, spec.agentCrashEverySeconds * 1000);
      }
    }
  }
  const crashes = new AgentCrashes(clock.now());
  for (const [id, specs] of writerSpecs) {
    const host = hosts.get(id);
    if (host === undefined) continue;
    writers.add(id, host.hostDir(), specs);
    if (!host.installed()) continue;
    collector.add(host);
    const everyMs = crashEveryMs.get(id);
    if (everyMs !== undefined) crashes.plan(id, everyMs);
  }
  // One timer for both: the agent reads right after the writes of the same instant, as Logtail's
  // inotify-driven reader does (it reads on the modify event, not on a poll).
  // The work runs off the timer's callback (setImmediate): the emulator clock fires due timers
  // synchronously inside setTimeout/setTimer calls, and a callback that takes a while would make
  // other components' fresh timers due while their setTimer call is still on the stack.
  let stopped = false;
  let cancelCollection = (): void => undefined;
  let pendingCollection: Promise<void> = Promise.resolve();
  if (writerSpecs.size > 0) {
    const tickMs = Math.min(options.writerTickMs ?? 1_000, collector.tickMs);
    const collect = (): void => {
      cancelCollection = clock.setTimeout(tickMs, () => {
        pendingCollection = new Promise<void>((resolve) => {
          setImmediate(() => {
            if (!stopped) {
              writers.tick();
              // Agents crash while the hosts write: a crash after the writers stopped would ship
              // copies after the run's line count.
              if (writers.writing) for (const id of crashes.due(clock.now())) collector.crash(id);
              collector.tick();
              collect();
            }
            resolve();
          });
        });
      });
    };
    collector.tick();
    collect();
  }

  const assistant = new SimulatedCloudAssistant({
    workDir: join(options.workDir, ".cloud-assistant"),
    maxConcurrent: options.maxConcurrentCommands ?? 4,
    now: () => clock.now(),
    sleep: (ms) => new Promise<void>((resolve) => clock.setTimeout(ms, resolve)),
  });
  emulator.setCommandExecutor(
    new FleetCommandExecutor(
      {
        host: (id) => hosts.get(id),
        commandFinished: (id) => {
          agents.hostChanged(id);
          const host = hosts.get(id);
          if (host !== undefined) options.onCommandFinished?.(host);
        },
      },
      assistant,
    ),
  );

  // Agents tick on the emulator clock, so time scaling speeds heartbeats up with everything else.
  const tickEveryMs = Math.max(100, Math.floor(agentOptions.heartbeatPeriodMs / 10));
  let cancel = (): void => undefined;
  const schedule = (): void => {
    cancel = clock.setTimeout(tickEveryMs, () => {
      if (stopped) return;
      agents.tick();
      schedule();
    });
  };
  agents.tick();
  schedule();

  return {
    hosts,
    agents,
    writers,
    ledger,
    collector,
    settleCollection: async () => {
      await pendingCollection;
      await collector.settle();
    },
    host: (id) => hosts.get(id),
    setAgentRunning: (id, running) => {
      const host = hosts.get(id);
      if (!host) throw new FleetFileError(`no simulated host ${id}`);
      host.setAgentRunning(running);
      agents.hostChanged(id);
    },
    stop: () => {
      stopped = true;
      cancel();
      cancelCollection();
      writers.stop();
      collector.stop();
      putLogs.close();
      emulator.setCommandExecutor(undefined);
    },
  };
}

/** When each crashing agent dies next: every `everyMs`, the first after a share of it per host. */
class AgentCrashes {
  private readonly next = new Map<string, { at: number; everyMs: number }>();

  constructor(private readonly startedAt: number) {}

  plan(instanceId: string, everyMs: number): void {
    // Hosts crash at different moments of the period, as unrelated processes do: the golden
    // ratio's steps spread any number of hosts over it without repeating.
    const share = (this.next.size * 0.618_034 + 0.1) % 1 || 0.5;
    this.next.set(instanceId, { at: this.startedAt + everyMs * share, everyMs });
  }

  /** The agents whose crash is due by `now` (each at most once per call). */
  due(now: number): string[] {
    const crashing: string[] = [];
    for (const [id, plan] of this.next) {
      if (plan.at > now) continue;
      crashing.push(id);
      while (plan.at <= now) plan.at += plan.everyMs;
    }
    return crashing;
  }
}
