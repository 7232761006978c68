import type { AccessDecision, AccessRequest } from "./ram";

/**
 * Contracts between the emulator's shared core (HTTP server, accounts, clock, limits, faults,
 * metrics) and each service (routing + protocol + backend). A service never touches the socket:
 * the core hands it a parsed request and writes back what it returns.
 */

/** Injectable clock: emulator time may run faster than wall time (time scaling) or be advanced. */
export interface Clock {
  /** Milliseconds since the Unix epoch, in emulator time. */
  now(): number;
}

/** A parsed HTTP request as a service sees it. Header names are lower-case. */
export interface ServiceRequest {
  method: string;
  /** Path without the query string, not decoded (signatures are computed over the raw path). */
  rawPath: string;
  /** Decoded path. */
  path: string;
  /** Raw query string without the leading `?` (may be empty). */
  rawQuery: string;
  /** Decoded query parameters (last value wins for repeats; see rawQuery for the rest). */
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Host header without the port, lower-cased (e.g. `myproject.sls.cn-hangzhou.localhost`). */
  host: string;
  body: Buffer;
}

export interface ServiceResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
  /** Close the connection without sending this answer (an injected lost request or response). */
  lost?: boolean;
}

/** The principal a verified AccessKey acts as. */
export interface Principal {
  /** The account (UID) whose resources this key may touch. */
  accountId: string;
  /** `acs:ram::<uid>:root`, `acs:ram::<uid>:user/<name>` or `acs:ram::<uid>:assumed-role/<role>/<session>`. */
  arn: string;
  accessKeyId: string;
}

/** What the core knows about an AccessKey id: enough for a service to verify a signature. */
export interface KeyRecord {
  accessKeyId: string;
  accessKeySecret: string;
  accountId: string;
  arn: string;
  /** Present for temporary (STS) keys: the token the request must carry. */
  securityToken?: string;
  /** Present for temporary keys: expiry in emulator ms. */
  expiresAt?: number;
}

/** Outcome of the core's admission check for one API call (rate limits and injected faults). */
export type Admission =
  | { kind: "ok" }
  | { kind: "throttled" }
  | { kind: "fault"; status: number; code: string; message: string };

/** What the core offers every service. */
export interface ServiceContext {
  clock: Clock;
  /** Looks an AccessKey id up; undefined when unknown. */
  lookupKey(accessKeyId: string): KeyRecord | undefined;
  /**
   * Called by a service once it knows the operation and the calling account (after authentication),
   * before it acts. Records the call in the metrics and applies rate limits, injected faults and
   * latency (the returned promise resolves after any injected delay).
   */
  admit(call: {
    service: ServiceName;
    operation: string;
    accountId: string;
    region: string;
    /** The caller's ARN, for the metrics' per-caller counts. */
    caller?: string;
  }): Promise<Admission>;
  /**
   * RAM's verdict on a call: a session of a policy-bound role is held to the role's policies; other
   * keys are allowed. The service maps a refusal to its own error.
   */
  authorize(caller: Pick<KeyRecord, "arn">, request: AccessRequest): AccessDecision;
  /** Unique request id in the service's own format is the service's job; this is a shared counter. */
  nextId(): number;
}

export type ServiceName = "ecs" | "sls" | "mns" | "sts" | "oss" | "eventbridge";

/** A service plugged into the core's HTTP server. */
export interface EmulatedService {
  name: ServiceName;
  /** True when this service answers requests for that Host (port already stripped). */
  matchesHost(host: string): boolean;
  handle(req: ServiceRequest): Promise<ServiceResponse>;
  /** Drops all state (admin reset). */
  reset(): void;
}

/**
 * Every service module exports a factory of this shape (`emulator/<service>/index.ts`), so the core
 * can assemble the emulator without knowing a service's internals.
 */
export type ServiceFactory<S extends EmulatedService = EmulatedService> = (ctx: ServiceContext) => S;

/**
 * Host names (RFC 6761 reserves `.localhost` for loopback; the core resolves them to 127.0.0.1 inside
 * the project's processes). They mirror the real endpoints with `aliyuncs.com` → `localhost`:
 * - ECS:  `ecs.<region>.localhost`            (real: ecs.<region>.aliyuncs.com)
 * - SLS:  `<region>.log.localhost`, project requests `<project>.<region>.log.localhost`
 * - MNS:  `<accountId>.mns.<region>.localhost`
 * - OSS:  `<bucket>.oss-<region>.localhost`    (real: <bucket>.oss-<region>.aliyuncs.com; `oss-<region>-internal`
 *         is an alias; the bucket-less `oss-<region>.localhost` is answered with an error)
 * - STS:  `sts.localhost`
 * - Admin API: `admin.localhost` (or any host, path prefix `/_admin/`)
 */
export const EMULATOR_DOMAIN = "localhost";
