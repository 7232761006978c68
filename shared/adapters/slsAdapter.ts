/** SlsPort on `@alicloud/sls20201230`, for one project of one account and region. */
import type Sls from "@alicloud/sls20201230";
import * as $Sls from "@alicloud/sls20201230";
import { pipelineConfigHolds } from "../domain/pipelineConfig";
import { DESTINATION_HANDOVER_INPUT, DESTINATION_INPUT } from "../planner/handover";
import type { ObservedMachine } from "../planner/types";
import type { CredentialsPort } from "../ports/credentials";
import type {
  EnsureOutcome,
  EtlJob,
  EtlJobSpec,
  FieldIndexSpec,
  IndexSpec,
  LogQuery,
  LogRow,
  LogstoreOptions,
  PipelineConfigSpec,
  PipelineInputState,
  SlsPort,
  SlsScope,
} from "../ports/sls";
import { canonicalJson } from "../util/json";
import { type CallPolicy, cloudCall } from "./cloudCall";
import { CloudError } from "./cloudError";
import { realSleep } from "./retry";
import type { SdkClients } from "./sdkClients";

/** Input options the product sets on some routes only: a config that has one it no longer wants is updated. */
const PRODUCT_INPUT_OPTIONS = [
  ...new Set([...Object.keys(DESTINATION_HANDOVER_INPUT), ...Object.keys(DESTINATION_INPUT)]),
];
export const SLS_LIMITS = { listMachinesPage: 500, listEtlsPage: 100 } as const;

/** SLS's default full-text tokens (what the console proposes). */
export const DEFAULT_INDEX_TOKENS: readonly string[] = [
  ",",
  " ",
  "'",
  '"',
  ";",
  "=",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "?",
  "@",
  "&",
  "<",
  ">",
  "/",
  ":",
  "\n",
  "\t",
  "\r",
];

/**
 * Right after a create, SLS may still answer that the resource does not exist. Calls that depend on a
 * resource the caller has just ensured retry these codes briefly (the official Python SDK waits up to
 * 60 × 1 s); past that the error stays retryable, so the message is redelivered and re-observed.
 */
const NOT_YET_VISIBLE = new Set([
  "ConfigNotExist",
  "LogStoreNotExist",
  "ProjectNotExist",
  "MachineGroupNotExist",
]);

export interface ConsistencyRetry {
  attempts: number;
  delayMs: number;
  sleep: (ms: number) => Promise<void>;
}

export interface SlsAdapterDependencies {
  clients: SdkClients;
  credentials: CredentialsPort;
  policy: CallPolicy;
  consistency?: Partial<ConsistencyRetry>;
}

export class SlsAdapter implements SlsPort {
  private readonly consistency: ConsistencyRetry;

  constructor(
    readonly scope: SlsScope,
    private readonly deps: SlsAdapterDependencies,
  ) {
    this.consistency = { attempts: 10, delayMs: 500, sleep: realSleep, ...deps.consistency };
  }

  async ensureProject(description = "logtail-xacct: centralized Logtail collection"): Promise<EnsureOutcome> {
    const { project } = this.scope;
    if (await this.exists("GetProject", ["ProjectNotExist"], (sls) => sls.getProject(project)))
      return "unchanged";
    return this.createTolerant("CreateProject", "ProjectAlreadyExist", (sls) =>
      sls.createProject(new $Sls.CreateProjectRequest({ projectName: project, description })),
    );
  }

  async ensureLogstore(name: string, options: LogstoreOptions = {}): Promise<EnsureOutcome> {
    if (await this.logstoreExists(name)) return "unchanged";
    return this.createTolerant(
      "CreateLogStore",
      "LogStoreAlreadyExist",
      (sls) =>
        sls.createLogStore(
          this.scope.project,
          new $Sls.CreateLogStoreRequest({
            logstoreName: name,
            ttl: options.ttl ?? 30,
            shardCount: options.shardCount ?? 2,
          }),
        ),
      true,
    );
  }

  async ensureIndex(logstore: string, spec?: IndexSpec): Promise<EnsureOutcome> {
    const { project } = this.scope;
    const desired = buildIndex(spec);
    const current = await this.readIndex(logstore);
    if (current === undefined) {
      return this.createIndex(logstore, desired);
    }
    if (indexMatches(desired, current.body)) return "unchanged";
    // Keep fields indexed by others; ours win where both define a key.
    const merged = new $Sls.Index({
      ...desired,
      keys: { ...(current.body?.keys ?? {}), ...(desired.keys ?? {}) },
    });
    await this.call("UpdateIndex", (sls) =>
      sls.updateIndex(project, logstore, new $Sls.UpdateIndexRequest({ body: merged })),
    );
    return "updated";
  }

  async ensureIndexKeys(
    logstore: string,
    keys: Readonly<Record<string, FieldIndexSpec>>,
  ): Promise<EnsureOutcome> {
    const { project } = this.scope;
    const wanted = buildIndex({ keys }).keys ?? {};
    const current = await this.readIndex(logstore);
    if (current === undefined) {
      return this.createIndex(logstore, new $Sls.Index({ keys: wanted }));
    }
    const existing = current.body?.keys ?? {};
    const missing = Object.keys(wanted).filter((name) => {
      const key = existing[name];
      return key === undefined || key.docValue !== true || key.type !== wanted[name]?.type;
    });
    if (missing.length === 0) return "unchanged";
    const merged = new $Sls.Index({
      ...(current.body?.line === undefined ? {} : { line: new $Sls.IndexLine(current.body.line) }),
      ...(current.body?.ttl === undefined ? {} : { ttl: current.body.ttl }),
      keys: { ...existing, ...Object.fromEntries(missing.map((name) => [name, wanted[name]])) },
    });
    await this.call("UpdateIndex", (sls) =>
      sls.updateIndex(project, logstore, new $Sls.UpdateIndexRequest({ body: merged })),
    );
    return "updated";
  }

  async queryLogs(logstore: string, query: LogQuery): Promise<LogRow[]> {
    const response = await this.call("GetLogs", (sls) =>
      sls.getLogs(
        this.scope.project,
        logstore,
        new $Sls.GetLogsRequest({ from: query.from, to: query.to, query: query.query }),
      ),
    );
    const progress = response.headers?.["x-log-progress"];
    if (progress !== undefined && progress !== "Complete") {
      throw new CloudError(`the answer for ${logstore} is ${progress}: ask again`, {
        service: "sls",
        operation: "GetLogs",
        code: "QueryIncomplete",
        retryable: true,
      });
    }
    return (response.body ?? []).map((row) =>
      Object.fromEntries(Object.entries(row).map(([key, value]) => [key, String(value)])),
    );
  }

  async pipelineInput(name: string): Promise<PipelineInputState | undefined> {
    const response = await this.read("GetLogtailPipelineConfig", ["ConfigNotExist"], (sls) =>
      sls.getLogtailPipelineConfig(this.scope.project, name),
    );
    if (response === undefined) return undefined;
    const body = response.body;
    const input = body?.inputs?.find((plugin) => plugin.Type === "input_file");
    const flusher = body?.flushers?.find((plugin) => plugin.Type === "flusher_sls");
    return {
      input,
      logstore: typeof flusher?.Logstore === "string" ? flusher.Logstore : undefined,
      lastModifyTime: body?.lastModifyTime ?? 0,
    };
  }

  async ensurePipelineInputOptions(
    name: string,
    options: Readonly<Record<string, unknown>>,
  ): Promise<EnsureOutcome> {
    const { project } = this.scope;
    const current = await this.call("GetLogtailPipelineConfig", (sls) =>
      sls.getLogtailPipelineConfig(project, name),
    );
    const body = current.body;
    const inputs = body?.inputs ?? [];
    const at = inputs.findIndex((plugin) => plugin.Type === "input_file");
    const input = inputs[at];
    if (body === undefined || input === undefined) {
      throw new CloudError(`config ${project}/${name} has no input_file plugin`, {
        service: "sls",
        operation: "UpdateLogtailPipelineConfig",
        code: "InvalidConfig",
        retryable: false,
      });
    }
    if (Object.entries(options).every(([key, value]) => canonicalJson(input[key]) === canonicalJson(value)))
      return "unchanged";
    const updated = inputs.map((plugin, index) => (index === at ? { ...plugin, ...options } : plugin));
    await this.call("UpdateLogtailPipelineConfig", (sls) =>
      sls.updateLogtailPipelineConfig(
        project,
        name,
        new $Sls.UpdateLogtailPipelineConfigRequest({
          configName: name,
          ...(body.logSample === undefined ? {} : { logSample: body.logSample }),
          ...(body.global === undefined ? {} : { global: body.global }),
          inputs: updated,
          processors: body.processors ?? [],
          aggregators: body.aggregators ?? [],
          flushers: body.flushers ?? [],
        }),
      ),
    );
    return "updated";
  }

  /** The logstore's index; undefined when it has none (settles a logstore made a moment ago). */
  private readIndex(logstore: string) {
    return this.read(
      "GetIndex",
      ["IndexConfigNotExist"],
      (sls) => sls.getIndex(this.scope.project, logstore),
      true,
    );
  }

  private createIndex(logstore: string, body: $Sls.Index): Promise<EnsureOutcome> {
    return this.createTolerant(
      "CreateIndex",
      "IndexAlreadyExist",
      (sls) => sls.createIndex(this.scope.project, logstore, new $Sls.CreateIndexRequest({ body })),
      true,
    );
  }

  ensureMachineGroup(name: string, identifiers: readonly string[]): Promise<EnsureOutcome> {
    return this.convergeMachineGroup(name, identifiers, true);
  }

  private async convergeMachineGroup(
    name: string,
    identifiers: readonly string[],
    mayCreate: boolean,
  ): Promise<EnsureOutcome> {
    const { project } = this.scope;
    const machineList = [...new Set(identifiers)].sort();
    const body = {
      groupName: name,
      machineIdentifyType: "userdefined",
      machineList,
      groupType: "",
      groupAttribute: { externalName: "", groupTopic: "" },
    };
    const current = await this.read("GetMachineGroup", ["MachineGroupNotExist"], (sls) =>
      sls.getMachineGroup(project, name),
    );
    if (current === undefined) {
      if (!mayCreate) throw notYetVisible("GetMachineGroup", name);
      const outcome = await this.createTolerant("CreateMachineGroup", "MachineGroupAlreadyExist", (sls) =>
        sls.createMachineGroup(
          project,
          new $Sls.CreateMachineGroupRequest({
            ...body,
            groupAttribute: new $Sls.CreateMachineGroupRequestGroupAttribute(body.groupAttribute),
          }),
        ),
      );
      // Created by someone else meanwhile: converge it like an existing group.
      if (outcome === "created") return outcome;
      return this.convergeMachineGroup(name, identifiers, false);
    }
    const currentList = [...(current.body?.machineList ?? [])].sort();
    if (
      current.body?.machineIdentifyType === "userdefined" &&
      JSON.stringify(currentList) === JSON.stringify(machineList)
    ) {
      return "unchanged";
    }
    await this.call("UpdateMachineGroup", (sls) =>
      sls.updateMachineGroup(
        project,
        name,
        new $Sls.UpdateMachineGroupRequest({
          ...body,
          groupAttribute: new $Sls.UpdateMachineGroupRequestGroupAttribute(body.groupAttribute),
        }),
      ),
    );
    return "updated";
  }

  ensurePipelineConfig(spec: PipelineConfigSpec): Promise<EnsureOutcome> {
    return this.convergePipelineConfig(spec, true);
  }

  private async convergePipelineConfig(spec: PipelineConfigSpec, mayCreate: boolean): Promise<EnsureOutcome> {
    const { project, region } = this.scope;
    const desired = {
      configName: spec.name,
      inputs: [
        {
          Type: "input_file",
          FilePaths: [...spec.filePaths],
          AllowingIncludedByMultiConfigs: true,
          ...(spec.inputOptions ?? {}),
        },
      ],
      processors: spec.processors.map((processor) => ({ ...processor })),
      flushers: [
        {
          Type: "flusher_sls",
          Logstore: spec.logstore,
          Region: region,
          Endpoint: spec.endpoint,
          TelemetryType: "logs",
        },
      ],
    };
    const current = await this.read("GetLogtailPipelineConfig", ["ConfigNotExist"], (sls) =>
      sls.getLogtailPipelineConfig(project, spec.name),
    );
    if (current === undefined) {
      if (!mayCreate) throw notYetVisible("GetLogtailPipelineConfig", spec.name);
      // The flusher's logstore may have been created a moment ago: settle.
      const outcome = await this.createTolerant(
        "CreateLogtailPipelineConfig",
        "ConfigAlreadyExist",
        (sls) =>
          sls.createLogtailPipelineConfig(project, new $Sls.CreateLogtailPipelineConfigRequest(desired)),
        true,
      );
      if (outcome === "created") return outcome;
      return this.convergePipelineConfig(spec, false);
    }
    const body = current.body ?? {};
    if (pipelineConfigHolds(body, desired, PRODUCT_INPUT_OPTIONS)) return "unchanged";
    await this.call(
      "UpdateLogtailPipelineConfig",
      (sls) =>
        sls.updateLogtailPipelineConfig(
          project,
          spec.name,
          new $Sls.UpdateLogtailPipelineConfigRequest(desired),
        ),
      true,
    );
    return "updated";
  }

  async applyConfig(machineGroup: string, configName: string): Promise<void> {
    await this.call(
      "ApplyConfigToMachineGroup",
      (sls) => sls.applyConfigToMachineGroup(this.scope.project, machineGroup, configName),
      true,
    );
  }

  async removeConfig(machineGroup: string, configName: string): Promise<void> {
    await this.read(
      "RemoveConfigFromMachineGroup",
      ["MachineGroupNotExist", "ConfigNotExist", "ProjectNotExist"],
      (sls) => sls.removeConfigFromMachineGroup(this.scope.project, machineGroup, configName),
    );
  }

  async appliedConfigs(machineGroup: string): Promise<string[] | undefined> {
    const response = await this.read("GetAppliedConfigs", ["MachineGroupNotExist"], (sls) =>
      sls.getAppliedConfigs(this.scope.project, machineGroup),
    );
    if (response === undefined) return undefined;
    return (response.body?.configs ?? []).filter((name): name is string => typeof name === "string");
  }

  async listMachines(machineGroup: string): Promise<ObservedMachine[] | undefined> {
    const machines: ObservedMachine[] = [];
    for (let offset = 0; ; ) {
      const page = await this.read("ListMachines", ["MachineGroupNotExist", "ProjectNotExist"], (sls) =>
        sls.listMachines(
          this.scope.project,
          machineGroup,
          new $Sls.ListMachinesRequest({ offset, size: SLS_LIMITS.listMachinesPage }),
        ),
      );
      if (page === undefined) return undefined;
      const items = page.body?.machines ?? [];
      for (const item of items) {
        machines.push({
          machineUniqueId: item.machineUniqueid ?? "",
          userdefinedId: item.userdefinedId ?? "",
          lastHeartbeatTime: typeof item.lastHeartbeatTime === "number" ? item.lastHeartbeatTime : 0,
          ip: item.ip ?? "",
          hostId: item.hostId ?? "",
        });
      }
      offset += items.length;
      const total = page.body?.total ?? 0;
      if (items.length === 0 || offset >= total) return machines;
    }
  }

  async logstoreExists(logstore: string): Promise<boolean> {
    return this.exists("GetLogStore", ["LogStoreNotExist", "ProjectNotExist"], (sls) =>
      sls.getLogStore(this.scope.project, logstore),
    );
  }

  async pipelineConfigExists(name: string): Promise<boolean> {
    return this.exists("GetLogtailPipelineConfig", ["ConfigNotExist", "ProjectNotExist"], (sls) =>
      sls.getLogtailPipelineConfig(this.scope.project, name),
    );
  }

  async indexExists(logstore: string): Promise<boolean> {
    return this.exists("GetIndex", ["IndexConfigNotExist", "LogStoreNotExist", "ProjectNotExist"], (sls) =>
      sls.getIndex(this.scope.project, logstore),
    );
  }

  async createEtl(job: EtlJobSpec): Promise<EnsureOutcome> {
    const request = new $Sls.CreateETLRequest({
      name: job.name,
      displayName: job.displayName,
      description: job.description ?? "",
      configuration: new $Sls.ETLConfiguration({
        script: job.script,
        lang: "SPL",
        logstore: job.logstore,
        roleArn: job.roleArn,
        fromTime: job.fromTime,
        toTime: job.toTime,
        parameters: {},
        sinks: job.sinks.map(
          (sink) =>
            new $Sls.ETLConfigurationSink({
              name: sink.name,
              project: sink.project,
              logstore: sink.logstore,
              endpoint: sink.endpoint,
              roleArn: sink.roleArn,
              datasets: ["__UNNAMED__"],
            }),
        ),
      }),
    });
    return this.createTolerant("CreateETL", "JobAlreadyExist", (sls) =>
      sls.createETL(this.scope.project, request),
    );
  }

  async getEtl(name: string): Promise<EtlJob | undefined> {
    const response = await this.read("GetETL", ["JobNotExist"], (sls) =>
      sls.getETL(this.scope.project, name),
    );
    return response?.body === undefined ? undefined : toEtlJob(response.body);
  }

  async listEtls(): Promise<EtlJob[]> {
    const jobs: EtlJob[] = [];
    for (let offset = 0; ; ) {
      const page = await this.call("ListETLs", (sls) =>
        sls.listETLs(this.scope.project, new $Sls.ListETLsRequest({ offset, size: SLS_LIMITS.listEtlsPage })),
      );
      const items = page.body?.results ?? [];
      for (const item of items) {
        const job = toEtlJob(item);
        if (job !== undefined) jobs.push(job);
      }
      offset += items.length;
      if (items.length === 0 || offset >= (page.body?.total ?? 0)) return jobs;
    }
  }

  /** Creates; "unchanged" when it turns out to exist already (create-if-exists succeeds). */
  private async createTolerant(
    operation: string,
    alreadyExists: string,
    fn: (sls: Sls) => Promise<unknown>,
    settle = false,
  ): Promise<EnsureOutcome> {
    try {
      await this.call(operation, fn, settle);
      return "created";
    } catch (error) {
      if (error instanceof CloudError && error.code === alreadyExists) return "unchanged";
      throw error;
    }
  }

  /** The call's answer, or undefined when it fails with one of `missing` (a resource that is not there). */
  private async read<T>(
    operation: string,
    missing: readonly string[],
    fn: (sls: Sls) => Promise<T>,
    settle = false,
  ) {
    try {
      return await this.call(operation, fn, settle);
    } catch (error) {
      if (error instanceof CloudError && missing.includes(error.code)) return undefined;
      throw error;
    }
  }

  private async exists(operation: string, missing: readonly string[], fn: (sls: Sls) => Promise<unknown>) {
    return (await this.read(operation, missing, fn)) !== undefined;
  }

  /**
   * One SDK call as a CloudError-throwing, retried call. With `settle`, "does not exist (yet)" answers
   * are retried for a short while (see NOT_YET_VISIBLE) and stay retryable after that.
   */
  private async call<T>(operation: string, fn: (sls: Sls) => Promise<T>, settle = false): Promise<T> {
    const { accountId, region } = this.scope;
    const once = () =>
      cloudCall(this.deps.policy, { service: "sls", operation, accountId, region }, async () => {
        const credentials = await this.deps.credentials.forAccount(accountId);
        return fn(this.deps.clients.sls(region, credentials));
      });
    if (!settle) return once();
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await once();
      } catch (error) {
        if (!(error instanceof CloudError) || !NOT_YET_VISIBLE.has(error.code)) throw error;
        if (attempt >= this.consistency.attempts) throw asRetryable(error);
        await this.consistency.sleep(this.consistency.delayMs);
      }
    }
  }
}

/** Create said "already exists" but a read says "missing": propagation, try again later. */
function notYetVisible(operation: string, name: string): CloudError {
  return new CloudError(`${name} exists but cannot be read yet`, {
    code: "NotYetVisible",
    service: "sls",
    operation,
    retryable: true,
  });
}

function asRetryable(error: CloudError): CloudError {
  return new CloudError(error.message, {
    code: error.code,
    service: error.service,
    operation: error.operation,
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
    retryable: true,
    cause: error.cause,
  });
}

function buildIndex(spec: IndexSpec | undefined): $Sls.Index {
  // No spec, or one that indexes nothing: full text with the default tokens (an index needs one or the other).
  const indexesNothing = spec === undefined || (spec.fullText === undefined && spec.keys === undefined);
  const fullText = indexesNothing ? {} : spec.fullText;
  const line =
    fullText === undefined
      ? undefined
      : new $Sls.IndexLine({
          caseSensitive: fullText.caseSensitive ?? false,
          chn: fullText.chn ?? false,
          token: [...(fullText.token ?? DEFAULT_INDEX_TOKENS)],
        });
  const keys: Record<string, $Sls.IndexKey> = {};
  for (const [name, field] of Object.entries(spec?.keys ?? {})) {
    keys[name] = new $Sls.IndexKey({
      type: field.type,
      caseSensitive: field.caseSensitive ?? false,
      chn: field.chn ?? false,
      docValue: field.docValue ?? true,
      ...(field.type === "text" || field.type === "json"
        ? { token: [...(field.token ?? DEFAULT_INDEX_TOKENS)] }
        : {}),
    });
  }
  return new $Sls.Index({
    ...(line === undefined ? {} : { line }),
    ...(Object.keys(keys).length === 0 ? {} : { keys }),
  });
}

/** Whether the index already does what we ask (fields others added are not our business). */
function indexMatches(desired: $Sls.Index, current: $Sls.GetIndexResponseBody | undefined): boolean {
  const sameTokens = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
    canonicalJson([...(a ?? [])].sort()) === canonicalJson([...(b ?? [])].sort());
  if (desired.line !== undefined) {
    const line = current?.line;
    if (
      line === undefined ||
      (line.caseSensitive ?? false) !== desired.line.caseSensitive ||
      (line.chn ?? false) !== desired.line.chn ||
      !sameTokens(line.token, desired.line.token)
    ) {
      return false;
    }
  }
  for (const [name, key] of Object.entries(desired.keys ?? {})) {
    const actual = current?.keys?.[name];
    if (
      actual === undefined ||
      actual.type !== key.type ||
      (actual.caseSensitive ?? false) !== key.caseSensitive ||
      (actual.chn ?? false) !== key.chn ||
      (actual.docValue ?? false) !== key.docValue ||
      (key.token !== undefined && !sameTokens(actual.token, key.token))
    ) {
      return false;
    }
  }
  return true;
}

function toEtlJob(etl: $Sls.ETL): EtlJob | undefined {
  if (typeof etl.name !== "string") return undefined;
  const configuration = etl.configuration;
  return {
    name: etl.name,
    displayName: etl.displayName ?? "",
    status: etl.status ?? "",
    logstore: configuration?.logstore ?? "",
    fromTime: configuration?.fromTime ?? 0,
    toTime: configuration?.toTime ?? 0,
    script: configuration?.script ?? "",
    sinks: (configuration?.sinks ?? []).map((sink) => ({
      name: sink.name ?? "",
      project: sink.project ?? "",
      logstore: sink.logstore ?? "",
    })),
  };
}
