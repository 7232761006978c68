export {
  type AsyncRetryPolicy,
  type DeadLetterRecord,
  FC_ASYNC_RETRY,
} from "./asyncInvocation";
export { ruleName } from "./busTrigger";
export {
  type CredentialsProvider,
  type CredentialsRequest,
  cachingProvider,
  credentialsEnv,
  type FcCredentials,
  staticCredentials,
} from "./credentials";
export { parseCronExpression, type Schedule } from "./cron";
export { emulatorRoleCredentials, type RoleIssuer } from "./emulatorCredentials";
export { type EndpointsFile, endpointFor, loadEndpointsFile, resolveHubAccount } from "./endpointsFile";
export { acquireEnvOverlay, runWithEnv } from "./envOverlay";
export {
  CronExpressionError,
  EndpointsFileError,
  FunctionTimeoutError,
  HandlerLoadError,
  LocalFcError,
  ServerlessSpecError,
} from "./errors";
export { FunctionInvoker, type InvocationResult, type InvokerOptions } from "./functionInvoker";
export {
  type FcContext,
  type FcHandler,
  type HandlerLocation,
  loadHandler,
  locateHandler,
} from "./handlerModule";
export {
  InvocationKilledError,
  type InvocationKiller,
  InvocationTracker,
  type KillPlan,
  randomKiller,
  runTracked,
} from "./invocationKill";
export {
  type InvocationLine,
  jsonLinesLogger,
  memoryLogger,
  type Outcome,
  type RuntimeLogger,
  silentLogger,
} from "./invocationLog";
export {
  DEFAULT_ENDPOINTS_FILE,
  DEFAULT_TEMPLATE,
  ENDPOINTS_FILE_ENV,
  type InvokeCommandIo,
  type InvokeCommandOptions,
  runInvokeCommand,
} from "./invokeCommand";
export { LocalFcRuntime, type LocalFcRuntimeOptions, type QueueRef } from "./localFcRuntime";
export { type MnsClientLike, MnsQueueSource } from "./mnsQueueSource";
export { MemoryQueue, type MemoryQueueOptions, type QueueSource, type ReceivedMessage } from "./queueSource";
export { queueMessageEvent } from "./queueTrigger";
export {
  type EventBridgeTriggerSpec,
  type EventSourceSpec,
  type FunctionSpec,
  loadServerlessSpec,
  parseServerlessSpec,
  type ServerlessSpec,
  type TimerTriggerSpec,
  type TriggerSpec,
} from "./serverlessSpec";
export { stsRoleCredentials } from "./stsCredentials";
export { systemScheduler } from "./systemScheduler";
export { timerEvent } from "./timerTrigger";
