/**
 * How the emulator runs Cloud Assistant commands. The ECS backend records every invocation and hands
 * each (instance, script) pair to an executor; the simulated fleet (issue 4) plugs a real one in.
 */

export type OsType = "linux" | "windows";
export type CommandType = "RunShellScript" | "RunPowerShellScript" | "RunBatScript";

export interface CommandTarget {
  accountId: string;
  regionId: string;
  instanceId: string;
  serialNumber: string;
  osType: OsType;
  privateIpAddress: string;
}

export interface CommandExecution {
  invokeId: string;
  commandId: string;
  type: CommandType;
  /** The script exactly as the agent would run it: decoded, custom and built-in parameters filled in. */
  script: string;
  timeoutSeconds: number;
  username: string | undefined;
  workingDir: string | undefined;
  target: CommandTarget;
}

/** What happened on the host. */
export type ExecutionOutcome =
  /** The process ran and exited (any code; non-zero becomes `Failed` / `ExitCodeNonzero`). */
  | { kind: "exited"; exitCode: number; output: Buffer | string }
  /** The process was killed after the timeout (`Timeout` / `ExecutionTimeout`). */
  | { kind: "timedOut"; output: Buffer | string }
  /** The command never ran, for a reason Cloud Assistant reports with an error code. */
  | { kind: "notRun"; errorCode: CloudAssistantErrorCode; errorInfo: string };

/** Per-instance error codes Cloud Assistant reports for commands that could not run. */
export type CloudAssistantErrorCode =
  | "InstanceNotRunning"
  | "InstanceReleased"
  | "ClientNotRunning"
  | "ClientNotResponse"
  | "ClientIsUpgrading"
  | "ClientNeedUpgrade"
  | "DeliveryTimeout"
  | "ExecutionException"
  | "UserOrPasswordInvalid"
  | "DirectoryNotExists";

export interface ExecutionProgress {
  /**
   * The host's agent has the command: delivery is over, and no DeliveryTimeout can end it any
   * more. A local simulation says so when the host's own pickup delay has passed, before it waits
   * for a free slot of its own: that wait is the simulation's, not a host being slow.
   */
  delivered(): void;
  /** The process started (status `Running`); also ends delivery. */
  started(): void;
}

export interface CommandExecutor {
  /** Runs one invocation on one instance. Called once per instance; must never reject. */
  execute(execution: CommandExecution, progress: ExecutionProgress): Promise<ExecutionOutcome>;
  /**
   * The executor stops a command past its `Timeout` itself, on the time the command really ran
   * (a sandboxed process on this machine). The emulator then arms no timer of its own: on a
   * scaled emulator clock, a loaded machine's slower process would count as a slow host.
   */
  readonly enforcesTimeout?: boolean;
}

/**
 * The executor used until a simulated fleet is attached: no host exists to run anything, so every
 * command ends as Cloud Assistant reports an agent that never answers — never as a success.
 */
export const unreachableHostExecutor: CommandExecutor = {
  execute: async () => ({
    kind: "notRun",
    errorCode: "ClientNotResponse",
    errorInfo: "No simulated host is attached to this instance: nothing answered the command (emulator).",
  }),
};
