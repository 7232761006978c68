import { createRpcService } from "../core/rpc/service";
import type { EmulatedService, ServiceContext } from "../core/types";
import { EcsBackend, type EcsBackendOptions, type Scheduler } from "./backend";
import { ecsOperations } from "./operations";
import { ecsRamRequest } from "./ram";

export type {
  EcsInstance,
  InstanceSpec,
  InstanceStatus,
  Scheduler,
  StateChangeEvent,
  TagChangeEvent,
} from "./backend";
export { EcsBackend } from "./backend";
export type { Invocation } from "./cloudAssistant";
export { DELIVERY_TIMEOUT_MS } from "./cloudAssistant";
export type {
  CommandExecution,
  CommandExecutor,
  CommandTarget,
  ExecutionOutcome,
  ExecutionProgress,
} from "./executor";
export { unreachableHostExecutor } from "./executor";

export interface EcsService extends EmulatedService {
  name: "ecs";
  backend: EcsBackend;
}

export interface EcsServiceOptions extends Partial<EcsBackendOptions> {
  /** Emulator time with timers; the core passes its clock. */
  scheduler: Scheduler;
  wallNow?: () => number;
}

/** `ecs.<region>.localhost`, `ecs-<region>.localhost` (both real forms) and `ecs.localhost` (central). */
export function isEcsHost(host: string): boolean {
  return host === "ecs.localhost" || /^ecs[.-][a-z0-9-]+\.localhost$/.test(host);
}

/** ECS + Cloud Assistant over the RPC protocol. */
export function createEcsService(ctx: ServiceContext, options: EcsServiceOptions): EcsService {
  const { scheduler, wallNow, ...backendOptions } = options;
  const backend = new EcsBackend(scheduler, backendOptions);
  const service = createRpcService(ctx, {
    name: "ecs",
    product: "Ecs",
    hostId: "ecs.aliyuncs.com",
    apiVersion: "2014-05-26",
    // What ECS answers a wrong signature with (see emulator/README.md).
    signatureMismatchCode: "IncompleteSignature",
    matchesHost: isEcsHost,
    regionOf: (host, params) =>
      params.optional("RegionId") ?? /^ecs[.-]([a-z0-9-]+)\.localhost$/.exec(host)?.[1] ?? "",
    operations: ecsOperations(backend),
    ramRequest: (action, call) => ecsRamRequest(backend, action, call),
    reset: () => backend.reset(),
    ...(wallNow === undefined ? {} : { wallNow }),
  });
  return { ...service, name: "ecs", backend };
}
