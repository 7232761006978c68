/**
 * Cloud Assistant as the emulator runs it, no HTTP. `RunCommand` records an invocation (the same
 * `ClientToken` and request give the same one), checks per instance what the real service checks
 * before an agent is involved, hands the script to the attached `CommandExecutor` (executor.ts) and
 * settles each instance's result: exited, timed out or never delivered, on the emulator clock.
 * `DescribeInvocations` and `DescribeInvocationResults` read the invocations kept here. The
 * instances themselves are the ECS backend's (backend.ts), which owns this engine.
 */
import { createHash, randomUUID } from "node:crypto";
import type { EcsInstance, Scheduler } from "./backend";
import { ecsErrors } from "./errors";
import {
  type CommandExecution,
  type CommandExecutor,
  type CommandType,
  type ExecutionOutcome,
  type OsType,
  unreachableHostExecutor,
} from "./executor";
import { shortHash } from "./ids";

/** How long a command may wait to be picked up by the agent before it ends as DeliveryTimeout. */
export const DELIVERY_TIMEOUT_MS = 10 * 60_000;

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

export interface CloudAssistantOptions {
  /** Bytes of output kept per instance result; the rest is counted in `Dropped`. */
  outputLimitBytes: number;
}

/** Finds an instance the caller may see (same account and region), else undefined. */
export type InstanceLookup = (
  accountId: string,
  regionId: string,
  instanceId: string,
) => EcsInstance | undefined;

/** Invocations per account and region, their execution on the hosts and their results. */
export class CloudAssistant {
  private readonly invocations = new Map<string, Invocation>();
  private readonly invocationsByScope = new Map<string, Invocation[]>();
  private readonly clientTokens = new Map<
    string,
    { fingerprint: string; invokeId: string; commandId: string }
  >();
  private readonly cancelTimers = new Set<() => void>();
  private executor: CommandExecutor = unreachableHostExecutor;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly options: CloudAssistantOptions,
    private readonly findInstance: InstanceLookup,
  ) {}

  reset(): void {
    for (const cancel of this.cancelTimers) cancel();
    this.cancelTimers.clear();
    this.invocations.clear();
    this.invocationsByScope.clear();
    this.clientTokens.clear();
  }

  setExecutor(executor: CommandExecutor | undefined): void {
    this.executor = executor ?? unreachableHostExecutor;
  }

  runCommand(input: RunCommandInput): { invokeId: string; commandId: string } {
    const targets = input.instanceIds.map((id) => {
      const instance = this.findInstance(input.accountId, input.regionId, id);
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
    const executor = this.executor;
    let delivered = false;
    const endDelivery = (): void => {
      if (delivered) return;
      delivered = true;
      cancelTimeout();
      this.cancelTimers.delete(cancelTimeout);
    };
    executor
      .execute(execution, {
        delivered: () => {
          if (!settled) endDelivery();
        },
        started: () => {
          if (settled || result.status !== "Pending") return;
          endDelivery();
          result.status = "Running";
          result.startTime = this.scheduler.now();
          result.updateTime = result.startTime;
          if (executor.enforcesTimeout !== true)
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
