/** ECS and Cloud Assistant in one account and region. */
import type { OperatingSystem } from "../config/routesSchema";
import type { RenderedHostCommand } from "../hostscript/hostCommand";

export interface AccountRegion {
  accountId: string;
  region: string;
}

export interface InstanceRecord {
  instanceId: string;
  accountId: string;
  region: string;
  os: OperatingSystem;
  /** ECS status: Running, Stopped, Starting, Stopping, Pending. */
  status: string;
  /** SMBIOS UUID as ECS reports it ("" when absent). */
  serialNumber: string;
  privateIps: string[];
  tags: Record<string, string>;
}

/** Which instances to describe: by id (any number, chunked), by tag (key alone = any value), or all. */
export type InstanceFilter =
  | { instanceIds: readonly string[] }
  | { tagKey: string; tagValue?: string }
  | Record<string, never>;

export interface CommandInvocation {
  invokeId: string;
  commandId: string;
  instanceIds: string[];
}

export interface InvocationResult {
  instanceId: string;
  /** Pending, Running, Scheduled, Stopping, Success, Failed, Error, Timeout, Aborted, Cancelled, Terminated, … */
  status: string;
  finished: boolean;
  exitCode?: number;
  /** Cloud Assistant's reason when the command failed before or while running (e.g. ClientNotRunning). */
  errorCode?: string;
  errorInfo?: string;
  /** Decoded output (UTF-8). */
  output: string;
  /** Bytes of output Cloud Assistant dropped past its limit. */
  dropped: number;
}

export interface InvocationResults {
  invokeId: string;
  /** Every instance reached a final status. */
  finished: boolean;
  results: InvocationResult[];
}

export interface RunCommandOptions {
  /**
   * Part of the idempotency token: the same command, instances and attempt key give the same token,
   * so a retried call returns the first call's invocation instead of running twice.
   */
  attemptKey: string;
}

export interface EcsPort {
  readonly scope: AccountRegion;
  describeInstances(filter?: InstanceFilter): Promise<InstanceRecord[]>;
  /** Instance id → Cloud Assistant online; ids ECS does not report are absent. */
  cloudAssistantStatus(instanceIds: readonly string[]): Promise<Map<string, boolean>>;
  tagInstances(instanceIds: readonly string[], tags: Readonly<Record<string, string>>): Promise<void>;
  untagInstances(instanceIds: readonly string[], tagKeys: readonly string[]): Promise<void>;
  /** One RunCommand per 100 instances. */
  runCommand(
    command: RenderedHostCommand,
    instanceIds: readonly string[],
    options: RunCommandOptions,
  ): Promise<CommandInvocation[]>;
  invocationResults(invokeId: string): Promise<InvocationResults>;
}
