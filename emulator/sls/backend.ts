import { type AccessRequest, evaluateAccess, type PolicyDocument } from "../core/ram";
import type { Clock } from "../core/types";
import { slsErrors } from "./errors";
import { EtlCopyRun, type EtlEndpoints, type EtlSinkTarget } from "./etlCopy";
import { compileSpl, SplError, type SplProgram } from "./etlSpl";
import { LogStore } from "./logStore";
import {
  assertName,
  type CreateEtlBody,
  type CreateProjectBody,
  type EtlConfiguration,
  type IndexBody,
  type LegacyConfigBody,
  type LogstoreBody,
  type MachineGroupBody,
  type PipelineConfigBody,
  type UpdateEtlBody,
} from "./schemas";

/** Behaviour knobs; every one has a default that mirrors the real service as far as it is known. */
export interface SlsBackendOptions {
  /** A machine drops out of ListMachines this long after its last heartbeat (emulator ms). */
  machineStaleAfterMs: number;
  /** Eventual consistency: a config or logstore is invisible (`*NotExist`) this long after creation. */
  consistencyDelayMs: number;
  /** Logtail configs (pipeline + legacy) per project. */
  maxConfigsPerProject: number;
  /** ETL: time spent in STARTING before RUNNING (or FAILED). */
  etlStartingMs: number;
  /** ETL: time spent in STOPPING before STOPPED. */
  etlStoppingMs: number;
  /** ETL: a bounded run lasts at least this long in RUNNING. */
  etlMinRunMs: number;
  /** ETL: seconds of receive time a job scans per second of emulator time. */
  etlCopySpeed: number;
  /** ETL: emulator time between two copy batches. */
  etlTickMs: number;
  /** ETL: lines a job copies per tick at most (whole log groups). */
  etlLinesPerTick: number;
  /** ETL: the job's consumer group saves its position this often (emulator ms). */
  etlCheckpointIntervalMs: number;
  /** ETL: `toTime` inclusive ([from, to]) instead of [from, to) (unverified which is real). */
  etlToTimeInclusive: boolean;
  /** ETL: the sink tag the source's receive time is kept under; undefined drops it (unverified). */
  etlSourceReceiveTimeTag: string | undefined;
  /**
   * ETL fault "a restart re-copies": a stop does not save the position, so a restart resumes from
   * the last periodic save and copies what came after it again.
   */
  etlRestartRecopies: boolean;
  /**
   * GetLogtailPipelineConfig answers with fields the service fills in on its own (unverified
   * which, if any): `MaxDirSearchDepth` on each input and `Project` on each flusher.
   */
  pipelineReadDefaults: boolean;
  /**
   * Per source account (the job's project owner): how its copy jobs run when the service itself
   * restarts them (a worker failover, a service upgrade). Unset: never restarted.
   */
  etlServiceRestarts: Readonly<Record<string, EtlServiceRestart>>;
  /** How a host's several custom identifiers are joined in `userdefined-id` (unverified: space). */
  userDefinedIdSeparator: string;
  /** PutLogs: largest uncompressed body (10 MB). */
  putLogsMaxRawBytes: number;
  /** PutLogs: most logs in one LogGroup (the SDK producers' upper bound, 40960). */
  putLogsMaxLogs: number;
}

/**
 * A copy job's run is restarted by the service once, `afterMs` after it started, if it is still
 * copying then. A consumer group is at-least-once ("a restart may cause data redundancy"); where
 * the new run resumes is unverified: where the old one stopped, or its last periodic save.
 */
export interface EtlServiceRestart {
  afterMs: number;
  resumesFrom: "stop" | "lastSave";
  /** Lines a run of this account copies per tick at most (slow copies: a restart lands mid-copy). */
  linesPerTick?: number;
}

export const defaultSlsBackendOptions: SlsBackendOptions = {
  machineStaleAfterMs: 180_000,
  consistencyDelayMs: 0,
  maxConfigsPerProject: 100,
  etlStartingMs: 5_000,
  etlStoppingMs: 2_000,
  etlMinRunMs: 10_000,
  etlCopySpeed: 3_600,
  etlTickMs: 1_000,
  etlLinesPerTick: 50_000,
  etlCheckpointIntervalMs: 60_000,
  etlToTimeInclusive: false,
  etlSourceReceiveTimeTag: undefined,
  etlRestartRecopies: false,
  pipelineReadDefaults: false,
  etlServiceRestarts: {},
  userDefinedIdSeparator: " ",
  putLogsMaxRawBytes: 10 * 1024 * 1024,
  putLogsMaxLogs: 40_960,
};

/** Who calls, where, and which action the call needs (used in `Unauthorized` messages). */
export interface CallScope {
  accountId: string;
  region: string;
  action: string;
}

export interface Page {
  offset: number;
  size: number;
}

export interface PageResult<T> {
  total: number;
  items: T[];
}

export interface ProjectRecord {
  name: string;
  ownerAccountId: string;
  region: string;
  description: string;
  createTime: number;
  lastModifyTime: number;
  logstores: Map<string, LogstoreRecord>;
  machineGroups: Map<string, MachineGroupRecord>;
  configs: Map<string, ConfigRecord>;
  etls: Map<string, EtlRecord>;
}

export interface LogstoreRecord {
  name: string;
  attributes: LogstoreBody;
  createTime: number;
  lastModifyTime: number;
  index: IndexRecord | undefined;
  /** The stored lines (data plane). */
  logs: LogStore;
}

export interface IndexRecord {
  body: IndexBody;
  lastModifyTime: number;
}

export interface MachineGroupRecord {
  name: string;
  identifyType: "ip" | "userdefined";
  machineList: string[];
  groupType: string;
  groupAttribute: { externalName?: string; groupTopic?: string };
  createTime: number;
  lastModifyTime: number;
  appliedConfigs: Set<string>;
}

export type ConfigRecord =
  | { kind: "pipeline"; name: string; body: PipelineConfigBody; createTime: number; lastModifyTime: number }
  | { kind: "legacy"; name: string; body: LegacyConfigBody; createTime: number; lastModifyTime: number };

export type EtlStatus = "STARTING" | "RUNNING" | "STOPPING" | "STOPPED" | "SUCCEEDED" | "FAILED";

type EtlRun =
  | {
      kind: "run";
      startedAt: number;
      failure: string | undefined;
      copy: EtlCopyRun | undefined;
      /** The service restarted this job once already (EtlServiceRestart). */
      serviceRestarted?: boolean;
    }
  | { kind: "stop"; stoppedAt: number };

export interface EtlRecord {
  name: string;
  displayName: string;
  description: string;
  configuration: EtlConfiguration;
  createTime: number;
  lastModifiedTime: number;
  scheduleId: string;
  run: EtlRun;
  /** The consumer group's saved position per source shard (kept across stop / start). */
  checkpoint: number[] | undefined;
}

export interface MachineIdentity {
  ip: string;
  /** The host's DMI UUID (reported as `machine-uniqueid`). */
  uuid: string;
  hostId: string;
}

export interface HeartbeatInput {
  region: string;
  /** Accounts whose projects this agent may serve: its own account plus its `users/<UID>` files, or "any". */
  authorizedAccounts: readonly string[] | "any";
  /** Custom identifiers from `user_defined_id`, one per line, already trimmed. */
  userDefinedIds: readonly string[];
  machine: MachineIdentity;
}

interface HeartbeatRecord {
  authorizedAccounts: readonly string[] | "any";
  userDefinedIds: readonly string[];
  machine: MachineIdentity;
  lastHeartbeatMs: number;
}

export interface MachineView {
  ip: string;
  machineUniqueId: string;
  userDefinedId: string;
  hostId: string;
  lastHeartbeatTime: number;
}

interface RegionState {
  projects: Map<string, ProjectRecord>;
  heartbeats: Map<string, HeartbeatRecord>;
}

/** What CreateLogStore assumes when the body omits them (the console's defaults). */
const defaultShardCount = 2;
const defaultTtlDays = 30;

const roleArnPattern = /^acs:ram::(\d+):role\/([a-z0-9._-]{1,64})$/i;

/**
 * The RAM roles SLS may look up when a copy job assumes them (the core's AccountStore fits as is).
 * Without one, or for a role it does not know, a job's roles are taken to exist with the trust the
 * job needs: fleets need not declare every role.
 */
export interface SlsRoleDirectory {
  getRole(
    accountId: string,
    roleName: string,
  ): { trustedServices: readonly string[]; policies?: readonly PolicyDocument[] | undefined } | undefined;
}
const slsEndpointPattern =
  /^(?:https?:\/\/)?([a-z0-9-]+?)(?:-intranet|-share|-vpc)?\.log\.(?:aliyuncs\.com|localhost)(?::\d+)?$/;

/** State and behaviour of SLS, per region; no HTTP. Time comes only from the injected clock. */
export class SlsBackend {
  private readonly regions = new Map<string, RegionState>();
  private options: SlsBackendOptions;
  private etlCounter = 0;
  private roles: SlsRoleDirectory | undefined;
  /** Copy jobs that still have work to do, with their project: advanced whenever SLS state is read. */
  private readonly activeEtls = new Map<EtlRecord, ProjectRecord>();
  private pumping = false;

  constructor(
    private readonly clock: Clock,
    options: Partial<SlsBackendOptions> = {},
  ) {
    this.options = { ...defaultSlsBackendOptions, ...options };
  }

  configure(options: Partial<SlsBackendOptions>): void {
    this.options = { ...this.options, ...options };
  }

  /** Roles copy jobs are checked against: a known role must trust the job's account's SLS. */
  useRoles(roles: SlsRoleDirectory | undefined): void {
    this.roles = roles;
  }

  get settings(): Readonly<SlsBackendOptions> {
    return this.options;
  }

  reset(): void {
    this.regions.clear();
    this.etlCounter = 0;
    this.activeEtls.clear();
  }

  // ---- projects ---------------------------------------------------------------------------------

  createProject(scope: CallScope, body: CreateProjectBody): ProjectRecord {
    assertName("project", body.projectName);
    const state = this.region(scope.region);
    // Project names are unique per region across all accounts, as in the real service.
    if (state.projects.has(body.projectName)) throw slsErrors.projectAlreadyExist(body.projectName);
    const now = this.clock.now();
    const project: ProjectRecord = {
      name: body.projectName,
      ownerAccountId: scope.accountId,
      region: scope.region,
      description: body.description ?? "",
      createTime: now,
      lastModifyTime: now,
      logstores: new Map(),
      machineGroups: new Map(),
      configs: new Map(),
      etls: new Map(),
    };
    state.projects.set(project.name, project);
    return project;
  }

  getProject(scope: CallScope, name: string): ProjectRecord {
    const project = this.region(scope.region).projects.get(name);
    if (project === undefined) throw slsErrors.projectNotExist(name);
    if (project.ownerAccountId !== scope.accountId) {
      throw slsErrors.denied(
        scope.action,
        `acs:log:${scope.region}:${project.ownerAccountId}:project/${name}`,
      );
    }
    return project;
  }

  updateProject(scope: CallScope, name: string, description: string | undefined): void {
    const project = this.getProject(scope, name);
    if (description !== undefined) project.description = description;
    project.lastModifyTime = this.clock.now();
  }

  deleteProject(scope: CallScope, name: string): void {
    this.getProject(scope, name);
    this.region(scope.region).projects.delete(name);
  }

  listProjects(scope: CallScope, page: Page, nameFilter: string | undefined): PageResult<ProjectRecord> {
    const owned = [...this.region(scope.region).projects.values()]
      .filter((project) => project.ownerAccountId === scope.accountId)
      .filter((project) => nameFilter === undefined || project.name.includes(nameFilter))
      .sort((a, b) => a.name.localeCompare(b.name));
    return paginate(owned, page);
  }

  // ---- logstores and index ----------------------------------------------------------------------

  createLogstore(scope: CallScope, projectName: string, body: LogstoreBody): void {
    assertName("logstore", body.logstoreName);
    const project = this.getProject(scope, projectName);
    if (project.logstores.has(body.logstoreName)) throw slsErrors.logStoreAlreadyExist(body.logstoreName);
    const now = this.clock.now();
    const record: LogstoreRecord = {
      name: body.logstoreName,
      attributes: body,
      createTime: now,
      lastModifyTime: now,
      index: undefined,
      logs: new LogStore(this.clock, {
        shardCount: body.shardCount ?? defaultShardCount,
        ttlDays: () => record.attributes.ttl ?? defaultTtlDays,
      }),
    };
    project.logstores.set(body.logstoreName, record);
  }

  getLogstore(scope: CallScope, projectName: string, logstoreName: string): LogstoreRecord {
    // Copy jobs write into logstores: catch them up before anyone reads or writes one.
    this.pumpEtls();
    return this.visibleLogstore(this.getProject(scope, projectName), logstoreName);
  }

  updateLogstore(scope: CallScope, projectName: string, logstoreName: string, body: LogstoreBody): void {
    const logstore = this.getLogstore(scope, projectName, logstoreName);
    logstore.attributes = { ...logstore.attributes, ...body, logstoreName };
    logstore.lastModifyTime = this.clock.now();
  }

  deleteLogstore(scope: CallScope, projectName: string, logstoreName: string): void {
    const project = this.getProject(scope, projectName);
    this.visibleLogstore(project, logstoreName);
    project.logstores.delete(logstoreName);
  }

  listLogstores(
    scope: CallScope,
    projectName: string,
    page: Page,
    nameFilter: string | undefined,
  ): PageResult<string> {
    const names = [...this.getProject(scope, projectName).logstores.keys()]
      .filter((name) => nameFilter === undefined || name.includes(nameFilter))
      .sort();
    return paginate(names, page);
  }

  createIndex(scope: CallScope, projectName: string, logstoreName: string, body: IndexBody): void {
    const logstore = this.getLogstore(scope, projectName, logstoreName);
    if (logstore.index !== undefined) throw slsErrors.indexAlreadyExist();
    logstore.index = { body, lastModifyTime: this.clock.now() };
  }

  getIndex(scope: CallScope, projectName: string, logstoreName: string): IndexRecord {
    const index = this.getLogstore(scope, projectName, logstoreName).index;
    if (index === undefined) throw slsErrors.indexConfigNotExist();
    return index;
  }

  updateIndex(scope: CallScope, projectName: string, logstoreName: string, body: IndexBody): void {
    const logstore = this.getLogstore(scope, projectName, logstoreName);
    if (logstore.index === undefined) throw slsErrors.indexConfigNotExist();
    logstore.index = { body, lastModifyTime: this.clock.now() };
  }

  deleteIndex(scope: CallScope, projectName: string, logstoreName: string): void {
    const logstore = this.getLogstore(scope, projectName, logstoreName);
    if (logstore.index === undefined) throw slsErrors.indexConfigNotExist();
    logstore.index = undefined;
  }

  // ---- data plane -------------------------------------------------------------------------------

  /** The stored lines of a logstore the caller's account owns (PutLogs, shards, cursors). */
  logStore(scope: CallScope, projectName: string, logstoreName: string): LogStore {
    return this.getLogstore(scope, projectName, logstoreName).logs;
  }

  get putLogsLimits(): { maxRawBytes: number; maxLogsPerGroup: number } {
    return { maxRawBytes: this.options.putLogsMaxRawBytes, maxLogsPerGroup: this.options.putLogsMaxLogs };
  }

  /**
   * In-process access for the query engine, tests and the ledger: the LogRowSource of a logstore
   * owned by `accountId` (its `lineCount`, `groups()` and `scan()`); an SlsError when it does not exist.
   */
  logRows(accountId: string, region: string, projectName: string, logstoreName: string): LogStore {
    return this.logStore({ accountId, region, action: "GetLogStoreLogs" }, projectName, logstoreName);
  }

  // ---- machine groups -----------------------------------------------------------------------------

  createMachineGroup(scope: CallScope, projectName: string, body: MachineGroupBody): void {
    assertName("machineGroup", body.groupName);
    const project = this.getProject(scope, projectName);
    if (project.machineGroups.has(body.groupName)) throw slsErrors.machineGroupAlreadyExist(body.groupName);
    const now = this.clock.now();
    project.machineGroups.set(body.groupName, {
      ...machineGroupFields(body),
      createTime: now,
      lastModifyTime: now,
      appliedConfigs: new Set(),
    });
  }

  getMachineGroup(scope: CallScope, projectName: string, groupName: string): MachineGroupRecord {
    const group = this.getProject(scope, projectName).machineGroups.get(groupName);
    if (group === undefined) throw slsErrors.machineGroupNotExist(groupName);
    return group;
  }

  updateMachineGroup(scope: CallScope, projectName: string, groupName: string, body: MachineGroupBody): void {
    const group = this.getMachineGroup(scope, projectName, groupName);
    if (body.groupName !== groupName) {
      throw slsErrors.parameterInvalid(`groupName ${body.groupName} does not match ${groupName}`);
    }
    Object.assign(group, machineGroupFields(body), { lastModifyTime: this.clock.now() });
  }

  deleteMachineGroup(scope: CallScope, projectName: string, groupName: string): void {
    this.getMachineGroup(scope, projectName, groupName);
    this.getProject(scope, projectName).machineGroups.delete(groupName);
  }

  listMachineGroups(
    scope: CallScope,
    projectName: string,
    page: Page,
    nameFilter: string | undefined,
  ): PageResult<string> {
    const names = [...this.getProject(scope, projectName).machineGroups.keys()]
      .filter((name) => nameFilter === undefined || name.includes(nameFilter))
      .sort();
    return paginate(names, page);
  }

  listMachines(
    scope: CallScope,
    projectName: string,
    groupName: string,
    page: Page,
  ): PageResult<MachineView> {
    const project = this.getProject(scope, projectName);
    const group = this.getMachineGroup(scope, projectName, groupName);
    const now = this.clock.now();
    const machines: MachineView[] = [];
    for (const heartbeat of this.region(scope.region).heartbeats.values()) {
      if (now - heartbeat.lastHeartbeatMs > this.options.machineStaleAfterMs) continue;
      if (!servesAccount(heartbeat, project.ownerAccountId)) continue;
      if (!belongsToGroup(heartbeat, group)) continue;
      machines.push({
        ip: heartbeat.machine.ip,
        machineUniqueId: heartbeat.machine.uuid,
        userDefinedId: heartbeat.userDefinedIds.join(this.options.userDefinedIdSeparator),
        hostId: heartbeat.machine.hostId,
        lastHeartbeatTime: Math.floor(heartbeat.lastHeartbeatMs / 1000),
      });
    }
    machines.sort((a, b) => a.machineUniqueId.localeCompare(b.machineUniqueId));
    return paginate(machines, page);
  }

  // ---- heartbeats (called by the simulated Logtail agents, not over HTTP) --------------------------

  /**
   * Records one agent heartbeat. The host then appears in ListMachines of every machine group whose
   * identifiers (or IPs, for `ip` groups) it carries, in projects of this region owned by an account
   * it is authorized for, until it has been silent for `machineStaleAfterMs`.
   */
  recordHeartbeat(input: HeartbeatInput): void {
    this.region(input.region).heartbeats.set(input.machine.uuid.toLowerCase(), {
      authorizedAccounts: input.authorizedAccounts === "any" ? "any" : [...input.authorizedAccounts],
      userDefinedIds: [...input.userDefinedIds],
      machine: { ...input.machine },
      lastHeartbeatMs: this.clock.now(),
    });
  }

  /** Forgets a host at once (e.g. instance released), without waiting for the staleness window. */
  forgetMachine(region: string, uuid: string): void {
    this.region(region).heartbeats.delete(uuid.toLowerCase());
  }

  // ---- Logtail configs ------------------------------------------------------------------------------

  createPipelineConfig(scope: CallScope, projectName: string, body: PipelineConfigBody): void {
    assertName("config", body.configName);
    const project = this.getProject(scope, projectName);
    this.assertPipelineShape(project, body);
    this.insertConfig(project, body.configName, (now) => ({
      kind: "pipeline",
      name: body.configName,
      body,
      createTime: now,
      lastModifyTime: now,
    }));
  }

  updatePipelineConfig(
    scope: CallScope,
    projectName: string,
    configName: string,
    body: PipelineConfigBody,
  ): void {
    const project = this.getProject(scope, projectName);
    const config = this.visibleConfig(project, configName, "pipeline");
    if (body.configName !== configName) {
      throw slsErrors.parameterInvalid(`configName ${body.configName} does not match ${configName}`);
    }
    this.assertPipelineShape(project, body);
    project.configs.set(configName, { ...config, kind: "pipeline", body, lastModifyTime: this.clock.now() });
  }

  createLegacyConfig(scope: CallScope, projectName: string, body: LegacyConfigBody): void {
    assertName("config", body.configName);
    const project = this.getProject(scope, projectName);
    this.visibleLogstore(project, body.outputDetail.logstoreName);
    this.insertConfig(project, body.configName, (now) => ({
      kind: "legacy",
      name: body.configName,
      body,
      createTime: now,
      lastModifyTime: now,
    }));
  }

  updateLegacyConfig(
    scope: CallScope,
    projectName: string,
    configName: string,
    body: LegacyConfigBody,
  ): void {
    const project = this.getProject(scope, projectName);
    const config = this.visibleConfig(project, configName, "legacy");
    this.visibleLogstore(project, body.outputDetail.logstoreName);
    project.configs.set(configName, {
      ...config,
      kind: "legacy",
      body: { ...body, configName },
      lastModifyTime: this.clock.now(),
    });
  }

  getConfig(
    scope: CallScope,
    projectName: string,
    configName: string,
    kind: ConfigRecord["kind"],
  ): ConfigRecord {
    return this.visibleConfig(this.getProject(scope, projectName), configName, kind);
  }

  deleteConfig(scope: CallScope, projectName: string, configName: string, kind: ConfigRecord["kind"]): void {
    const project = this.getProject(scope, projectName);
    this.visibleConfig(project, configName, kind);
    project.configs.delete(configName);
    for (const group of project.machineGroups.values()) group.appliedConfigs.delete(configName);
  }

  /** Both kinds share one namespace; each List shows all Logtail configs of the project. */
  listConfigs(
    scope: CallScope,
    projectName: string,
    page: Page,
    filter: { configName?: string; logstoreName?: string },
  ): PageResult<string> {
    const names = [...this.getProject(scope, projectName).configs.values()]
      .filter((config) => filter.configName === undefined || config.name.includes(filter.configName))
      .filter((config) => filter.logstoreName === undefined || configLogstore(config) === filter.logstoreName)
      .map((config) => config.name)
      .sort();
    return paginate(names, page);
  }

  applyConfigToMachineGroup(
    scope: CallScope,
    projectName: string,
    groupName: string,
    configName: string,
  ): void {
    const project = this.getProject(scope, projectName);
    const group = this.getMachineGroup(scope, projectName, groupName);
    this.visibleConfig(project, configName, undefined);
    group.appliedConfigs.add(configName);
  }

  removeConfigFromMachineGroup(
    scope: CallScope,
    projectName: string,
    groupName: string,
    configName: string,
  ): void {
    const project = this.getProject(scope, projectName);
    const group = this.getMachineGroup(scope, projectName, groupName);
    this.visibleConfig(project, configName, undefined);
    group.appliedConfigs.delete(configName);
  }

  getAppliedConfigs(scope: CallScope, projectName: string, groupName: string): string[] {
    return [...this.getMachineGroup(scope, projectName, groupName).appliedConfigs].sort();
  }

  getAppliedMachineGroups(scope: CallScope, projectName: string, configName: string): string[] {
    const project = this.getProject(scope, projectName);
    this.visibleConfig(project, configName, undefined);
    return [...project.machineGroups.values()]
      .filter((group) => group.appliedConfigs.has(configName))
      .map((group) => group.name)
      .sort();
  }

  // ---- ETL (data transformation) jobs -------------------------------------------------------------

  createEtl(scope: CallScope, projectName: string, body: CreateEtlBody): EtlRecord {
    assertName("etl", body.name);
    const project = this.getProject(scope, projectName);
    if (project.etls.has(body.name)) throw slsErrors.jobAlreadyExist(body.name);
    assertTimeRange(body.configuration);
    const now = this.clock.now();
    this.etlCounter += 1;
    const etl: EtlRecord = {
      name: body.name,
      displayName: body.displayName,
      description: body.description ?? "",
      configuration: body.configuration,
      createTime: now,
      lastModifiedTime: now,
      scheduleId: `etl-${now.toString(16)}-${this.etlCounter.toString(16).padStart(6, "0")}`,
      run: { kind: "stop", stoppedAt: now },
      checkpoint: undefined,
    };
    project.etls.set(etl.name, etl);
    this.startRun(project, etl);
    return etl;
  }

  getEtl(scope: CallScope, projectName: string, etlName: string): EtlRecord {
    const etl = this.getProject(scope, projectName).etls.get(etlName);
    if (etl === undefined) throw slsErrors.jobNotExist(etlName);
    return etl;
  }

  updateEtl(scope: CallScope, projectName: string, etlName: string, body: UpdateEtlBody): void {
    const project = this.getProject(scope, projectName);
    const etl = this.getEtl(scope, projectName, etlName);
    assertTimeRange(body.configuration);
    this.pumpEtls();
    const before = etl.configuration;
    etl.displayName = body.displayName;
    etl.description = body.description ?? etl.description;
    etl.configuration = body.configuration;
    etl.lastModifiedTime = this.clock.now();
    // An update of an active job restarts it with the new configuration; another source or start
    // is another stream to consume, so the saved position no longer applies.
    if (etl.run.kind === "run") this.retireRun(etl, true);
    if (before.logstore !== body.configuration.logstore || before.fromTime !== body.configuration.fromTime) {
      etl.checkpoint = undefined;
    }
    if (etl.run.kind === "run") this.startRun(project, etl);
  }

  deleteEtl(scope: CallScope, projectName: string, etlName: string): void {
    const etl = this.getEtl(scope, projectName, etlName);
    this.pumpEtls();
    this.activeEtls.delete(etl);
    this.getProject(scope, projectName).etls.delete(etlName);
  }

  listEtls(
    scope: CallScope,
    projectName: string,
    page: Page,
    logstoreFilter: string | undefined,
  ): PageResult<EtlRecord> {
    const etls = [...this.getProject(scope, projectName).etls.values()]
      .filter((etl) => logstoreFilter === undefined || etl.configuration.logstore === logstoreFilter)
      .sort((a, b) => a.name.localeCompare(b.name));
    return paginate(etls, page);
  }

  startEtl(scope: CallScope, projectName: string, etlName: string): void {
    const project = this.getProject(scope, projectName);
    const etl = this.getEtl(scope, projectName, etlName);
    const status = this.etlStatus(etl);
    if (status === "STARTING" || status === "RUNNING") return;
    // A finished or failed run leaves its position as a clean end would.
    if (etl.run.kind === "run") this.retireRun(etl, true);
    this.startRun(project, etl);
    etl.lastModifiedTime = this.clock.now();
  }

  stopEtl(scope: CallScope, projectName: string, etlName: string): void {
    const etl = this.getEtl(scope, projectName, etlName);
    if (etl.run.kind === "stop") return;
    this.pumpEtls();
    this.retireRun(etl, !this.options.etlRestartRecopies);
    etl.run = { kind: "stop", stoppedAt: this.clock.now() };
    etl.lastModifiedTime = this.clock.now();
  }

  /**
   * STARTING → RUNNING → SUCCEEDED (bounded range, everything up to toTime copied) or FAILED;
   * STOPPING → STOPPED; all by the clock.
   */
  etlStatus(etl: EtlRecord): EtlStatus {
    this.pumpEtls();
    const now = this.clock.now();
    const run = etl.run;
    if (run.kind === "stop") return now < run.stoppedAt + this.options.etlStoppingMs ? "STOPPING" : "STOPPED";
    const runningFrom = run.startedAt + this.options.etlStartingMs;
    if (now < runningFrom) return "STARTING";
    if (run.failure !== undefined || run.copy?.failure !== undefined) return "FAILED";
    const completedAt = run.copy?.completedAt;
    if (completedAt !== undefined && now >= Math.max(completedAt, runningFrom + this.options.etlMinRunMs)) {
      return "SUCCEEDED";
    }
    return "RUNNING";
  }

  /** Why the current run fails (undefined when it does not): for tests and diagnostics. */
  etlFailure(etl: EtlRecord): string | undefined {
    this.pumpEtls();
    return etl.run.kind === "run" ? (etl.run.failure ?? etl.run.copy?.failure?.reason) : undefined;
  }

  /** Lines the current run has written to each sink (undefined when not running): for tests. */
  etlLinesCopied(etl: EtlRecord): number | undefined {
    this.pumpEtls();
    return etl.run.kind === "run" ? etl.run.copy?.linesCopied : undefined;
  }

  // ---- internals ----------------------------------------------------------------------------------

  private region(region: string): RegionState {
    let state = this.regions.get(region);
    if (state === undefined) {
      state = { projects: new Map(), heartbeats: new Map() };
      this.regions.set(region, state);
    }
    return state;
  }

  private isVisible(createTime: number): boolean {
    return this.clock.now() - createTime >= this.options.consistencyDelayMs;
  }

  private visibleLogstore(project: ProjectRecord, logstoreName: string): LogstoreRecord {
    const logstore = project.logstores.get(logstoreName);
    if (logstore === undefined || !this.isVisible(logstore.createTime)) {
      throw slsErrors.logStoreNotExist(logstoreName);
    }
    return logstore;
  }

  private visibleConfig(
    project: ProjectRecord,
    configName: string,
    kind: ConfigRecord["kind"] | undefined,
  ): ConfigRecord {
    const config = project.configs.get(configName);
    if (
      config === undefined ||
      !this.isVisible(config.createTime) ||
      (kind !== undefined && config.kind !== kind)
    ) {
      throw slsErrors.configNotExist(configName);
    }
    return config;
  }

  private insertConfig(project: ProjectRecord, name: string, build: (now: number) => ConfigRecord): void {
    if (project.configs.has(name)) throw slsErrors.configAlreadyExist(name);
    if (project.configs.size >= this.options.maxConfigsPerProject) {
      throw slsErrors.configQuotaExceed(this.options.maxConfigsPerProject);
    }
    project.configs.set(name, build(this.clock.now()));
  }

  private assertPipelineShape(project: ProjectRecord, body: PipelineConfigBody): void {
    if (body.inputs.length !== 1) {
      throw slsErrors.parameterInvalid(`inputs must contain exactly one plugin, got ${body.inputs.length}`);
    }
    const [flusher, ...others] = body.flushers;
    if (flusher === undefined || others.length > 0 || flusher.Type !== "flusher_sls") {
      throw slsErrors.parameterInvalid("flushers must contain exactly one flusher_sls plugin");
    }
    const logstore = flusher.Logstore;
    if (typeof logstore !== "string" || logstore === "") {
      throw slsErrors.parameterInvalid("flusher_sls requires Logstore");
    }
    this.visibleLogstore(project, logstore);
  }

  /** Starts a run: STARTING now, copying from the end of STARTING unless the job cannot run. */
  private startRun(project: ProjectRecord, etl: EtlRecord, now = this.clock.now()): void {
    const configuration = etl.configuration;
    let failure = this.diagnoseEtl(project, configuration);
    let program: SplProgram | undefined;
    if (failure === undefined) {
      try {
        program = compileSpl(configuration.script);
      } catch (error) {
        if (!(error instanceof SplError)) throw error;
        failure = `SPL error: ${error.message}`;
      }
    }
    const copy =
      program === undefined
        ? undefined
        : new EtlCopyRun(
            { fromTime: configuration.fromTime ?? 0, toTime: configuration.toTime ?? 0 },
            program,
            {
              tickMs: this.options.etlTickMs,
              scanSpeed: this.options.etlCopySpeed,
              linesPerTick:
                this.options.etlServiceRestarts[project.ownerAccountId]?.linesPerTick ??
                this.options.etlLinesPerTick,
              checkpointIntervalMs: this.options.etlCheckpointIntervalMs,
              toTimeInclusive: this.options.etlToTimeInclusive,
              sourceReceiveTimeTag: this.options.etlSourceReceiveTimeTag,
            },
            now + this.options.etlStartingMs,
            etl.checkpoint,
          );
    etl.run = { kind: "run", startedAt: now, failure, copy };
    if (copy !== undefined) this.activeEtls.set(etl, project);
  }

  /** Ends a run's copying and keeps its position: the current one when clean, else the last save. */
  private retireRun(etl: EtlRecord, clean: boolean, at = this.clock.now()): void {
    this.activeEtls.delete(etl);
    if (etl.run.kind !== "run" || etl.run.copy === undefined) return;
    etl.checkpoint = etl.run.copy.checkpoint(at, clean) ?? etl.checkpoint;
  }

  /** Catches every active copy job up to now (batched per tick, see EtlCopyRun). */
  private pumpEtls(): void {
    if (this.pumping || this.activeEtls.size === 0) return;
    this.pumping = true;
    try {
      const now = this.clock.now();
      for (const [etl, project] of this.activeEtls) {
        const run = etl.run;
        const live =
          run.kind === "run" &&
          project.etls.get(etl.name) === etl &&
          this.region(project.region).projects.get(project.name) === project;
        if (!live || run.copy === undefined) {
          this.activeEtls.delete(etl);
          continue;
        }
        const restart = this.options.etlServiceRestarts[project.ownerAccountId];
        const restartAt = restart && !run.serviceRestarted ? run.startedAt + restart.afterMs : undefined;
        if (restart && restartAt !== undefined && restartAt <= now) {
          run.copy.advance(restartAt, this.etlEndpoints(project, etl.configuration));
          if (run.copy.completedAt === undefined && run.copy.failure === undefined) {
            this.retireRun(etl, restart.resumesFrom === "stop", restartAt);
            this.startRun(project, etl, restartAt);
            if (etl.run.kind === "run") etl.run.serviceRestarted = true;
            // The new run is added to activeEtls again: this loop reaches it later and advances it.
            continue;
          }
          run.serviceRestarted = true;
        }
        run.copy.advance(now, this.etlEndpoints(project, etl.configuration));
        if (run.copy.completedAt !== undefined || run.copy.failure !== undefined) this.activeEtls.delete(etl);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The stores a job reads and writes, looked up when it copies (a deleted one fails the job). */
  private etlEndpoints(project: ProjectRecord, configuration: EtlConfiguration): EtlEndpoints {
    return {
      source: () =>
        project.logstores.get(configuration.logstore)?.logs ??
        `source logstore ${configuration.logstore} does not exist in ${project.name}`,
      sinks: () => {
        const targets: EtlSinkTarget[] = [];
        for (const sink of configuration.sinks) {
          const found = this.sinkLogstore(sink);
          if (typeof found === "string") return found;
          targets.push({ name: sink.name, store: found.logstore.logs });
        }
        return targets;
      },
    };
  }

  /** A sink's project and logstore, or why there is none (the same words at start and while running). */
  private sinkLogstore(
    sink: EtlConfiguration["sinks"][number],
  ): { project: ProjectRecord; logstore: LogstoreRecord } | string {
    const sinkRegion = slsEndpointPattern.exec(sink.endpoint)?.[1];
    if (sinkRegion === undefined)
      return `sink ${sink.name}: endpoint ${sink.endpoint} is not an SLS endpoint`;
    const sinkProject = this.region(sinkRegion).projects.get(sink.project);
    if (sinkProject === undefined)
      return `sink ${sink.name}: project ${sink.project} does not exist in ${sinkRegion}`;
    const logstore = sinkProject.logstores.get(sink.logstore);
    if (logstore === undefined)
      return `sink ${sink.name}: logstore ${sink.logstore} does not exist in ${sink.project}`;
    return { project: sinkProject, logstore };
  }

  /** The reasons a real copy job fails at run time that the emulator can see. */
  private diagnoseEtl(project: ProjectRecord, configuration: EtlConfiguration): string | undefined {
    // The job runs as SLS of the project's owner: the read role is assumed by `log.aliyuncs.com`,
    // a sink role of another account by `<owner UID>@log.aliyuncs.com` (ALIBABA-FACTS, copy roles).
    const owner = project.ownerAccountId;
    const sourceArn = `acs:log:${project.region}:${owner}:project/${project.name}/logstore/${configuration.logstore}`;
    const sourceRole = checkRole(
      this.roles,
      configuration.roleArn,
      configuration.accessKeyId,
      owner,
      "source",
      ["log.aliyuncs.com", `${owner}@log.aliyuncs.com`],
      // The job reads as a consumer of the source logstore.
      ["log:ListShards", "log:GetCursorOrData"].map((action) => ({
        action,
        resources: [{ arn: sourceArn }],
      })),
    );
    if (sourceRole !== undefined) return sourceRole;
    if (!project.logstores.has(configuration.logstore)) {
      return `source logstore ${configuration.logstore} does not exist in ${project.name}`;
    }
    for (const sink of configuration.sinks) {
      const found = this.sinkLogstore(sink);
      if (typeof found === "string") return found;
      const sinkProject = found.project;
      const sinkArn = `acs:log:${sinkProject.region}:${sinkProject.ownerAccountId}:project/${sinkProject.name}/logstore/${sink.logstore}`;
      const sinkRole = checkRole(
        this.roles,
        sink.roleArn,
        sink.accessKeyId,
        sinkProject.ownerAccountId,
        `sink ${sink.name}`,
        sinkProject.ownerAccountId === owner
          ? ["log.aliyuncs.com", `${owner}@log.aliyuncs.com`]
          : [`${owner}@log.aliyuncs.com`],
        [{ action: "log:PostLogStoreLogs", resources: [{ arn: sinkArn }] }],
      );
      if (sinkRole !== undefined) return sinkRole;
    }
    return undefined;
  }
}

/**
 * Why a job cannot use a role: malformed, not in the account that owns the project it reads or
 * writes, or (when the directory knows the role) not trusting any of `principals` — the real job
 * fails to assume such a role, so another account's role cannot be borrowed to write into it — and,
 * for a policy-bound role, whose policies do not allow what the job does with it (`needs`).
 */
function checkRole(
  roles: SlsRoleDirectory | undefined,
  roleArn: string | undefined,
  accessKeyId: string | undefined,
  ownerAccountId: string,
  what: string,
  principals: readonly string[],
  needs: readonly AccessRequest[],
): string | undefined {
  if (roleArn === undefined || roleArn === "") {
    return accessKeyId === undefined ? `${what}: neither roleArn nor accessKeyId given` : undefined;
  }
  const match = roleArnPattern.exec(roleArn);
  if (match === null) return `${what}: roleArn ${roleArn} is malformed`;
  if (match[1] !== ownerAccountId) {
    return `${what}: role ${roleArn} is not in account ${ownerAccountId} that owns the project`;
  }
  const role = roles?.getRole(ownerAccountId, match[2] ?? "");
  if (role !== undefined && !principals.some((principal) => role.trustedServices.includes(principal))) {
    return `${what}: role ${roleArn} does not trust ${principals.join(" or ")}: the job cannot assume it`;
  }
  if (role?.policies !== undefined) {
    for (const need of needs) {
      const decision = evaluateAccess(role.policies, need);
      if (!decision.allowed)
        return `${what}: Unauthorized: denied by sts or ram, action: ${decision.action}, resource: ${decision.resource} (role ${roleArn})`;
    }
  }
  return undefined;
}

function assertTimeRange(configuration: EtlConfiguration): void {
  const toTime = configuration.toTime ?? 0;
  if (toTime > 0 && (configuration.fromTime ?? 0) > toTime) {
    throw slsErrors.parameterInvalid("fromTime must not be later than toTime");
  }
}

function machineGroupFields(body: MachineGroupBody) {
  return {
    name: body.groupName,
    identifyType: body.machineIdentifyType,
    machineList: [...body.machineList],
    groupType: body.groupType ?? "",
    groupAttribute: { ...(body.groupAttribute ?? {}) },
  };
}

function servesAccount(heartbeat: HeartbeatRecord, accountId: string): boolean {
  return heartbeat.authorizedAccounts === "any" || heartbeat.authorizedAccounts.includes(accountId);
}

function belongsToGroup(heartbeat: HeartbeatRecord, group: MachineGroupRecord): boolean {
  if (group.identifyType === "ip") return group.machineList.includes(heartbeat.machine.ip);
  return heartbeat.userDefinedIds.some((id) => group.machineList.includes(id));
}

function configLogstore(config: ConfigRecord): string | undefined {
  if (config.kind === "legacy") return config.body.outputDetail.logstoreName;
  const logstore = config.body.flushers[0]?.Logstore;
  return typeof logstore === "string" ? logstore : undefined;
}

function paginate<T>(items: T[], page: Page): PageResult<T> {
  return { total: items.length, items: items.slice(page.offset, page.offset + page.size) };
}
