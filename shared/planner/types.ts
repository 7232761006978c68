/**
 * The planner's inputs and outputs. Observed state is what the cloud APIs said just now; the plan
 * is what to do about it. Messages built from actions carry identities only: every consumer
 * re-observes before it acts.
 */
import type { OperatingSystem } from "../config/routesSchema";
import type { ReasonCode, Stage } from "../domain/status";

export interface ObservedInstance {
  accountId: string;
  region: string;
  instanceId: string;
  os: OperatingSystem;
  /** ECS status: Running, Stopped, Starting, Stopping, Pending. */
  status: string;
  /** ECS SerialNumber: the SMBIOS UUID an x86 Logtail reports as machine-uniqueid. */
  serialNumber: string;
  tags: Readonly<Record<string, string>>;
  /**
   * Whether Cloud Assistant is online; absent when not observed (reconcile leaves it to authorize,
   * which checks it for exactly the instances it runs a command on).
   */
  cloudAssistantOnline?: boolean;
  /** Private IPs (what a machine group member reports): a source group's machines are matched by them. */
  privateIps?: readonly string[];
  /**
   * Route groups this instance was traced into although no tag lists it (both tags removed): its
   * host still carries those routes' identifiers (planner/groupMembers.ts).
   */
  tracedIn?: readonly string[];
}

/** A machine as `ListMachines` reports it. */
export interface ObservedMachine {
  machineUniqueId: string;
  /** One identifier, or several space-joined (unverified: kept tolerant). */
  userdefinedId: string;
  /** Unix seconds. */
  lastHeartbeatTime: number;
  ip: string;
  /** `host-id`: LoongCollector's ECS instance id ("" or absent when the agent gives none). */
  hostId?: string;
}

export interface ObservedGroup {
  exists: boolean;
  machines: readonly ObservedMachine[];
  /**
   * When the machines were listed (ms). Freshness is judged against this, not the end of a long
   * observation: retries and throttling pauses between the read and the end must not age them.
   */
  listedAt?: number;
  /** Config names applied to the group (GetAppliedConfigs). */
  appliedConfigs: readonly string[];
}

export interface ObservedSource {
  /** The source config is still bound to the source machine group (only observed when the route retires one). */
  retireBindingPresent?: boolean;
  /** The copy job recorded for this source, if any. */
  backfillJob?: { name: string; status: string };
  /** IPs of the source machine group's machines (when the group could be listed). */
  retireGroupIps?: readonly string[];
}

export interface ObservedRoute {
  logstoreExists: boolean;
  indexExists: boolean;
  groups: Partial<Record<OperatingSystem, ObservedGroup>>;
  /** The Logtail pipeline config exists in the destination project, per OS. */
  configExists: Partial<Record<OperatingSystem, boolean>>;
  /** Per source account UID. */
  sources: Readonly<Record<string, ObservedSource>>;
}

export interface Observed {
  /** Emulator or wall time, ms. */
  now: number;
  instances: readonly ObservedInstance[];
  /** Per route name; a route missing here is treated as having nothing yet. */
  routes: Readonly<Record<string, ObservedRoute>>;
  /**
   * Fresh members of a route's group that no instance of the route's source accounts accounts for:
   * strangers (a host that knows the destination UID and an identifier). Reported, never acted on.
   */
  strangers?: ReadonlyArray<{ route: string; os: OperatingSystem; machine: ObservedMachine }>;
}

export interface PlannerOptions {
  /** A heartbeat older than this is stale (the agent heartbeats about every 10 s). */
  heartbeatFreshSeconds: number;
}

export const DEFAULT_PLANNER_OPTIONS: PlannerOptions = { heartbeatFreshSeconds: 180 };

/** Route-level resources, named for logs and drift reports. */
export type RouteResource =
  | "logstore"
  | "index"
  | `machineGroup:${OperatingSystem}`
  | `config:${OperatingSystem}`
  | `binding:${OperatingSystem}`;

export type Action =
  | { type: "ensureRoute"; route: string; missing: RouteResource[] }
  | {
      type: "authorize";
      accountId: string;
      region: string;
      route: string;
      os: OperatingSystem;
      instanceIds: string[];
    }
  | {
      type: "revoke";
      accountId: string;
      region: string;
      /** Routes whose identifiers are to be removed (the host may hold any of them). */
      routes: string[];
      /** The instance leaves this tool (marked revoked once all are removed), not a re-tag's clean-up. */
      offboards: boolean;
      /** No heartbeat showed these routes: they are every route the host may carry (a precaution). */
      presumed: boolean;
      os: OperatingSystem;
      instanceIds: string[];
    }
  | { type: "awaitHeartbeat"; accountId: string; region: string; route: string; instanceIds: string[] }
  /** Heartbeating, not collecting yet: apply looks for their lines (and binds the config). */
  | { type: "checkDelivery"; accountId: string; region: string; route: string; instanceIds: string[] }
  | { type: "setStatus"; accountId: string; region: string; status: string; instanceIds: string[] }
  | { type: "retireSourceConfig"; route: string; sourceAccount: string }
  /** Bind the retired source config to its group again: a machine of the group is collected by nobody. */
  | { type: "restoreSourceConfig"; route: string; sourceAccount: string; uncollected: string[] }
  /**
   * Create the history copy. `byPosition`: the route hands over from the source config, and apply
   * cuts the copy only once both configs agree in every file (it reads the logstores: it may wait).
   */
  | { type: "createBackfill"; route: string; sourceAccount: string; byPosition?: boolean };

/**
 * A cutover step apply would not take now, and why: the same checks apply makes before it acts.
 * - `CopyNotCut`: a handover retires the source config only after the copy is cut (the source must
 *   keep reading until the copy's range is closed);
 * - `SourceGroupNotMigrated`: unbinding reaches every machine of the source group, and these
 *   machines (by IP) are not migrated hosts.
 */
export interface CutoverWait {
  route: string;
  sourceAccount: string;
  step: "retireSourceConfig";
  reason: "CopyNotCut" | "SourceGroupNotMigrated";
  /** For `SourceGroupNotMigrated`: the group's machines that are not migrated, by IP. */
  notMigrated?: string[];
}

/** Why an instance is where it is: what status and plan show per instance. */
export interface InstanceVerdict {
  accountId: string;
  region: string;
  instanceId: string;
  route?: string;
  stage: Stage;
  reason?: ReasonCode;
  /** The drift or refusal found, in words. */
  detail?: string;
}

export interface Plan {
  actions: Action[];
  verdicts: InstanceVerdict[];
  /** Cutover steps held back by apply's checks (what `plan` shows instead of an action). */
  waits: CutoverWait[];
}
