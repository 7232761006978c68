/**
 * What the pipeline's steps act with, as one type, built by one function: the functions (per
 * invocation), the CLI (per command) and the tests (per kit) call `buildStepDeps` with their own
 * adapters, clock and log, and every use case takes the part of it it needs.
 */
import type { RoutesFile } from "../config/routesSchema";
import type { HostScripts } from "../hostscript/hostCommand";
import { deadLetterBody } from "../messages/deadLetters";
import type { DeadLetterEntry, DeadLetterSink } from "../ports/deadLetter";
import type { AccountRegion, EcsPort } from "../ports/ecs";
import type { DataNetwork } from "../ports/endpoints";
import type { StepLog } from "../ports/log";
import type { QueuePort } from "../ports/queue";
import type { SlsPort, SlsScope } from "../ports/sls";
import type { SnapshotStore } from "../ports/snapshots";

export interface StepDeps {
  config: RoutesFile;
  ecs(scope: AccountRegion): EcsPort;
  sls(scope: SlsScope): SlsPort;
  queue: QueuePort;
  heartbeatQueue: string;
  applyQueue: string;
  /** Reconcile's shards (one message per source account and period). */
  reconcileQueue: string;
  deadLetter: DeadLetterSink;
  scripts: HostScripts;
  /** The SLS endpoint agents and copy jobs write to, for a region. */
  slsDataEndpoint(region: string, network?: DataNetwork): string;
  /** Milliseconds: the wall clock on Alibaba Cloud, the emulator's on the local stack. */
  now(): number;
  /** Waits on the same clock as `now`. */
  sleep(ms: number): Promise<void>;
  /** When this run must be done waiting (ms on `now`'s clock); absent or undefined: no limit known. */
  deadline?(): number | undefined;
  log: StepLog;
  /**
   * The hub's store of shared observations (machine group listings): absent, every reader lists
   * the groups itself (the CLI, a deployment without the bucket).
   */
  snapshots?: SnapshotStore;
  /** First wait for a host command's result, then twice as long per look (ms). */
  resultPollMs?: number;
  /** Give up waiting for a command's result after this long (ms): left to a later look. */
  resultWaitMs?: number;
  /** A heartbeat older than this is stale (s). */
  freshSeconds?: number;
  /** Heartbeat receive rounds per run (16 messages each). */
  maxRounds?: number;
}

export interface StepParts {
  config: RoutesFile;
  adapters: {
    ecs(scope: AccountRegion): EcsPort;
    sls(scope: SlsScope): SlsPort;
    queue(): QueuePort;
    snapshots?(): SnapshotStore;
  };
  queues: { heartbeat: string; apply: string; reconcile: string; deadLetter: string };
  scripts: HostScripts;
  slsDataEndpoint(region: string, network?: DataNetwork): string;
  clock: { now(): number; sleep(ms: number): Promise<void>; deadline?(): number | undefined };
  log: StepLog;
  /** Who puts a dead letter (a function's name, `cli`, `test`): said in the record. */
  origin: string;
  /** Told after a dead letter is sent (the functions log a line with the queue). */
  onDeadLetter?(entry: DeadLetterEntry, queue: string): void;
  tuning?: Pick<StepDeps, "resultPollMs" | "resultWaitMs" | "freshSeconds" | "maxRounds">;
}

export function buildStepDeps(parts: StepParts): StepDeps {
  const { adapters, clock, queues } = parts;
  const queue = adapters.queue();
  return {
    config: parts.config,
    ecs: (scope) => adapters.ecs(scope),
    sls: (scope) => adapters.sls(scope),
    queue,
    heartbeatQueue: queues.heartbeat,
    applyQueue: queues.apply,
    reconcileQueue: queues.reconcile,
    deadLetter: async (entry) => {
      await queue.send(queues.deadLetter, [
        deadLetterBody({ ...entry, function: parts.origin, at: clock.now() }),
      ]);
      parts.onDeadLetter?.(entry, queues.deadLetter);
    },
    scripts: parts.scripts,
    slsDataEndpoint: (region, network) => parts.slsDataEndpoint(region, network),
    now: () => clock.now(),
    sleep: (ms) => clock.sleep(ms),
    ...(clock.deadline ? { deadline: () => clock.deadline?.() } : {}),
    log: parts.log,
    ...(adapters.snapshots ? { snapshots: adapters.snapshots() } : {}),
    ...parts.tuning,
  };
}
