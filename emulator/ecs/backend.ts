import { createHash } from "node:crypto";
import type { Clock } from "../core/types";
import { CloudAssistant, type Invocation, type RunCommandInput } from "./cloudAssistant";
import { ecsErrors } from "./errors";
import type { CommandExecutor, OsType } from "./executor";
import { shortHash } from "./ids";

export type InstanceStatus = "Pending" | "Running" | "Starting" | "Stopping" | "Stopped";
export const instanceStatuses: readonly InstanceStatus[] = [
  "Pending",
  "Running",
  "Starting",
  "Stopping",
  "Stopped",
];

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
 * ECS state and behaviour, no HTTP. Instances live per account and region; an instance id is
 * globally unique, but a caller only ever sees its own account's instances. Cloud Assistant's
 * invocations are kept and run by the `CloudAssistant` this backend owns (cloudAssistant.ts).
 */
export class EcsBackend {
  private readonly instances = new Map<string, EcsInstance>();
  /** Instances by `account|region`, so a call scans only its own account's region. */
  private readonly instancesByScope = new Map<string, Map<string, EcsInstance>>();
  private readonly ipCounters = new Map<string, number>();
  private readonly tagListeners = new Set<(event: TagChangeEvent) => void>();
  private readonly stateListeners = new Set<(event: StateChangeEvent) => void>();
  private readonly cancelTimers = new Set<() => void>();
  /** Cloud Assistant: invocations and their execution on this backend's instances. */
  private readonly cloudAssistant: CloudAssistant;
  private sequence = 0;
  private readonly options: EcsBackendOptions;

  constructor(
    private readonly scheduler: Scheduler,
    options: Partial<EcsBackendOptions> = {},
  ) {
    this.options = { ...defaultOptions, ...options };
    this.cloudAssistant = new CloudAssistant(
      scheduler,
      { outputLimitBytes: this.options.outputLimitBytes },
      (accountId, regionId, instanceId) => this.visibleInstance(accountId, regionId, instanceId),
    );
  }

  reset(): void {
    for (const cancel of this.cancelTimers) cancel();
    this.cancelTimers.clear();
    this.instances.clear();
    this.instancesByScope.clear();
    this.cloudAssistant.reset();
    this.ipCounters.clear();
    this.sequence = 0;
  }

  setExecutor(executor: CommandExecutor | undefined): void {
    this.cloudAssistant.setExecutor(executor);
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

  // ---- Cloud Assistant (cloudAssistant.ts) ------------------------------------------------------

  runCommand(input: RunCommandInput): { invokeId: string; commandId: string } {
    return this.cloudAssistant.runCommand(input);
  }

  /** Invocations of the caller's account and region, newest first. */
  invocationsIn(accountId: string, regionId: string): Invocation[] {
    return this.cloudAssistant.invocationsIn(accountId, regionId);
  }

  getInvocation(invokeId: string): Invocation | undefined {
    return this.cloudAssistant.getInvocation(invokeId);
  }

  /** Pending or running invocation records of one instance (`ActiveTaskCount`). */
  activeTaskCount(instance: EcsInstance): number {
    return this.cloudAssistant.activeTaskCount(instance);
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

function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
