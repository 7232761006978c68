/**
 * Cloud Assistant on simulated hosts: runs the exact script content of a `RunCommand` on a host and
 * reports it the way Cloud Assistant does in `DescribeInvocationResults` — `Success`; `Failed` with
 * `ExitCodeNonzero`; `Timeout` with `ExecutionTimeout`; and, for hosts that cannot run it,
 * `Failed` with `InstanceNotRunning` or `ClientNotRunning`. Output is stdout and stderr as one
 * stream, truncated past 24 KB with the dropped byte count, as Cloud Assistant does.
 *
 * Windows hosts cannot run PowerShell here. They fail honestly (`ClientNotResponse`, with an
 * ErrorInfo that says why) and never report a success they did not earn.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostRoot } from "../hostRoot";
import { runInSandbox } from "../hostSandbox";

/** Cloud Assistant keeps at most this much output per invocation (Base64-encoded on the API). */
export const MAX_OUTPUT_BYTES = 24 * 1024;

export type CommandType = "RunShellScript" | "RunPowerShellScript";

export interface HostCommand {
  invokeId: string;
  type: CommandType;
  /** The script text exactly as sent (already Base64-decoded when ContentEncoding was Base64). */
  content: string;
  timeoutSeconds: number;
}

/** What a simulated host is, as far as running a command goes. */
export interface CommandHost {
  instanceId: string;
  os: "linux" | "windows";
  /** ECS status at the time the command is delivered. */
  status: string;
  cloudAssistantOnline: boolean;
  /** Emulated ms before a command starts on the host (a slow host); 0 for most. */
  commandDelayMs: number;
  /** The host's private files; created on first use. */
  root(): HostRoot;
}

export type InvocationStatus = "Success" | "Failed" | "Timeout";

export interface InvocationOutcome {
  instanceId: string;
  invocationStatus: InvocationStatus;
  /** Empty on success, else Cloud Assistant's code. */
  errorCode:
    | ""
    | "ExitCodeNonzero"
    | "ExecutionTimeout"
    | "InstanceNotRunning"
    | "ClientNotRunning"
    | "ClientNotResponse";
  errorInfo: string;
  exitCode: number | null;
  /** Combined stdout and stderr, at most MAX_OUTPUT_BYTES. */
  output: string;
  /** Bytes of output dropped past the limit. */
  dropped: number;
  /** Emulator ms; undefined when the command never started. */
  startTime?: number;
  finishTime: number;
}

export interface CloudAssistantOptions {
  /** Where scripts are written before they run (outside every host's sandboxed paths). */
  workDir: string;
  /** How many commands run at once across the fleet (the machine has 2 cores). */
  maxConcurrent: number;
  now: () => number;
  /** Waits emulated ms (a slow host's delay before its command starts). */
  sleep: (ms: number) => Promise<void>;
}

export class SimulatedCloudAssistant {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private sequence = 0;

  constructor(private readonly options: CloudAssistantOptions) {
    mkdirSync(options.workDir, { recursive: true });
  }

  /** Runs one command on one host; never rejects for anything the host does. */
  async run(
    host: CommandHost,
    command: HostCommand,
    onStart: () => void = () => undefined,
    onDelivered: () => void = () => undefined,
  ): Promise<InvocationOutcome> {
    const refused = this.precondition(host, command);
    if (refused) return refused;
    // A slow host picks the command up late (the fleet file's commandDelaySeconds); the status
    // stays Pending until it does, and only that delay can end as DeliveryTimeout.
    if (host.commandDelayMs > 0) await this.options.sleep(host.commandDelayMs);
    onDelivered();
    // Waiting for a free slot is the simulation's limit, not the host's (a real host runs its
    // command on its own CPU): it neither times the delivery out nor counts toward the command's
    // timeout, which the sandbox enforces on the process's own run.
    await this.acquire();
    onStart();
    try {
      return await this.execute(host, command);
    } finally {
      this.release();
    }
  }

  private precondition(host: CommandHost, command: HostCommand): InvocationOutcome | undefined {
    const base = {
      instanceId: host.instanceId,
      exitCode: null,
      output: "",
      dropped: 0,
      finishTime: this.options.now(),
    };
    if (host.status !== "Running") {
      return {
        ...base,
        invocationStatus: "Failed",
        errorCode: "InstanceNotRunning",
        errorInfo: "the instance is not running when the task was created",
      };
    }
    if (!host.cloudAssistantOnline) {
      return {
        ...base,
        invocationStatus: "Failed",
        errorCode: "ClientNotRunning",
        errorInfo: "the Cloud Assistant client is not running",
      };
    }
    if (host.os === "windows" || command.type === "RunPowerShellScript") {
      return {
        ...base,
        invocationStatus: "Failed",
        errorCode: "ClientNotResponse",
        errorInfo:
          host.os === "windows"
            ? "simulated Windows hosts cannot run PowerShell: no result is invented"
            : "a Linux host cannot run a PowerShell script",
      };
    }
    return undefined;
  }

  private async execute(host: CommandHost, command: HostCommand): Promise<InvocationOutcome> {
    this.sequence += 1;
    const scriptPath = join(
      this.options.workDir,
      `${command.invokeId}-${host.instanceId}-${this.sequence}.sh`,
    );
    writeFileSync(scriptPath, command.content, { mode: 0o600 });
    const startTime = this.options.now();
    try {
      const result = await runInSandbox({
        host: host.root(),
        scriptPath,
        args: [],
        timeoutMs: command.timeoutSeconds * 1000,
        mergeOutput: true,
        maxOutputBytes: MAX_OUTPUT_BYTES,
      });
      const base = {
        instanceId: host.instanceId,
        exitCode: result.exitCode,
        output: result.stdout,
        dropped: Math.max(0, result.stdoutBytes - MAX_OUTPUT_BYTES),
        startTime,
        finishTime: this.options.now(),
      };
      if (result.timedOut) {
        return {
          ...base,
          invocationStatus: "Timeout",
          errorCode: "ExecutionTimeout",
          errorInfo: "the command timed out and was stopped",
        };
      }
      if (result.exitCode !== 0) {
        return {
          ...base,
          invocationStatus: "Failed",
          errorCode: "ExitCodeNonzero",
          errorInfo: `the command exited with code ${result.exitCode ?? `signal ${result.signal ?? "?"}`}`,
        };
      }
      return { ...base, invocationStatus: "Success", errorCode: "", errorInfo: "" };
    } finally {
      rmSync(scriptPath, { force: true });
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.options.maxConcurrent) {
      this.running += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }
}
