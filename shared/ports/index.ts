export type { CloudCredentials, CredentialsPort } from "./credentials";
export type { DeadLetterEntry, DeadLetterSink } from "./deadLetter";
export type {
  AccountRegion,
  CommandInvocation,
  EcsPort,
  InstanceFilter,
  InstanceRecord,
  InvocationResult,
  InvocationResults,
  RunCommandOptions,
} from "./ecs";
export type { EndpointResolver, ServiceEndpoint } from "./endpoints";
export { errorCode, isRetryable } from "./errors";
export type { LogLine, StepLog } from "./log";
export type { DeleteFailure, QueuePort, QueueScope, ReceivedMessage } from "./queue";
export type {
  EnsureOutcome,
  EtlJob,
  EtlJobSpec,
  EtlSinkSpec,
  FieldIndexSpec,
  FullTextIndexSpec,
  IndexSpec,
  LogQuery,
  LogRow,
  LogstoreOptions,
  PipelineConfigSpec,
  PipelineInputState,
  SlsPort,
  SlsScope,
} from "./sls";
export type { SnapshotStore } from "./snapshots";
