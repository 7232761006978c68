export { type AlibabaAdapters, type AlibabaAdaptersOptions, createAlibabaAdapters } from "./alibabaAdapters";
export { type AlibabaEndpointOptions, type AlibabaNetwork, alibabaEndpoints } from "./alibabaEndpoints";
export {
  AssumeRoleCredentials,
  type AssumeRoleCredentialsOptions,
  MAX_SESSION_NAME_LENGTH,
  type RoleToAssume,
  rolesFromRoutes,
  sanitizeSessionName,
} from "./assumeRoleCredentials";
export { chunk } from "./batching";
export { type CallGate, type CallIdentity, openGate } from "./callGate";
export { type CallPolicy, cloudCall } from "./cloudCall";
export {
  CloudError,
  type CloudErrorDetails,
  type CloudService,
  isRetryableCode,
  isThrottlingCode,
  toCloudError,
} from "./cloudError";
export { ECS_LIMITS, EcsAdapter, runCommandClientToken } from "./ecsAdapter";
export { credentialsFromFcContext } from "./fcCredentials";
export {
  type LocalEndpointsDocument,
  localAccountCredentials,
  localEndpoints,
  parseEndpointsDocument,
  readEndpointsFile,
} from "./localEndpoints";
export { MNS_LIMITS, MnsQueueAdapter, packBatches } from "./mnsQueueAdapter";
export { MnsQueueAdminAdapter, type MnsQueueAdminAdapterDependencies } from "./mnsQueueAdminAdapter";
export {
  backoffDelayMs,
  DEFAULT_RETRY,
  isRetryableError,
  type RetryOptions,
  realSleep,
  withRetry,
} from "./retry";
export { createSdkClients, type SdkClients, type SdkTimeouts } from "./sdkClients";
export { type ConsistencyRetry, DEFAULT_INDEX_TOKENS, SLS_LIMITS, SlsAdapter } from "./slsAdapter";
export {
  type ApiBudget,
  parseApiBudgets,
  shareOfBudgets,
  ThrottleGate,
  type ThrottleGateOptions,
} from "./throttleGate";
