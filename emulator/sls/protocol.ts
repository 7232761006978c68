import { hexRequestId } from "../core/requestIds";
import type { ServiceRequest, ServiceResponse } from "../core/types";
import { SlsError, slsErrors } from "./errors";

/** One query parameter as sent; `value` is undefined for a bare `?key`. */
export interface QueryPair {
  key: string;
  value: string | undefined;
}

export interface SlsTarget {
  region: string;
  /** Present when the request was sent to `<project>.<region>.log.localhost`. */
  project: string | undefined;
}

const hostSuffix = ".log.localhost";

export function isSlsHost(host: string): boolean {
  return host.endsWith(hostSuffix) && host.length > hostSuffix.length;
}

/** `<region>.log.localhost` or `<project>.<region>.log.localhost`; `-intranet`/`-share`/`-vpc` are aliases. */
export function parseSlsHost(host: string): SlsTarget {
  const labels = host.slice(0, -hostSuffix.length).split(".");
  const [first, second, ...rest] = labels;
  if (first === undefined || first === "" || rest.length > 0 || second === "")
    throw slsErrors.invalidHost(host);
  const regionLabel = second ?? first;
  const region = regionLabel.replace(/-(intranet|share|vpc)$/, "");
  return { region, project: second === undefined ? undefined : first };
}

export function parseQuery(rawQuery: string): QueryPair[] {
  if (rawQuery === "") return [];
  return rawQuery
    .split("&")
    .filter((part) => part !== "")
    .map((part) => {
      const equals = part.indexOf("=");
      if (equals < 0) return { key: decode(part), value: undefined };
      return { key: decode(part.slice(0, equals)), value: decode(part.slice(equals + 1)) };
    });
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, "%20"));
  } catch {
    return text;
  }
}

export function parseJsonBody(req: ServiceRequest): unknown {
  const text = req.body.toString("utf8");
  if (text.trim() === "") return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed;
  } catch {
    throw slsErrors.postBodyInvalid();
  }
}

/** SLS request ids are 24 upper-case hex digits, as MNS's and OSS's. */
export const slsRequestId = hexRequestId;

function baseHeaders(requestId: string): Record<string, string> {
  return {
    "x-log-requestid": requestId,
    server: "AliyunSLS-emulator",
    "access-control-allow-origin": "*",
  };
}

export function jsonResponse(
  requestId: string,
  body: unknown,
  status = 200,
  extraHeaders: Record<string, string> = {},
): ServiceResponse {
  const text = JSON.stringify(body);
  return {
    status,
    headers: {
      ...baseHeaders(requestId),
      ...extraHeaders,
      "content-type": "application/json",
      "x-log-bodyrawsize": String(Buffer.byteLength(text)),
    },
    body: text,
  };
}

/** A binary answer (PullLogs); `headers` carry its content type, raw size and compression. */
export function binaryResponse(
  requestId: string,
  body: Buffer,
  headers: Record<string, string>,
): ServiceResponse {
  return { status: 200, headers: { ...baseHeaders(requestId), ...headers }, body };
}

export function emptyResponse(requestId: string): ServiceResponse {
  return { status: 200, headers: { ...baseHeaders(requestId), "x-log-bodyrawsize": "0" }, body: "" };
}

export function errorResponse(requestId: string, error: SlsError): ServiceResponse {
  return jsonResponse(requestId, { errorCode: error.code, errorMessage: error.message }, error.status);
}

export function toSlsError(error: unknown): SlsError {
  return error instanceof SlsError ? error : slsErrors.internal();
}
