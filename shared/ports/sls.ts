/** Simple Log Service resources of one project, in one account and region. */
import type { ObservedMachine } from "../planner/types";

export interface SlsScope {
  accountId: string;
  region: string;
  project: string;
}

/** What an ensure* call had to do. */
export type EnsureOutcome = "created" | "updated" | "unchanged";

export interface LogstoreOptions {
  /** Days; default 30. */
  ttl?: number;
  /** Default 2. */
  shardCount?: number;
}

export interface FullTextIndexSpec {
  caseSensitive?: boolean;
  chn?: boolean;
  token?: readonly string[];
}

export interface FieldIndexSpec {
  type: "text" | "long" | "double" | "json";
  caseSensitive?: boolean;
  chn?: boolean;
  token?: readonly string[];
  docValue?: boolean;
}

/** The routes file's index spec; undefined = full-text index with the default tokens. */
export interface IndexSpec {
  fullText?: FullTextIndexSpec;
  keys?: Readonly<Record<string, FieldIndexSpec>>;
}

/** A Logtail pipeline config that collects files into a logstore of this project. */
export interface PipelineConfigSpec {
  name: string;
  filePaths: readonly string[];
  /** Logtail processing plugins, passed as written (each has a `Type`). */
  processors: ReadonlyArray<Readonly<Record<string, unknown>>>;
  logstore: string;
  /** Endpoint the agent ships to (e.g. `cn-hangzhou-intranet.log.aliyuncs.com`). */
  endpoint: string;
  /**
   * Options of the `input_file` plugin besides `FilePaths` and `AllowingIncludedByMultiConfigs`
   * (always true), e.g. `AppendingLogPositionMeta`, `TailSizeKB`.
   */
  inputOptions?: Readonly<Record<string, unknown>>;
}

/** A pipeline config's `input_file` options and when the config last changed. */
export interface PipelineInputState {
  /** The first `input_file` plugin's options as stored (undefined: the config has none). */
  input: Readonly<Record<string, unknown>> | undefined;
  /** The flusher's logstore (undefined: no `flusher_sls`). */
  logstore: string | undefined;
  /** Unix seconds. */
  lastModifyTime: number;
}

/** A GetLogs query over `__time__` in [from, to) (Unix seconds). */
export interface LogQuery {
  from: number;
  to: number;
  query: string;
}

/** One row of a GetLogs answer (search lines or SQL rows): every value as text. */
export type LogRow = Readonly<Record<string, string>>;

export interface EtlSinkSpec {
  name: string;
  project: string;
  logstore: string;
  endpoint: string;
  /** Role in the sink's account that writes the copy. */
  roleArn: string;
}

/** An SLS data-transformation (ETL) job created in the source project. */
export interface EtlJobSpec {
  name: string;
  displayName: string;
  description?: string;
  /** SPL; "*" copies every log as it is. */
  script: string;
  /** Source logstore. */
  logstore: string;
  /** Role in the source account that reads the source logstore. */
  roleArn: string;
  /** Unix seconds; 0 = open. */
  fromTime: number;
  toTime: number;
  sinks: readonly EtlSinkSpec[];
}

export interface EtlJob {
  name: string;
  displayName: string;
  /** RUNNING, STOPPING, STOPPED, SUCCEEDED, FAILED, STARTING, RESTARTING. */
  status: string;
  logstore: string;
  fromTime: number;
  toTime: number;
  /** The SPL it runs (a handover part's script names its hosts). */
  script: string;
  sinks: Array<{ name: string; project: string; logstore: string }>;
}

export interface SlsPort {
  readonly scope: SlsScope;
  ensureProject(description?: string): Promise<EnsureOutcome>;
  ensureLogstore(name: string, options?: LogstoreOptions): Promise<EnsureOutcome>;
  ensureIndex(logstore: string, spec?: IndexSpec): Promise<EnsureOutcome>;
  /**
   * Adds these keys to the logstore's index, keeping every other key and the full-text settings;
   * creates an index of only these keys when there is none.
   */
  ensureIndexKeys(logstore: string, keys: Readonly<Record<string, FieldIndexSpec>>): Promise<EnsureOutcome>;
  /** Runs a query (the answer must be complete, else a retryable error). */
  queryLogs(logstore: string, query: LogQuery): Promise<LogRow[]>;
  /** The config's file input and last change; undefined when the config does not exist. */
  pipelineInput(name: string): Promise<PipelineInputState | undefined>;
  /**
   * Sets these options on the config's `input_file`, everything else as it is ("unchanged" when
   * they are already so). Fails when the config does not exist or has no `input_file`.
   */
  ensurePipelineInputOptions(
    name: string,
    options: Readonly<Record<string, unknown>>,
  ): Promise<EnsureOutcome>;
  /** A `userdefined` machine group with exactly these identifiers. */
  ensureMachineGroup(name: string, identifiers: readonly string[]): Promise<EnsureOutcome>;
  ensurePipelineConfig(spec: PipelineConfigSpec): Promise<EnsureOutcome>;
  applyConfig(machineGroup: string, configName: string): Promise<void>;
  /** Succeeds when the group, the config or the binding is already gone. */
  removeConfig(machineGroup: string, configName: string): Promise<void>;
  /** Config names bound to the group; undefined when the group does not exist. */
  appliedConfigs(machineGroup: string): Promise<string[] | undefined>;
  /** Every machine of the group (all pages); undefined when the group does not exist. */
  listMachines(machineGroup: string): Promise<ObservedMachine[] | undefined>;
  logstoreExists(logstore: string): Promise<boolean>;
  pipelineConfigExists(name: string): Promise<boolean>;
  indexExists(logstore: string): Promise<boolean>;
  /** Creates the job; "unchanged" when a job of that name already exists (never copies twice). */
  createEtl(job: EtlJobSpec): Promise<EnsureOutcome>;
  getEtl(name: string): Promise<EtlJob | undefined>;
  listEtls(): Promise<EtlJob[]>;
}
