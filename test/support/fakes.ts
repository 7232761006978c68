/**
 * Port fakes for the unit tier, after crossplane's `ExternalClientFns`: each fake is the port, and
 * each of its methods logs the call (method + arguments) and runs `fns.<method>`. `fns` starts as a
 * small in-memory behaviour (instances with tags in a map, a queue as an array with receipt handles,
 * SLS resources in sets); a test replaces one to answer otherwise:
 *
 *   const ecs = cloud.ecs(APP_B);
 *   ecs.fns.invocationResults = async () => { throw cloudError("ServiceUnavailable", { retryable: true }); };
 *
 * `useCaseDeps` builds the dependencies every use case takes from one fake cloud, on a fake clock
 * whose `sleep` advances it at once. Every deps object of the unit tests comes from it, so a change
 * to the use cases' Deps types is made there alone.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import type { OperatingSystem, RoutesFile } from "../../shared/config/routesSchema";
import type { HostScripts, RenderedHostCommand } from "../../shared/hostscript/hostCommand";
import type { HostReport } from "../../shared/hostscript/hostReport";
import { type DecodedMessage, decodeMessage, HUB_QUEUES } from "../../shared/messages/queueMessages";
import type { ObservedMachine } from "../../shared/planner/types";
import type {
  AccountRegion,
  CommandInvocation,
  DeleteFailure,
  EcsPort,
  EnsureOutcome,
  EtlJob,
  InstanceRecord,
  InvocationResult,
  LogQuery,
  LogRow,
  PipelineConfigSpec,
  PipelineInputState,
  QueuePort,
  ReceivedMessage,
  SlsPort,
  SlsScope,
} from "../../shared/ports";
import type { SnapshotStore } from "../../shared/ports/snapshots";
import type { applyRoute } from "../../shared/usecases/applyRoute";
import type { authorizeInstances } from "../../shared/usecases/authorizeInstances";
import type { checkCommands } from "../../shared/usecases/checkCommands";
import type { checkHeartbeats } from "../../shared/usecases/checkHeartbeats";
import type { waitForInvocation } from "../../shared/usecases/commandResults";
import type { reconcile } from "../../shared/usecases/reconcile";
import type { fanOutReconcile } from "../../shared/usecases/reconcileShards";

// ---------------------------------------------------------------------------------------------
// The routes file and the accounts the tests use (the same file as the stack tests).

export const ROUTES: RoutesFile = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
/** The hub, also the destination account of both routes. */
export const HUB = ROUTES.hub.accountId;
/** Source account app-b: routes app-b-prod (retire + backfill) and payments-prod; cn-hangzhou and cn-shanghai. */
export const APP_B = "1700000000000397";
/** Source account payments: route payments-prod only, cn-hangzhou only. */
export const PAYMENTS = "1800000000000512";
export const REGION = "cn-hangzhou";
export const ROUTE_KEY = ROUTES.tagKey;
export const STATUS_KEY = ROUTES.statusTagKey;

// ---------------------------------------------------------------------------------------------
// Call logs.

type Methods<T> = { [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];
/** The port's methods alone: what a test may replace. */
export type Fns<T> = Pick<T, Methods<T>>;
/** One call of a port method, with its arguments as passed. */
export type Call<T> = {
  [K in Methods<T>]: { method: K; args: T[K] extends (...args: infer A) => unknown ? A : never };
}[Methods<T>];

/** The arguments of every call of one method, in order. */
export function argsOf<T, K extends Methods<T>>(
  calls: readonly Call<T>[],
  method: K,
): Array<Extract<Call<T>, { method: K }>["args"]> {
  return calls
    .filter((call): call is Extract<Call<T>, { method: K }> => call.method === method)
    .map((c) => c.args);
}

/** Every call to any fake of one cloud, in order, as `port:scope.method`, for order and no-call checks. */
export type Journal = string[];

// ---------------------------------------------------------------------------------------------
// The clock.

export interface FakeClock {
  now(): number;
  /** Advances the clock by `ms` at once: nothing really waits. */
  sleep(ms: number): Promise<void>;
  advance(ms: number): void;
  /** Every sleep asked for, in ms. */
  slept: number[];
}

export function fakeClock(start = Date.UTC(2026, 3, 1)): FakeClock {
  let now = start;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
    slept,
  };
}

// ---------------------------------------------------------------------------------------------
// Errors, shaped as the ports promise (`errorCode`, `isRetryable`).

export class FakeCloudError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, options: { retryable?: boolean; message?: string } = {}) {
    super(options.message ?? `${code} (fake)`);
    this.name = "FakeCloudError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export function cloudError(
  code: string,
  options: { retryable?: boolean; message?: string } = {},
): FakeCloudError {
  return new FakeCloudError(code, options);
}

// ---------------------------------------------------------------------------------------------
// Instances, host script runs and reports.

/** A deterministic SMBIOS UUID per instance id, as ECS reports it (lower case). */
export function serialOf(instanceId: string): string {
  const hex = createHash("sha256").update(instanceId).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function instance(
  instanceId: string,
  fields: Partial<Omit<InstanceRecord, "instanceId">> = {},
): InstanceRecord {
  return {
    instanceId,
    accountId: APP_B,
    region: REGION,
    os: "linux",
    status: "Running",
    serialNumber: serialOf(instanceId),
    privateIps: ["10.0.0.1"],
    tags: {},
    ...fields,
  };
}

/** The route tag, and the status tag when given. */
export function tags(route?: string, status?: string): Record<string, string> {
  return {
    ...(route === undefined ? {} : { [ROUTE_KEY]: route }),
    ...(status === undefined ? {} : { [STATUS_KEY]: status }),
  };
}

/** What `ListMachines` shows for an agent of this instance heartbeating `identifier` at `atMs`. */
export function machineOf(
  record: Pick<InstanceRecord, "serialNumber">,
  identifier: string,
  atMs: number,
): ObservedMachine {
  // Agents print the UUID in upper case: the match must not care.
  return {
    machineUniqueId: record.serialNumber.toUpperCase(),
    userdefinedId: identifier,
    lastHeartbeatTime: Math.floor(atMs / 1000),
    ip: "10.0.0.1",
  };
}

/** The words a rendered host command passes to the host script: `["authorize", "--uid", …]`. */
export function commandWords(command: RenderedHostCommand): string[] {
  const script = Buffer.from(command.commandContent, "base64").toString("utf8");
  const line = script.split("\n").find((l) => l.startsWith("set -- ") || l.startsWith("$LtxArguments = @("));
  return [...(line ?? "").matchAll(/'([^']*)'/g)].map((m) => m[1] ?? "");
}

/** Host scripts small enough to read in a failure message; rendering puts the arguments in front. */
export const FAKE_SCRIPTS: HostScripts = {
  linux: "#!/bin/sh\n# fake host script\nexit 0\n",
  windows: "# fake host script\nexit 0\n",
};

/** The JSON report the host script ends with; ok, agent installed and running, nothing on the host. */
export function hostReport(fields: Partial<HostReport> = {}): HostReport {
  return {
    tool: "logtail-xacct",
    scriptVersion: 1,
    action: "authorize",
    ok: true,
    changed: { uidFile: false, identifiers: false },
    uidFiles: [],
    identifiers: [],
    agent: { flavor: "ilogtail", control: "initd", running: true, restarted: false, restartError: null },
    host: { dmiUuid: null, ip: null, hostname: null, agentVersion: null },
    error: null,
    ...fields,
  };
}

/** A run that ended with exit 0 and printed this report. */
export function succeeded(instanceId: string, report: HostReport = hostReport()): InvocationResult {
  return {
    instanceId,
    status: "Success",
    finished: true,
    exitCode: 0,
    output: `some output\n${JSON.stringify(report)}\n`,
    dropped: 0,
  };
}

/** A run Cloud Assistant ended otherwise (Failed, Timeout, …), with its error code. */
export function failedRun(
  instanceId: string,
  fields: Partial<Omit<InvocationResult, "instanceId">> = {},
): InvocationResult {
  return { instanceId, status: "Failed", finished: true, exitCode: 1, output: "", dropped: 0, ...fields };
}

/** A command not finished yet (Pending, Running). */
export function stillRunning(instanceId: string, status = "Running"): InvocationResult {
  return { instanceId, status, finished: false, output: "", dropped: 0 };
}

// ---------------------------------------------------------------------------------------------
// ECS and Cloud Assistant.

export interface FakeInvocation {
  invokeId: string;
  command: RenderedHostCommand;
  /** The host script's arguments (`commandWords`). */
  words: string[];
  instanceIds: string[];
  attemptKey: string;
  /** What each host reports now; replace one to let a slow host finish. */
  results: InvocationResult[];
}

export interface FakeEcs extends EcsPort {
  fns: Fns<EcsPort>;
  calls: Call<EcsPort>[];
  /** Instance id → record. `describeInstances` returns copies: a later tag write does not show in them. */
  instances: Map<string, InstanceRecord>;
  /** Instances whose Cloud Assistant is offline (every other known instance is online). */
  offline: Set<string>;
  invocations: Map<string, FakeInvocation>;
  /** What a host reports when a command reaches it; by default the script ran and reported ok. */
  answer(instanceId: string, words: readonly string[]): InvocationResult;
  /** Replaces one host's result in an invocation (a slow host finishing). */
  setResult(invokeId: string, result: InvocationResult): void;
  /** The invocations that ran this host action (`authorize`, `revoke`, `inspect`), in order. */
  commandsRun(action?: string): FakeInvocation[];
}

const copyRecord = (record: InstanceRecord): InstanceRecord => ({
  ...record,
  privateIps: [...record.privateIps],
  tags: { ...record.tags },
});

let invocationSerial = 0;

export function fakeEcs(scope: AccountRegion, journal: Journal = []): FakeEcs {
  const calls: Call<EcsPort>[] = [];
  const instances = new Map<string, InstanceRecord>();
  const invocations = new Map<string, FakeInvocation>();
  const offline = new Set<string>();
  const fns: Fns<EcsPort> = {
    describeInstances: async (filter = {}) => {
      const all = [...instances.values()];
      if ("instanceIds" in filter && filter.instanceIds !== undefined) {
        return filter.instanceIds.flatMap((id) => {
          const found = instances.get(id);
          return found ? [copyRecord(found)] : [];
        });
      }
      if ("tagKey" in filter && typeof filter.tagKey === "string") {
        const { tagKey, tagValue } = filter;
        return all
          .filter((i) => tagKey in i.tags && (tagValue === undefined || i.tags[tagKey] === tagValue))
          .map(copyRecord);
      }
      return all.map(copyRecord);
    },
    cloudAssistantStatus: async (ids) =>
      new Map(ids.filter((id) => instances.has(id)).map((id) => [id, !offline.has(id)])),
    tagInstances: async (ids, values) => {
      for (const id of ids) {
        const record = instances.get(id);
        if (record) record.tags = { ...record.tags, ...values };
      }
    },
    untagInstances: async (ids, keys) => {
      for (const id of ids) {
        const record = instances.get(id);
        if (!record) continue;
        const kept = { ...record.tags };
        for (const key of keys) delete kept[key];
        record.tags = kept;
      }
    },
    runCommand: async (command, ids, options) => {
      const words = commandWords(command);
      const made: CommandInvocation[] = [];
      // One RunCommand per 100 instances, as the adapter does.
      for (let i = 0; i < ids.length; i += 100) {
        const instanceIds = ids.slice(i, i + 100);
        invocationSerial += 1;
        const invokeId = `t-fake${String(invocationSerial).padStart(8, "0")}`;
        invocations.set(invokeId, {
          invokeId,
          command,
          words,
          instanceIds,
          attemptKey: options.attemptKey,
          results: instanceIds.map((id) => fake.answer(id, words)),
        });
        made.push({ invokeId, commandId: `c-fake${invocationSerial}`, instanceIds });
      }
      return made;
    },
    invocationResults: async (invokeId) => {
      const invocation = invocations.get(invokeId);
      // What the adapter raises when DescribeInvocations does not list the invocation: not retryable.
      if (!invocation) throw cloudError("InvocationNotFound", { message: `no invocation ${invokeId}` });
      const results = invocation.results.map((r) => ({ ...r }));
      return { invokeId, finished: results.every((r) => r.finished), results };
    },
  };
  const log = (method: string) => journal.push(`ecs:${scope.accountId}/${scope.region}.${method}`);
  const fake: FakeEcs = {
    scope,
    fns,
    calls,
    instances,
    offline,
    invocations,
    answer: (id) => succeeded(id),
    setResult: (invokeId, result) => {
      const invocation = invocations.get(invokeId);
      if (!invocation) throw new Error(`no invocation ${invokeId}`);
      invocation.results = invocation.results.map((r) => (r.instanceId === result.instanceId ? result : r));
    },
    commandsRun: (action) =>
      [...invocations.values()].filter((i) => action === undefined || i.words[0] === action),
    describeInstances: (...args) => {
      calls.push({ method: "describeInstances", args });
      log("describeInstances");
      return fns.describeInstances(...args);
    },
    cloudAssistantStatus: (...args) => {
      calls.push({ method: "cloudAssistantStatus", args });
      log("cloudAssistantStatus");
      return fns.cloudAssistantStatus(...args);
    },
    tagInstances: (...args) => {
      calls.push({ method: "tagInstances", args });
      log("tagInstances");
      return fns.tagInstances(...args);
    },
    untagInstances: (...args) => {
      calls.push({ method: "untagInstances", args });
      log("untagInstances");
      return fns.untagInstances(...args);
    },
    runCommand: (...args) => {
      calls.push({ method: "runCommand", args });
      log("runCommand");
      return fns.runCommand(...args);
    },
    invocationResults: (...args) => {
      calls.push({ method: "invocationResults", args });
      log("invocationResults");
      return fns.invocationResults(...args);
    },
  };
  return fake;
}

// ---------------------------------------------------------------------------------------------
// SLS: one project in one account and region.

export interface FakeSls extends SlsPort {
  fns: Fns<SlsPort>;
  calls: Call<SlsPort>[];
  projectExists: boolean;
  logstores: Set<string>;
  /** Logstores with an index. */
  indexes: Set<string>;
  /** Machine group → its identifiers. */
  machineGroups: Map<string, string[]>;
  pipelineConfigs: Map<string, PipelineConfigSpec>;
  /** Machine group → the configs bound to it. */
  bindings: Map<string, Set<string>>;
  /**
   * Machine group name → what agents heartbeat into it. Listed once the group exists: agents
   * heartbeat by identifier, so a group made later lists the hosts already reporting.
   */
  machines: Map<string, ObservedMachine[]>;
  etls: Map<string, EtlJob>;
  /** Index keys added through ensureIndexKeys, per logstore. */
  indexKeys: Map<string, Set<string>>;
  /** Pipeline configs of someone else (a source's config), by name. */
  pipelineInputs: Map<string, PipelineInputState>;
  /** What queryLogs answers (default: no rows); every query is in `calls`. */
  answer: (logstore: string, query: LogQuery) => LogRow[];
  /**
   * The IPs whose lines are in the logstores, for the delivery query (lines per `__source__`).
   * Default: every machine that heartbeats into one of this project's groups delivers.
   */
  delivering: Set<string> | "every machine";
}

export function fakeSls(scope: SlsScope, journal: Journal = [], now: () => number = () => 0): FakeSls {
  const calls: Call<SlsPort>[] = [];
  const logstores = new Set<string>();
  const indexes = new Set<string>();
  const machineGroups = new Map<string, string[]>();
  const pipelineConfigs = new Map<string, PipelineConfigSpec>();
  const bindings = new Map<string, Set<string>>();
  const machines = new Map<string, ObservedMachine[]>();
  const etls = new Map<string, EtlJob>();
  const indexKeys = new Map<string, Set<string>>();
  const pipelineInputs = new Map<string, PipelineInputState>();
  const project = (): void => {
    if (!fake.projectExists) throw cloudError("ProjectNotExist", { message: `no project ${scope.project}` });
  };
  const added = (set: Set<string>, name: string): EnsureOutcome => {
    if (set.has(name)) return "unchanged";
    set.add(name);
    return "created";
  };
  const fns: Fns<SlsPort> = {
    ensureProject: async () => {
      if (fake.projectExists) return "unchanged";
      fake.projectExists = true;
      return "created";
    },
    ensureLogstore: async (name) => {
      project();
      return added(logstores, name);
    },
    ensureIndex: async (logstore) => {
      project();
      if (!logstores.has(logstore)) throw cloudError("LogStoreNotExist");
      return added(indexes, logstore);
    },
    ensureMachineGroup: async (name, identifiers) => {
      project();
      const current = machineGroups.get(name);
      machineGroups.set(name, [...identifiers]);
      if (current === undefined) return "created";
      return current.join("\n") === identifiers.join("\n") ? "unchanged" : "updated";
    },
    ensurePipelineConfig: async (spec) => {
      project();
      const current = pipelineConfigs.get(spec.name);
      pipelineConfigs.set(spec.name, spec);
      if (current === undefined) return "created";
      return JSON.stringify(current) === JSON.stringify(spec) ? "unchanged" : "updated";
    },
    applyConfig: async (group, config) => {
      project();
      if (!machineGroups.has(group)) throw cloudError("MachineGroupNotExist");
      if (!pipelineConfigs.has(config)) throw cloudError("ConfigNotExist");
      bindings.set(group, new Set([...(bindings.get(group) ?? []), config]));
    },
    removeConfig: async (group, config) => {
      bindings.get(group)?.delete(config);
    },
    appliedConfigs: async (group) => {
      project();
      return machineGroups.has(group) ? [...(bindings.get(group) ?? [])] : undefined;
    },
    listMachines: async (group) =>
      fake.projectExists && machineGroups.has(group) ? [...(machines.get(group) ?? [])] : undefined,
    logstoreExists: async (name) => fake.projectExists && logstores.has(name),
    pipelineConfigExists: async (name) => fake.projectExists && pipelineConfigs.has(name),
    indexExists: async (name) => fake.projectExists && indexes.has(name),
    createEtl: async (job) => {
      project();
      if (etls.has(job.name)) return "unchanged";
      etls.set(job.name, {
        name: job.name,
        displayName: job.displayName,
        status: "RUNNING",
        logstore: job.logstore,
        fromTime: job.fromTime,
        toTime: job.toTime,
        script: job.script,
        sinks: job.sinks.map((s) => ({ name: s.name, project: s.project, logstore: s.logstore })),
      });
      return "created";
    },
    getEtl: async (name) => {
      project();
      const job = etls.get(name);
      return job && { ...job };
    },
    listEtls: async () => {
      project();
      return [...etls.values()].map((job) => ({ ...job }));
    },
    ensureIndexKeys: async (logstore, keys) => {
      project();
      const current = indexKeys.get(logstore) ?? new Set<string>();
      const missing = Object.keys(keys).filter((key) => !current.has(key));
      for (const key of missing) current.add(key);
      indexKeys.set(logstore, current);
      return missing.length === 0 ? "unchanged" : "updated";
    },
    queryLogs: async (logstore, query) => {
      project();
      if (query.query.startsWith("* | select __source__ as ip, count(*) as lines")) {
        if (!logstores.has(logstore)) throw cloudError("LogStoreNotExist");
        const ips =
          fake.delivering === "every machine"
            ? [...machines.values()].flat().map((machine) => machine.ip)
            : [...fake.delivering];
        return [...new Set(ips)].map((ip) => ({ ip, lines: "1" }));
      }
      return fake.answer(logstore, query);
    },
    pipelineInput: async (name) => {
      project();
      const state = pipelineInputs.get(name) ?? pipelineConfigInput(pipelineConfigs.get(name));
      return state && { ...state };
    },
    ensurePipelineInputOptions: async (name, options) => {
      project();
      const state = pipelineInputs.get(name) ?? pipelineConfigInput(pipelineConfigs.get(name));
      if (state?.input === undefined) throw cloudError("ConfigNotExist");
      if (Object.entries(options).every(([key, value]) => state.input?.[key] === value)) return "unchanged";
      pipelineInputs.set(name, {
        ...state,
        input: { ...state.input, ...options },
        lastModifyTime: Math.floor(now() / 1000),
      });
      return "updated";
    },
  };
  const log = (method: string) =>
    journal.push(`sls:${scope.accountId}/${scope.region}/${scope.project}.${method}`);
  const fake: FakeSls = {
    scope,
    fns,
    calls,
    projectExists: false,
    logstores,
    indexes,
    machineGroups,
    pipelineConfigs,
    bindings,
    machines,
    etls,
    indexKeys,
    pipelineInputs,
    answer: () => [],
    delivering: "every machine",
    ensureProject: (...args) => {
      calls.push({ method: "ensureProject", args });
      log("ensureProject");
      return fns.ensureProject(...args);
    },
    ensureLogstore: (...args) => {
      calls.push({ method: "ensureLogstore", args });
      log("ensureLogstore");
      return fns.ensureLogstore(...args);
    },
    ensureIndex: (...args) => {
      calls.push({ method: "ensureIndex", args });
      log("ensureIndex");
      return fns.ensureIndex(...args);
    },
    ensureMachineGroup: (...args) => {
      calls.push({ method: "ensureMachineGroup", args });
      log("ensureMachineGroup");
      return fns.ensureMachineGroup(...args);
    },
    ensurePipelineConfig: (...args) => {
      calls.push({ method: "ensurePipelineConfig", args });
      log("ensurePipelineConfig");
      return fns.ensurePipelineConfig(...args);
    },
    applyConfig: (...args) => {
      calls.push({ method: "applyConfig", args });
      log("applyConfig");
      return fns.applyConfig(...args);
    },
    removeConfig: (...args) => {
      calls.push({ method: "removeConfig", args });
      log("removeConfig");
      return fns.removeConfig(...args);
    },
    appliedConfigs: (...args) => {
      calls.push({ method: "appliedConfigs", args });
      log("appliedConfigs");
      return fns.appliedConfigs(...args);
    },
    listMachines: (...args) => {
      calls.push({ method: "listMachines", args });
      log("listMachines");
      return fns.listMachines(...args);
    },
    logstoreExists: (...args) => {
      calls.push({ method: "logstoreExists", args });
      log("logstoreExists");
      return fns.logstoreExists(...args);
    },
    pipelineConfigExists: (...args) => {
      calls.push({ method: "pipelineConfigExists", args });
      log("pipelineConfigExists");
      return fns.pipelineConfigExists(...args);
    },
    indexExists: (...args) => {
      calls.push({ method: "indexExists", args });
      log("indexExists");
      return fns.indexExists(...args);
    },
    createEtl: (...args) => {
      calls.push({ method: "createEtl", args });
      log("createEtl");
      return fns.createEtl(...args);
    },
    getEtl: (...args) => {
      calls.push({ method: "getEtl", args });
      log("getEtl");
      return fns.getEtl(...args);
    },
    listEtls: (...args) => {
      calls.push({ method: "listEtls", args });
      log("listEtls");
      return fns.listEtls(...args);
    },
    ensureIndexKeys: (...args) => {
      calls.push({ method: "ensureIndexKeys", args });
      log("ensureIndexKeys");
      return fns.ensureIndexKeys(...args);
    },
    queryLogs: (...args) => {
      calls.push({ method: "queryLogs", args });
      log("queryLogs");
      return fns.queryLogs(...args);
    },
    pipelineInput: (...args) => {
      calls.push({ method: "pipelineInput", args });
      log("pipelineInput");
      return fns.pipelineInput(...args);
    },
    ensurePipelineInputOptions: (...args) => {
      calls.push({ method: "ensurePipelineInputOptions", args });
      log("ensurePipelineInputOptions");
      return fns.ensurePipelineInputOptions(...args);
    },
  };
  return fake;
}

/** A config this fake made itself, as pipelineInput shows it. */
function pipelineConfigInput(spec: PipelineConfigSpec | undefined): PipelineInputState | undefined {
  if (spec === undefined) return undefined;
  return {
    input: { Type: "input_file", FilePaths: [...spec.filePaths], ...(spec.inputOptions ?? {}) },
    logstore: spec.logstore,
    lastModifyTime: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// The hub's queues.

export interface StoredMessage {
  queue: string;
  messageId: string;
  body: string;
  /** The delay it was sent with (s). */
  delaySeconds: number;
  /** ms on the clock: received only from then on. */
  visibleAt: number;
  dequeueCount: number;
  /** The handle of its latest receive; undefined until received. */
  receiptHandle?: string;
}

export interface FakeQueue extends QueuePort {
  fns: Fns<QueuePort>;
  calls: Call<QueuePort>[];
  /** Every message not deleted, in every queue, in the order sent. */
  messages: StoredMessage[];
  /** How long a received message stays invisible (s); MNS's default in this deployment. */
  visibilitySeconds: number;
  /** Every body sent to a queue (deleted or not), decoded, with the delay it was sent with. */
  sent(queue: string): Array<DecodedMessage & { delaySeconds: number }>;
  /** The messages still in a queue (visible or not), decoded. */
  waiting(queue: string): DecodedMessage[];
}

export function fakeQueue(now: () => number, journal: Journal = []): FakeQueue {
  const calls: Call<QueuePort>[] = [];
  const messages: StoredMessage[] = [];
  let serial = 0;
  const fns: Fns<QueuePort> = {
    send: async (queue, bodies, options = {}) => {
      const delaySeconds = options.delaySeconds ?? 0;
      return bodies.map((body) => {
        serial += 1;
        const messageId = `msg-${serial}`;
        messages.push({
          queue,
          messageId,
          body,
          delaySeconds,
          visibleAt: now() + delaySeconds * 1000,
          dequeueCount: 0,
        });
        return messageId;
      });
    },
    receive: async (queue, max) => {
      const at = now();
      const visible = messages
        .filter((m) => m.queue === queue && m.visibleAt <= at)
        .slice(0, Math.min(max, 16));
      return visible.map((m): ReceivedMessage => {
        serial += 1;
        m.dequeueCount += 1;
        m.receiptHandle = `rh-${serial}`;
        m.visibleAt = at + fake.visibilitySeconds * 1000;
        return {
          messageId: m.messageId,
          body: m.body,
          receiptHandle: m.receiptHandle,
          dequeueCount: m.dequeueCount,
        };
      });
    },
    delete: async (queue, handles) => {
      const failures: DeleteFailure[] = [];
      for (const handle of handles) {
        const index = messages.findIndex((m) => m.queue === queue && m.receiptHandle === handle);
        if (index >= 0) messages.splice(index, 1);
        else
          failures.push({
            receiptHandle: handle,
            code: "ReceiptHandleError",
            message: "stale receipt handle",
          });
      }
      return failures;
    },
    changeVisibility: async (queue, handle, seconds) => {
      const message = messages.find((m) => m.queue === queue && m.receiptHandle === handle);
      if (!message) throw cloudError("ReceiptHandleError");
      serial += 1;
      message.receiptHandle = `rh-${serial}`;
      message.visibleAt = now() + seconds * 1000;
      return message.receiptHandle;
    },
  };
  const log = (method: string) => journal.push(`queue.${method}`);
  const fake: FakeQueue = {
    scope: { accountId: HUB, region: REGION },
    fns,
    calls,
    messages,
    visibilitySeconds: 300,
    sent: (queue) =>
      argsOf<QueuePort, "send">(calls, "send")
        .filter(([name]) => name === queue)
        .flatMap(([, bodies, options]) =>
          bodies.map((body) => ({ ...decodeMessage(body), delaySeconds: options?.delaySeconds ?? 0 })),
        ),
    waiting: (queue) => messages.filter((m) => m.queue === queue).map((m) => decodeMessage(m.body)),
    send: (...args) => {
      calls.push({ method: "send", args });
      log("send");
      return fns.send(...args);
    },
    receive: (...args) => {
      calls.push({ method: "receive", args });
      log("receive");
      return fns.receive(...args);
    },
    delete: (...args) => {
      calls.push({ method: "delete", args });
      log("delete");
      return fns.delete(...args);
    },
    changeVisibility: (...args) => {
      calls.push({ method: "changeVisibility", args });
      log("changeVisibility");
      return fns.changeVisibility(...args);
    },
  };
  return fake;
}

// ---------------------------------------------------------------------------------------------
// One fake cloud, and the use cases' dependencies built from it.

/** What every use case takes, as their public signatures say: one object satisfies them all. */
export type UseCaseDeps = Parameters<typeof authorizeInstances>[0] &
  Parameters<typeof applyRoute>[0] &
  Parameters<typeof checkHeartbeats>[0] &
  Parameters<typeof checkCommands>[0] &
  Parameters<typeof reconcile>[0] &
  Parameters<typeof fanOutReconcile>[0] &
  Parameters<typeof waitForInvocation>[0];
export type LogLine = Parameters<UseCaseDeps["log"]>[0];
export type DeadLetterEntry = Parameters<UseCaseDeps["deadLetter"]>[0];

export interface FakeCloud {
  clock: FakeClock;
  /** The same fake for the same account and region. */
  ecs(scope: AccountRegion): FakeEcs;
  /** The same fake for the same account, region and project. */
  sls(scope: SlsScope): FakeSls;
  queue: FakeQueue;
  /** Every port call, in order (`ecs:<account>/<region>.tagInstances`, `queue.send`, …). */
  journal: Journal;
  logs: LogLine[];
  deadLetters: DeadLetterEntry[];
  /** Puts instances in their account and region. */
  add(...records: InstanceRecord[]): void;
  /** An instance's record as ECS holds it now (not a copy). */
  record(instanceId: string): InstanceRecord | undefined;
  /** An instance's status tag now. */
  status(instanceId: string): string | undefined;
}

export function fakeCloud(start?: number): FakeCloud {
  const clock = fakeClock(start);
  const journal: Journal = [];
  const ecsFakes = new Map<string, FakeEcs>();
  const slsFakes = new Map<string, FakeSls>();
  const ecs = (scope: AccountRegion): FakeEcs => {
    const key = `${scope.accountId}|${scope.region}`;
    const existing = ecsFakes.get(key);
    if (existing) return existing;
    const made = fakeEcs({ accountId: scope.accountId, region: scope.region }, journal);
    ecsFakes.set(key, made);
    return made;
  };
  const record = (id: string): InstanceRecord | undefined => {
    for (const fake of ecsFakes.values()) {
      const found = fake.instances.get(id);
      if (found) return found;
    }
    return undefined;
  };
  return {
    clock,
    ecs,
    sls: (scope) => {
      const key = `${scope.accountId}|${scope.region}|${scope.project}`;
      const existing = slsFakes.get(key);
      if (existing) return existing;
      const made = fakeSls(
        { accountId: scope.accountId, region: scope.region, project: scope.project },
        journal,
        clock.now,
      );
      slsFakes.set(key, made);
      return made;
    },
    queue: fakeQueue(clock.now, journal),
    journal,
    logs: [],
    deadLetters: [],
    add: (...records) => {
      for (const r of records) ecs(r).instances.set(r.instanceId, copyRecord(r));
    },
    record,
    status: (id) => record(id)?.tags[STATUS_KEY],
  };
}

/** The SLS endpoint agents and copy jobs write to. */
/** As Alibaba's resolver: the intranet endpoint, the public one for a route across regions. */
export const dataEndpoint = (region: string, network?: "intranet" | "internet"): string =>
  network === "internet" ? `${region}.log.aliyuncs.com` : `${region}-intranet.log.aliyuncs.com`;

/**
 * The dependencies of every use case, from one fake cloud: its ports, the example routes file, the
 * hub's queue names, tiny host scripts, the fake clock, logs and dead letters kept on the cloud.
 * The one place that knows the Deps types' shape.
 */
export function useCaseDeps(cloud: FakeCloud, overrides: Partial<UseCaseDeps> = {}): UseCaseDeps {
  return {
    config: ROUTES,
    ecs: (scope) => cloud.ecs(scope),
    sls: (scope) => cloud.sls(scope),
    queue: cloud.queue,
    heartbeatQueue: HUB_QUEUES.heartbeat,
    applyQueue: HUB_QUEUES.apply,
    reconcileQueue: HUB_QUEUES.reconcile,
    deadLetter: async (entry) => {
      cloud.deadLetters.push(entry);
    },
    scripts: FAKE_SCRIPTS,
    slsDataEndpoint: dataEndpoint,
    now: () => cloud.clock.now(),
    sleep: (ms) => cloud.clock.sleep(ms),
    log: (line) => {
      cloud.logs.push(line);
    },
    ...overrides,
  };
}

/** The OS-specific settings of a route in the example routes file. */
export function routeFor(name: string, os: OperatingSystem = "linux") {
  const route = ROUTES.routes[name];
  if (!route) throw new Error(`no route ${name} in the example routes file`);
  const destination = ROUTES.destinations[route.destination];
  if (!destination) throw new Error(`route ${name} has no destination`);
  return {
    route,
    destination: { accountId: destination.uid, region: destination.region, project: route.project },
    group: route.machineGroup[os] ?? "",
    identifier: route.identifier[os] ?? "",
    config: route.logtailConfig[os]?.name ?? "",
  };
}

/** An in-memory snapshot bucket that counts what it was asked. */
export function memorySnapshotStore(): SnapshotStore & {
  objects: Map<string, Uint8Array>;
  reads: number;
  writes: number;
} {
  const objects = new Map<string, Uint8Array>();
  const store = {
    objects,
    reads: 0,
    writes: 0,
    read: async (key: string) => {
      store.reads += 1;
      return objects.get(key);
    },
    write: async (key: string, body: Uint8Array) => {
      store.writes += 1;
      objects.set(key, body);
    },
  };
  return store;
}
