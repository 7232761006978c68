/**
 * Plugs the simulated fleet into the emulator: ECS hands each Cloud Assistant invocation to this
 * executor, which runs it on the instance's simulated host, and the hosts' agents heartbeat into the
 * SLS backend.
 */
import type {
  CommandExecution,
  CommandExecutor,
  ExecutionOutcome,
  ExecutionProgress,
} from "../../emulator/ecs/executor";
import type { HeartbeatInput } from "../../emulator/sls/backend";
import type { Heartbeat, HeartbeatSink } from "../agent/agentSimulator";
import type { SimulatedCloudAssistant } from "./cloudAssistant";
import type { SimulatedHost } from "./simulatedHost";

export interface FleetHosts {
  host(instanceId: string): SimulatedHost | undefined;
  /** A command ran on this host: its agent may have been restarted or its files changed. */
  commandFinished(instanceId: string): void;
}

export class FleetCommandExecutor implements CommandExecutor {
  /** The sandbox stops a process past the command's Timeout, on the time it really ran. */
  readonly enforcesTimeout = true;

  constructor(
    private readonly hosts: FleetHosts,
    private readonly assistant: SimulatedCloudAssistant,
  ) {}

  async execute(execution: CommandExecution, progress: ExecutionProgress): Promise<ExecutionOutcome> {
    const host = this.hosts.host(execution.target.instanceId);
    if (!host) {
      return {
        kind: "notRun",
        errorCode: "ClientNotResponse",
        errorInfo: "no simulated host for this instance (emulator)",
      };
    }
    if (execution.type === "RunBatScript") {
      return {
        kind: "notRun",
        errorCode: "ClientNotResponse",
        errorInfo: "simulated hosts cannot run batch scripts",
      };
    }
    try {
      const outcome = await this.assistant.run(
        host,
        {
          invokeId: execution.invokeId,
          type: execution.type,
          content: execution.script,
          timeoutSeconds: execution.timeoutSeconds,
        },
        () => progress.started(),
        () => progress.delivered(),
      );
      switch (outcome.errorCode) {
        case "":
        case "ExitCodeNonzero":
          return { kind: "exited", exitCode: outcome.exitCode ?? 1, output: outcome.output };
        case "ExecutionTimeout":
          return { kind: "timedOut", output: outcome.output };
        default:
          return { kind: "notRun", errorCode: outcome.errorCode, errorInfo: outcome.errorInfo };
      }
    } catch (error) {
      // A sandbox that cannot start is the emulator's failure, reported as Cloud Assistant would
      // report an agent that could not run the command: never as a success.
      return {
        kind: "notRun",
        errorCode: "ExecutionException",
        errorInfo: `sandbox failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    } finally {
      this.hosts.commandFinished(execution.target.instanceId);
    }
  }
}

/** The SLS backend as the agents need it. */
export interface HeartbeatRecorder {
  recordHeartbeat(input: HeartbeatInput): void;
}

export function slsHeartbeatSink(sls: HeartbeatRecorder): HeartbeatSink {
  return {
    heartbeat: (beat: Heartbeat) =>
      sls.recordHeartbeat({
        region: beat.region,
        authorizedAccounts: beat.accountIds,
        userDefinedIds: beat.identifiers,
        machine: { ip: beat.ip, uuid: beat.machineUniqueId, hostId: beat.hostId },
      }),
  };
}
