/**
 * One error type for every failed cloud call, whatever SDK raised it: what failed (service,
 * operation), the service's own code and request id, and whether trying again can help.
 */
import { z } from "zod";

export type CloudService = "ecs" | "sls" | "mns" | "sts" | "oss";

export interface CloudErrorDetails {
  code: string;
  service: CloudService;
  operation: string;
  httpStatus?: number;
  requestId?: string;
  retryable: boolean;
  cause?: unknown;
}

export class CloudError extends Error {
  readonly code: string;
  readonly service: CloudService;
  readonly operation: string;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  readonly retryable: boolean;

  constructor(message: string, details: CloudErrorDetails) {
    super(`${details.service}:${details.operation} ${details.code}: ${message}`, { cause: details.cause });
    this.name = "CloudError";
    this.code = details.code;
    this.service = details.service;
    this.operation = details.operation;
    this.httpStatus = details.httpStatus;
    this.requestId = details.requestId;
    this.retryable = details.retryable;
  }
}

const retryableCodes = new Set([
  "ServiceUnavailable",
  "InternalError",
  "InternalServerError",
  "ServerBusy",
  "RequestTimeout",
  "UnknownError",
  // SLS data-plane quotas (per shard / per project per second)
  "WriteQuotaExceed",
  "ReadQuotaExceed",
]);

/** Node socket errors and the httpx timeouts the SDKs raise: the request may not have been served. */
const transientNetworkCodes = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ESOCKETTIMEDOUT",
]);

/** The service's "too many calls" answers: wait and call again, never fail the work. */
export function isThrottlingCode(code: string, httpStatus?: number): boolean {
  if (code.startsWith("Throttling") || code === "QpsLimitExceeded") return true;
  return code === "ExceedQuota" && httpStatus === 403;
}

/** Whether trying the same call again later can succeed. */
export function isRetryableCode(code: string, httpStatus?: number): boolean {
  if (isThrottlingCode(code, httpStatus)) return true;
  if (retryableCodes.has(code)) return true;
  if (transientNetworkCodes.has(code)) return true;
  // A 400 ExceedQuota is a count limit (e.g. 100 configs per project) that waiting does not lift;
  // without a status it is taken for throttling (403, above).
  if (code === "ExceedQuota") return httpStatus !== 400;
  return httpStatus !== undefined && httpStatus >= 500;
}

// The SDKs' error objects, read tolerantly: Tea errors carry code/statusCode/data.requestId (SLS) or
// requestId (RPC); @alicloud/mns names its errors `MNS<Code>Error` with status and request id in the text.
const sdkErrorShape = z.object({
  name: z.string().optional(),
  code: z.unknown().optional(),
  statusCode: z.number().optional(),
  message: z.string().optional(),
  requestId: z.string().optional(),
  data: z.object({ requestId: z.string().optional(), statusCode: z.number().optional() }).loose().optional(),
});

const networkErrorNames = /^(RequestTimeout|ReadTimeout|ConnectTimeout)\w*Error$/;

/** Turns whatever an SDK threw into a CloudError (a CloudError passes through). */
export function toCloudError(error: unknown, service: CloudService, operation: string): CloudError {
  if (error instanceof CloudError) return error;
  const parsed = sdkErrorShape.safeParse(error);
  const shape = parsed.success ? parsed.data : {};
  const message = shape.message ?? String(error);
  const mnsCode = /^MNS(.+)Error$/.exec(shape.name ?? "")?.[1];
  const mnsStatus = /failed with (\d{3})\./.exec(message)?.[1];
  const mnsRequestId = /requestid: ([^,\s]+),/.exec(message)?.[1];

  let code = typeof shape.code === "string" && shape.code !== "" ? shape.code : (mnsCode ?? "");
  if (code === "" || code === "undefined") {
    code = networkErrorNames.test(shape.name ?? "") ? "RequestTimeout" : "UnknownError";
  }
  const httpStatus =
    shape.statusCode ?? shape.data?.statusCode ?? (mnsStatus ? Number(mnsStatus) : undefined);
  const requestId = nonEmpty(shape.data?.requestId) ?? nonEmpty(shape.requestId) ?? nonEmpty(mnsRequestId);
  // An error without code or status never reached the service's logic (a local bug, or a response
  // the SDK could not read): not retryable, unless it is a network failure.
  const unknown = code === "UnknownError" && httpStatus === undefined;
  return new CloudError(message, {
    code,
    service,
    operation,
    ...(httpStatus === undefined ? {} : { httpStatus }),
    ...(requestId === undefined ? {} : { requestId }),
    retryable: unknown ? false : isRetryableCode(code, httpStatus),
    cause: error,
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" || value === "undefined" ? undefined : value;
}
