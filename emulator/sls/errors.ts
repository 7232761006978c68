/**
 * SLS errors as the real service returns them: an HTTP status plus a JSON `{errorCode, errorMessage}`.
 * Codes and messages follow Alibaba's "Common error codes" table and what the official SDKs' own tests
 * assert (e.g. an unknown AccessKey id is `401 Unauthorized` "AccessKeyId not found: <id>").
 */
export class SlsError extends Error {
  override readonly name = "SlsError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const slsErrors = {
  missingAuthorization: () =>
    new SlsError(400, "MissAccessKeyId", "x-log-accesskeyid does not exist in header."),
  invalidAuthorization: () =>
    new SlsError(400, "ParameterInvalid", "Http extend authorization : authorization pair is invalid."),
  invalidAccessKeyId: (accessKeyId: string) =>
    new SlsError(401, "InvalidAccessKeyId", `The access key id you provided is invalid: ${accessKeyId}.`),
  accessKeyNotFound: (accessKeyId: string) =>
    new SlsError(401, "Unauthorized", `AccessKeyId not found: ${accessKeyId}`),
  signatureNotMatch: (signature: string) =>
    new SlsError(401, "SignatureNotMatch", `Signature ${signature} not matched.`),
  invalidSecurityToken: () =>
    new SlsError(401, "Unauthorized", "The security token you provided is invalid."),
  expiredSecurityToken: () =>
    new SlsError(401, "Unauthorized", "The security token you provided has expired."),
  missingDate: () => new SlsError(400, "MissingDate", "Date does not exist in http header."),
  missingApiVersion: () =>
    new SlsError(400, "MissingAPIVersion", "x-log-apiversion does not exist in http header."),
  invalidApiVersion: (version: string) =>
    new SlsError(400, "InvalidAPIVersion", `x-log-apiversion ${version} is unsupported.`),
  missingSignatureMethod: () =>
    new SlsError(400, "MissingSignatureMethod", "x-log-signaturemethod does not exist in http header."),
  invalidSignatureMethod: (method: string) =>
    new SlsError(400, "InvalidSignatureMethod", `signature method ${method} is unsupported.`),
  invalidHost: (host: string) => new SlsError(400, "InvalidHost", `Host header ${host} is invalid.`),
  denied: (action: string, resource: string) =>
    new SlsError(401, "Unauthorized", `denied by sts or ram, action: log:${action}, resource: ${resource}`),
  /** Control-plane QPS limit; the real code for management APIs is not published (see README). */
  throttled: () => new SlsError(403, "ExceedQuota", "Project qps quota exceed, please retry later."),
  postBodyInvalid: () => new SlsError(400, "PostBodyInvalid", "The request body is not valid JSON object."),
  parameterInvalid: (message: string) => new SlsError(400, "ParameterInvalid", message),
  operationNotSupported: (method: string, path: string) =>
    new SlsError(
      404,
      "OperationNotSupported",
      `Operation ${method} ${path} is not supported by this emulator.`,
    ),
  internal: () => new SlsError(500, "InternalServerError", "Internal server error."),

  projectNotExist: (project: string) =>
    new SlsError(404, "ProjectNotExist", `The Project does not exist : ${project}`),
  projectAlreadyExist: (project: string) =>
    new SlsError(400, "ProjectAlreadyExist", `Project ${project} already exist`),
  logStoreNotExist: (logstore: string) =>
    new SlsError(404, "LogStoreNotExist", `logstore ${logstore} does not exist`),
  logStoreAlreadyExist: (logstore: string) =>
    new SlsError(400, "LogStoreAlreadyExist", `logstore ${logstore} already exists`),
  indexAlreadyExist: () => new SlsError(400, "IndexAlreadyExist", "log store index is already created"),
  indexConfigNotExist: () => new SlsError(404, "IndexConfigNotExist", "index config doesn't exist"),
  machineGroupNotExist: (group: string) =>
    new SlsError(404, "MachineGroupNotExist", `MachineGroup ${group} does not exist`),
  machineGroupAlreadyExist: (group: string) =>
    new SlsError(400, "MachineGroupAlreadyExist", `MachineGroup ${group} already exists`),
  configNotExist: (config: string) => new SlsError(404, "ConfigNotExist", `config ${config} does not exist`),
  configAlreadyExist: (config: string) =>
    new SlsError(400, "ConfigAlreadyExist", `config ${config} already exists`),
  configQuotaExceed: (limit: number) =>
    new SlsError(400, "ExceedQuota", `config quota exceed, the maximum number of configs is ${limit}`),
  jobNotExist: (job: string) => new SlsError(404, "JobNotExist", `job ${job} does not exist`),
  jobAlreadyExist: (job: string) => new SlsError(400, "JobAlreadyExist", `job ${job} already exists`),

  // ---- data plane (codes from the SLS error list the agent and SDKs know; messages are the emulator's)
  postBodyTooLarge: (what: string, size: number, limit: number) =>
    new SlsError(400, "PostBodyTooLarge", `${what} ${size} is larger than the limit ${limit}`),
  postBodyNotLogGroup: (detail: string) =>
    new SlsError(400, "PostBodyInvalid", `The request body is not a valid protobuf LogGroup: ${detail}`),
  compressTypeUnsupported: (type: string) =>
    new SlsError(400, "ParameterInvalid", `x-log-compresstype ${type} is not supported`),
  bodyNotDecompressed: (type: string, detail: string) =>
    new SlsError(400, "PostBodyInvalid", `The request body cannot be decompressed as ${type}: ${detail}`),
  bodyRawSizeInvalid: (declared: string, actual: number) =>
    new SlsError(
      400,
      "PostBodyInvalid",
      `x-log-bodyrawsize ${declared} does not match the uncompressed body of ${actual} bytes`,
    ),
  bodyDigestNotMatch: (header: string) =>
    new SlsError(401, "SignatureNotMatch", `${header} does not match the request body.`),
  shardNotExist: (shard: string) => new SlsError(404, "ShardNotExist", `Shard ${shard} does not exist`),
  invalidCursor: (cursor: string) => new SlsError(400, "InvalidCursor", `cursor ${cursor} is invalid`),
};
