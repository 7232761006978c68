import { createHash, randomUUID } from "node:crypto";
import type { Clock } from "../core/types";
import { ecsErrors } from "./errors";
import {
  type CommandExecution,
  type CommandExecutor,
  type CommandType,
  type ExecutionOutcome,
  type OsType,
  unreachableHostExecutor,
} from "./executor";

export type InstanceStatus = "Pending" | "Running" | "Starting" | "Stopping" | "Stopped";
export const instanceStatuses: readonly InstanceStatus[] = [
  "Pending",
  "Running",
  "Starting",
  "Stopping",
  "Stopped",
];

/** How long a command may wait to be picked up by the agent before it ends as DeliveryTimeout. */
export const DELIVERY_TIMEOUT_MS = 10 * 60_000;

export interface EcsInstance {
  instanceId: string;
  accountId: string;
  regionId: string;
  zoneId: string;
  instanceName: string;
  hostName: string;
  serialNumber: string;
  osType: OsType;
  osName: string;
  status: InstanceStatus;
  privateIpAddress: string;
  vpcId: string;
  vSwitchId: string;
  networkInterfaceId: string;
  macAddress: string;
  instanceType: string;
  imageId: string;
  /** Insertion-ordered, as ECS lists tags. */
  tags: Map<string, string>;
  cloudAssistantOnline: boolean;
  cloudAssistantVersion: string;
  creationTime: number;
  startTime: number;
  lastInvokedTime: number | undefined;
  invocationCount: number;
}

export interface InstanceSpec {
  accountId: string;
  regionId: string;
  instanceId?: string;
  osType: OsType;
  status: "Running" | "Stopped";
  cloudAssistant: "online" | "offline";
  tags?: Record<string, string>;
  privateIpAddress?: string;
  instanceName?: string;
}

/** Per-instance outcome of an invocation, in Cloud Assistant's vocabulary. */
export type InvocationStatus = "Pending" | "Running" | "Success" | "Failed" | "Timeout";

export interface InstanceInvocationResult {
  instanceId: string;
  status: InvocationStatus;
  exitCode: number | undefined;
  errorCode: string;
  errorInfo: string;
  output: Buffer;
  dropped: number;
  creationTime: number;
  startTime: number | undefined;
  finishTime: number | undefined;
  updateTime: number;
}

export interface Invocation {
  invokeId: string;
  commandId: string;
  accountId: string;
  regionId: string;
  type: CommandType;
  name: string;
  description: string;
  /** As sent, Base64 (DescribeInvocations returns it Base64-encoded). */
  commandContentBase64: string;
  parameters: Record<string, string>;
  timeoutSeconds: number;
  username: string | undefined;
  workingDir: string | undefined;
  creationTime: number;
  results: InstanceInvocationResult[];
}

export interface RunCommandInput {
  accountId: string;
  regionId: string;
  type: CommandType;
  /** Decoded script, parameters not yet filled in. */
  script: string;
  enableParameter: boolean;
  parameters: Record<string, string>;
  instanceIds: string[];
  timeoutSeconds: number;
  username: string | undefined;
  workingDir: string | undefined;
  name: string | undefined;
  description: string | undefined;
  clientToken: string | undefined;
}

export interface TagChangeEvent {
  operation: "TagResources" | "UntagResources";
  accountId: string;
  regionId: string;
  callerArn: string;
  requestId: string;
  at: number;
  resourceIds: string[];
  /** What the call asked for (TagResources: tags; UntagResources: keys or all). */
  request: { tags?: Record<string, string>; tagKeys?: string[]; all?: boolean };
  changes: Array<{ instanceId: string; before: Record<string, string>; after: Record<string, string> }>;
}

export interface StateChangeEvent {
  accountId: string;
  regionId: string;
  instanceId: string;
  previous: InstanceStatus;
  current: InstanceStatus;
  at: number;
}

/** Emulator time the backend runs on, with timers (state transitions, command timeouts). */
export interface Scheduler extends Clock {
  setTimer(at: number, callback: () => void): () => void;
}

export interface EcsBackendOptions {
  /** Emulator seconds an instance spends in `Starting` / `Stopping`. 0 = the change is immediate. */
  transitionSeconds: number;
  /** Bytes of output kept per instance result; the rest is counted in `Dropped`. */
  outputLimitBytes: number;
}

const defaultOptions: EcsBackendOptions = { transitionSeconds: 0, outputLimitBytes: 24 * 1024 };

interface CallerContext {
  accountId: string;
  regionId: string;
  callerArn: string;
  requestId: string;
}

/**
 * ECS and Cloud Assistant state and behaviour, no HTTP. Instances live per account and region; an
 * instance id is globally unique, but a caller only ever sees its own account's instances.
 */
export class EcsBackend {
  private readonly instances = new Map<string, EcsInstance>();
  /** Instances by `account|region`, so a call scans only its own account's region. */
  private readonly instancesByScope = new Map<string, Map<string, EcsInstance>>();
  private readonly invocations = new Map<string, Invocation>();
  private readonly invocationsByScope = new Map<string, Invocation[]>();
  private readonly clientTokens = new Map<
    string,
    { fingerprint: string; invokeId: string; commandId: string }
  >();
  private readonly ipCounters = new Map<string, number>();
  private readonly tagListeners = new Set<(event: TagChangeEvent) => void>();
  private readonly stateListeners = new Set<(event: StateChangeEvent) => void>();
  private readonly cancelTimers = new Set<() => void>();
  private executor: CommandExecutor = unreachableHostExecutor;
  private sequence = 0;
  private readonly options: EcsBackendOptions;

  constructor(
    private readonly scheduler: Scheduler,
    options: Partial<EcsBackendOptions> = {},
  ) {
    this.options = { ...defaultOptions, ...options };
  }

  reset(): void {
    for (const cancel of this.cancelTimers) cancel();
    this.cancelTimers.clear();
    this.instances.clear();
    this.instancesByScope.clear();
    this.invocations.clear();
    this.invocationsByScope.clear();
    this.clientTokens.clear();
    this.ipCounters.clear();
    this.sequence = 0;
  }

  setExecutor(executor: CommandExecutor | undefined): void {
    this.executor = executor ?? unreachableHostExecutor;
  }

  onTagChange(listener: (event: TagChangeEvent) => void): () => void {
    this.tagListeners.add(listener);
    return () => this.tagListeners.delete(listener);
  }

  onStateChange(listener: (event: StateChangeEvent) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  // ---- fleet ------------------------------------------------------------------------------------

  addInstance(spec: InstanceSpec): EcsInstance {
    this.sequence += 1;
    const instanceId = spec.instanceId ?? this.newInstanceId(spec.accountId, spec.regionId);
    if (this.instances.has(instanceId)) throw new Error(`instance ${instanceId} already exists`);
    const now = this.scheduler.now();
    const digest = createHash("sha256").update(`instance:${instanceId}`).digest("hex");
    const instance: EcsInstance = {
      instanceId,
      accountId: spec.accountId,
      regionId: spec.regionId,
      zoneId: `${spec.regionId}-a`,
      instanceName: spec.instanceName ?? `emu-${instanceId.slice(2, 10)}`,
      hostName: `iZ${instanceId.slice(2)}Z`,
      serialNumber: uuidFrom(digest),
      osType: spec.osType,
      osName:
        spec.osType === "linux"
          ? "Alibaba Cloud Linux 3.2104 LTS 64位"
          : "Windows Server 2022 数据中心版 64位中文版",
      status: spec.status,
      privateIpAddress: spec.privateIpAddress ?? this.nextPrivateIp(spec.accountId, spec.regionId),
      vpcId: `vpc-${shortHash(`${spec.accountId}:${spec.regionId}:vpc`, 21)}`,
      vSwitchId: `vsw-${shortHash(`${spec.accountId}:${spec.regionId}:vsw`, 21)}`,
      networkInterfaceId: `eni-${digest.slice(0, 20)}`,
      macAddress: `00:16:3e:${digest.slice(20, 22)}:${digest.slice(22, 24)}:${digest.slice(24, 26)}`,
      instanceType: "ecs.g7.large",
      imageId:
        spec.osType === "linux"
          ? "aliyun_3_x64_20G_alibase_20240819.vhd"
          : "win2022_21H2_x64_dtc_zh-cn_40G_alibase_20240816.vhd",
      tags: new Map(Object.entries(spec.tags ?? {})),
      cloudAssistantOnline: spec.cloudAssistant === "online",
      cloudAssistantVersion: spec.osType === "linux" ? "2.2.3.857" : "2.1.3.857",
      creationTime: now,
      startTime: now,
      lastInvokedTime: undefined,
      invocationCount: 0,
    };
    this.instances.set(instanceId, instance);
    const scope = scopeKey(instance.accountId, instance.regionId);
    let scoped = this.instancesByScope.get(scope);
    if (scoped === undefined) {
      scoped = new Map();
      this.instancesByScope.set(scope, scoped);
    }
    scoped.set(instanceId, instance);
    return instance;
  }

  getInstance(instanceId: string): EcsInstance | undefined {
    return this.instances.get(instanceId);
  }

  /** Every instance, optionally of one account and region (admin and simulated fleet). */
  listInstances(filter: { accountId?: string; regionId?: string } = {}): EcsInstance[] {
    if (filter.accountId !== undefined && filter.regionId !== undefined) {
      return [...(this.instancesByScope.get(scopeKey(filter.accountId, filter.regionId))?.values() ?? [])];
    }
    return [...this.instances.values()].filter(
      (instance) =>
        (filter.accountId === undefined || instance.accountId === filter.accountId) &&
        (filter.regionId === undefined || instance.regionId === filter.regionId),
    );
  }

  setCloudAssistantOnline(instanceId: string, online: boolean): void {
    const instance = this.instances.get(instanceId);
    if (instance !== undefined) instance.cloudAssistantOnline = online;
  }

  /** Instances of the caller's account in one region, in creation order. */
  instancesIn(accountId: string, regionId: string): EcsInstance[] {
    return this.listInstances({ accountId, regionId });
  }

  /** An instance the caller may see (same account and region), else undefined. */
  visibleInstance(accountId: string, regionId: string, instanceId: string): EcsInstance | undefined {
    const instance = this.instances.get(instanceId);
    return instance !== undefined && instance.accountId === accountId && instance.regionId === regionId
      ? instance
      : undefined;
  }

  // ---- tags ------------------------------------------------------------------------------------

  tagResources(caller: CallerContext, resourceIds: string[], tags: Array<[string, string]>): void {
    const targets = this.taggableInstances(caller, resourceIds);
    for (const instance of targets) {
      const keys = new Set([...instance.tags.keys(), ...tags.map(([key]) => key)]);
      if (keys.size > 20) throw ecsErrors.tagCount();
    }
    const changes = targets.map((instance) => {
      const before = Object.fromEntries(instance.tags);
      for (const [key, value] of tags) instance.tags.set(key, value);
      return { instanceId: instance.instanceId, before, after: Object.fromEntries(instance.tags) };
    });
    this.emitTags({
      operation: "TagResources",
      ...caller,
      at: this.scheduler.now(),
      resourceIds,
      request: { tags: Object.fromEntries(tags) },
      changes,
    });
  }

  untagResources(caller: CallerContext, resourceIds: string[], tagKeys: string[], all: boolean): void {
    const targets = this.taggableInstances(caller, resourceIds);
    const changes = targets.map((instance) => {
      const before = Object.fromEntries(instance.tags);
      if (tagKeys.length > 0) for (const key of tagKeys) instance.tags.delete(key);
      else if (all) instance.tags.clear();
      return { instanceId: instance.instanceId, before, after: Object.fromEntries(instance.tags) };
    });
    this.emitTags({
      operation: "UntagResources",
      ...caller,
      at: this.scheduler.now(),
      resourceIds,
      request: tagKeys.length > 0 ? { tagKeys } : { all },
      changes,
    });
  }

  private taggableInstances(caller: CallerContext, resourceIds: string[]): EcsInstance[] {
    return resourceIds.map((id) => {
      const instance = this.visibleInstance(caller.accountId, caller.regionId, id);
      if (instance === undefined) throw ecsErrors.resourceIdNotFound();
      return instance;
    });
  }

  private emitTags(event: TagChangeEvent): void {
    for (const listener of this.tagListeners) listener(event);
  }

  // ---- state -----------------------------------------------------------------------------------

  /** The caller's instance in any region (StartInstance / StopInstance carry no RegionId). */
  ownedInstance(accountId: string, instanceId: string): EcsInstance {
    const instance = this.instances.get(instanceId);
    if (instance === undefined || instance.accountId !== accountId) throw ecsErrors.instanceIdNotFound();
    return instance;
  }

  startInstance(accountId: string, instanceId: string): void {
    const instance = this.ownedInstance(accountId, instanceId);
    if (instance.status !== "Stopped") throw ecsErrors.incorrectInstanceStatus();
    this.transition(instance, "Starting", "Running");
  }

  stopInstance(accountId: string, instanceId: string): void {
    const instance = this.ownedInstance(accountId, instanceId);
    if (instance.status !== "Running") throw ecsErrors.incorrectInstanceStatus();
    this.transition(instance, "Stopping", "Stopped");
  }

  /** Sets a status directly (simulated fleet, admin), emitting the state change. */
  setStatus(instanceId: string, status: InstanceStatus): void {
    const instance = this.instances.get(instanceId);
    if (instance !== undefined && instance.status !== status) this.changeStatus(instance, status);
  }

  private transition(instance: EcsInstance, intermediate: InstanceStatus, final: InstanceStatus): void {
    this.changeStatus(instance, intermediate);
    if (this.options.transitionSeconds <= 0) {
      this.changeStatus(instance, final);
      return;
    }
    const cancel = this.scheduler.setTimer(
      this.scheduler.now() + this.options.transitionSeconds * 1000,
      () => {
        this.cancelTimers.delete(cancel);
        if (this.instances.get(instance.instanceId) === instance && instance.status === intermediate) {
          this.changeStatus(instance, final);
        }
      },
    );
    this.cancelTimers.add(cancel);
  }

  private changeStatus(instance: EcsInstance, status: InstanceStatus): void {
    const previous = instance.status;
    instance.status = status;
    const at = this.scheduler.now();
    if (status === "Running") instance.startTime = at;
    for (const listener of this.stateListeners) {
      listener({
        accountId: instance.accountId,
        regionId: instance.regionId,
        instanceId: instance.instanceId,
        previous,
        current: status,
        at,
      });
    }
  }

  // ---- Cloud Assistant -------------------------------------------------------------------------

  runCommand(input: RunCommandInput): { invokeId: string; commandId: string } {
    const targets = input.instanceIds.map((id) => {
      const instance = this.visibleInstance(input.accountId, input.regionId, id);
      if (instance === undefined) throw ecsErrors.instanceNotFound();
      return instance;
    });
    const expectedOs: OsType = input.type === "RunShellScript" ? "linux" : "windows";
    if (targets.some((instance) => instance.osType !== expectedOs)) throw ecsErrors.commandTypeNotMatchOs();
    if (input.enableParameter) {
      for (const name of customParameterNames(input.script)) {
        if (!Object.hasOwn(input.parameters, name)) throw ecsErrors.parameterMissing(name);
      }
    }

    const tokenKey =
      input.clientToken === undefined
        ? undefined
        : `${input.accountId}|${input.regionId}|${input.clientToken}`;
    const fingerprint = createHash("sha256")
      .update(
        JSON.stringify([
          input.type,
          input.script,
          input.enableParameter,
          input.parameters,
          input.instanceIds,
          input.timeoutSeconds,
          input.username,
          input.workingDir,
        ]),
      )
      .digest("hex");
    if (tokenKey !== undefined) {
      const previous = this.clientTokens.get(tokenKey);
      if (previous !== undefined) {
        if (previous.fingerprint !== fingerprint) throw ecsErrors.idempotentParameterMismatch();
        return { invokeId: previous.invokeId, commandId: previous.commandId };
      }
    }

    const now = this.scheduler.now();
    const regionCode = regionAbbreviation(input.regionId);
    const invocation: Invocation = {
      invokeId: `t-${regionCode}${randomId(14)}`,
      commandId: `c-${regionCode}${randomId(14)}`,
      accountId: input.accountId,
      regionId: input.regionId,
      type: input.type,
      name: input.name ?? `command-${now}`,
      description: input.description ?? "",
      commandContentBase64: Buffer.from(input.script, "utf8").toString("base64"),
      parameters: input.parameters,
      timeoutSeconds: input.timeoutSeconds,
      username: input.username,
      workingDir: input.workingDir,
      creationTime: now,
      results: targets.map((instance) => ({
        instanceId: instance.instanceId,
        status: "Pending",
        exitCode: undefined,
        errorCode: "",
        errorInfo: "",
        output: Buffer.alloc(0),
        dropped: 0,
        creationTime: now,
        startTime: undefined,
        finishTime: undefined,
        updateTime: now,
      })),
    };
    this.invocations.set(invocation.invokeId, invocation);
    const scope = scopeKey(invocation.accountId, invocation.regionId);
    const scoped = this.invocationsByScope.get(scope);
    if (scoped === undefined) this.invocationsByScope.set(scope, [invocation]);
    else scoped.push(invocation);
    if (tokenKey !== undefined) {
      this.clientTokens.set(tokenKey, {
        fingerprint,
        invokeId: invocation.invokeId,
        commandId: invocation.commandId,
      });
    }
    for (const [index, instance] of targets.entries()) {
      const result = invocation.results[index];
      if (result === undefined) continue;
      instance.invocationCount += 1;
      instance.lastInvokedTime = now;
      this.dispatch(invocation, instance, result, input);
    }
    return { invokeId: invocation.invokeId, commandId: invocation.commandId };
  }

  /** Invocations of the caller's account and region, newest first. */
  invocationsIn(accountId: string, regionId: string): Invocation[] {
    return [...(this.invocationsByScope.get(scopeKey(accountId, regionId)) ?? [])].reverse();
  }

  getInvocation(invokeId: string): Invocation | undefined {
    return this.invocations.get(invokeId);
  }

  /** Pending or running invocation records of one instance (`ActiveTaskCount`). */
  activeTaskCount(instance: EcsInstance): number {
    let count = 0;
    for (const invocation of this.invocationsByScope.get(scopeKey(instance.accountId, instance.regionId)) ??
      []) {
      for (const result of invocation.results) {
        if (
          result.instanceId === instance.instanceId &&
          (result.status === "Pending" || result.status === "Running")
        ) {
          count += 1;
        }
      }
    }
    return count;
  }

  private dispatch(
    invocation: Invocation,
    instance: EcsInstance,
    result: InstanceInvocationResult,
    input: RunCommandInput,
  ): void {
    // Preconditions the real service checks per instance, before any agent is involved.
    if (instance.status !== "Running") {
      this.finish(result, {
        kind: "notRun",
        errorCode: "InstanceNotRunning",
        errorInfo: "the instance is not running",
      });
      return;
    }
    if (!instance.cloudAssistantOnline) {
      this.finish(result, {
        kind: "notRun",
        errorCode: "ClientNotRunning",
        errorInfo: "the Cloud Assistant Agent is not running",
      });
      return;
    }
    const execution: CommandExecution = {
      invokeId: invocation.invokeId,
      commandId: invocation.commandId,
      type: invocation.type,
      script: input.enableParameter
        ? fillParameters(input.script, input.parameters, invocation, instance)
        : input.script,
      timeoutSeconds: invocation.timeoutSeconds,
      username: invocation.username,
      workingDir: invocation.workingDir,
      target: {
        accountId: instance.accountId,
        regionId: instance.regionId,
        instanceId: instance.instanceId,
        serialNumber: instance.serialNumber,
        osType: instance.osType,
        privateIpAddress: instance.privateIpAddress,
      },
    };
    let settled = false;
    // `Timeout` bounds the execution, from the moment the process starts on the host; a command
    // that never starts ends as a delivery timeout instead (emulator time, whatever the executor does).
    let cancelTimeout = (): void => undefined;
    const arm = (ms: number, outcome: () => ExecutionOutcome): void => {
      cancelTimeout();
      this.cancelTimers.delete(cancelTimeout);
      const cancel = this.scheduler.setTimer(this.scheduler.now() + ms, () => {
        this.cancelTimers.delete(cancel);
        if (settled) return;
        settled = true;
        this.finish(result, outcome());
      });
      cancelTimeout = cancel;
      this.cancelTimers.add(cancel);
    };
    arm(DELIVERY_TIMEOUT_MS, () => ({
      kind: "notRun",
      errorCode: "DeliveryTimeout",
      errorInfo: "the command was not delivered to the instance in time",
    }));
    const settle = (outcome: ExecutionOutcome): void => {
      if (settled) return;
      settled = true;
      cancelTimeout();
      this.cancelTimers.delete(cancelTimeout);
      this.finish(result, outcome);
    };
    this.executor
      .execute(execution, {
        started: () => {
          if (settled || result.status !== "Pending") return;
          result.status = "Running";
          result.startTime = this.scheduler.now();
          result.updateTime = result.startTime;
          arm(invocation.timeoutSeconds * 1000, () => ({ kind: "timedOut", output: result.output }));
        },
      })
      .then(settle, (error: unknown) =>
        settle({
          kind: "notRun",
          errorCode: "ExecutionException",
          errorInfo: `the executor failed: ${error instanceof Error ? error.message : String(error)}`,
        }),
      );
  }

  private finish(result: InstanceInvocationResult, outcome: ExecutionOutcome): void {
    const now = this.scheduler.now();
    result.updateTime = now;
    result.finishTime = now;
    if (outcome.kind === "notRun") {
      result.status = "Failed";
      result.errorCode = outcome.errorCode;
      result.errorInfo = outcome.errorInfo;
      return;
    }
    result.startTime ??= now;
    const output = typeof outcome.output === "string" ? Buffer.from(outcome.output, "utf8") : outcome.output;
    result.dropped = Math.max(0, output.length - this.options.outputLimitBytes);
    result.output = output.subarray(0, this.options.outputLimitBytes);
    if (outcome.kind === "timedOut") {
      result.status = "Timeout";
      result.errorCode = "ExecutionTimeout";
      result.errorInfo = "the command execution timed out";
      return;
    }
    result.exitCode = outcome.exitCode;
    if (outcome.exitCode === 0) {
      result.status = "Success";
      return;
    }
    result.status = "Failed";
    result.errorCode = "ExitCodeNonzero";
    result.errorInfo = `the process exited with code ${outcome.exitCode}`;
  }

  private newInstanceId(accountId: string, regionId: string): string {
    for (let attempt = 0; ; attempt += 1) {
      const id = `i-${shortHash(`${accountId}:${regionId}:${this.sequence}:${attempt}`, 20)}`;
      if (!this.instances.has(id)) return id;
    }
  }

  /** 172.16.0.0/12 addresses handed out in order per account and region (one VPC each). */
  private nextPrivateIp(accountId: string, regionId: string): string {
    const key = `${accountId}|${regionId}`;
    const next = (this.ipCounters.get(key) ?? 0) + 1;
    this.ipCounters.set(key, next);
    const host = next + 1;
    return `172.16.${Math.floor(host / 254) % 256}.${(host % 254) + 1}`;
  }
}

function scopeKey(accountId: string, regionId: string): string {
  return `${accountId}|${regionId}`;
}

/** `{{name}}` placeholders that are not built-in (`{{ACS::…}}`) parameters. */
export function customParameterNames(script: string): string[] {
  const names = new Set<string>();
  for (const match of script.matchAll(/\{\{\s*([A-Za-z0-9_-]+)\s*\}\}/g))
    if (match[1] !== undefined) names.add(match[1]);
  return [...names];
}

function fillParameters(
  script: string,
  parameters: Record<string, string>,
  invocation: Invocation,
  instance: EcsInstance,
): string {
  const builtIns: Record<string, string> = {
    "ACS::RegionId": instance.regionId,
    "ACS::InstanceId": instance.instanceId,
    "ACS::InvokeId": invocation.invokeId,
    "ACS::CommandId": invocation.commandId,
    "ACS::AccountId": instance.accountId,
  };
  return script.replace(/\{\{\s*((?:ACS::)?[A-Za-z0-9_-]+)\s*\}\}/g, (whole, name: string) => {
    if (Object.hasOwn(builtIns, name)) return builtIns[name] ?? whole;
    return Object.hasOwn(parameters, name) ? (parameters[name] ?? whole) : whole;
  });
}

function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function shortHash(text: string, length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const digest = createHash("sha256").update(text).digest();
  let id = "";
  for (let index = 0; index < length; index += 1) id += alphabet[(digest[index] ?? 0) % alphabet.length];
  return id;
}

function randomId(length: number): string {
  return shortHash(randomUUID(), length);
}

const regionCodes: Record<string, string> = {
  "cn-hangzhou": "hz",
  "cn-shanghai": "sh",
  "cn-beijing": "bj",
  "cn-shenzhen": "sz",
  "cn-qingdao": "qd",
  "cn-zhangjiakou": "zb",
  "cn-hongkong": "hk",
  "ap-southeast-1": "sg",
};

/** `cn-hangzhou` → `hz`: Cloud Assistant ids carry a region code (`t-hz0…`). */
function regionAbbreviation(regionId: string): string {
  return regionCodes[regionId] ?? (regionId.split("-")[1] ?? "xx").slice(0, 2);
}
