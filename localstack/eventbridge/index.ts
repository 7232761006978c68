export {
  connectEcsEvents,
  type EcsChangeSource,
  type EcsStateTransition,
  type EcsTagCall,
} from "./ecsBackendEvents";
export {
  buildEcsEvent,
  type EcsChange,
  type EcsInstanceState,
  ecsChangeHook,
  publishEcsChange,
} from "./ecsEvents";
export {
  BusRoutingRefusedError,
  CrossAccountDeliveryDeniedError,
  EventBridgeError,
  EventBusNotFoundError,
  EventPatternError,
} from "./errors";
export { compileEventPattern, type EventMatcher, matchesEventPattern } from "./eventPattern";
export {
  type BusRouting,
  type DeadLetter,
  LocalEventBridge,
  type LocalEventBridgeOptions,
} from "./localEventBridge";
export { backoffRetry, exponentialDecayRetry, noRetry, retryStrategyByName } from "./retryStrategies";
export { type RoleDirectory, roleTrust } from "./roleTrust";
export type {
  BusRef,
  BusTarget,
  CloudEvent,
  EventInput,
  FunctionTarget,
  LogSink,
  RetryStrategy,
  RuleInput,
  RuleTarget,
  Scheduler,
} from "./types";
