import { randomUUID } from "node:crypto";
import type { AccessDecision, AccessRequest } from "../ram";
import type {
  EmulatedService,
  KeyRecord,
  ServiceContext,
  ServiceName,
  ServiceRequest,
  ServiceResponse,
} from "../types";
import { gatewayErrors, RpcError } from "./errors";
import { RpcParams } from "./params";
import { parsePairs, RpcSignatureVerifier } from "./signature";
import { toXml } from "./xml";

/** What an operation handler receives: the verified caller, the call's region and its parameters. */
export interface RpcInvocation {
  caller: KeyRecord;
  region: string;
  params: RpcParams;
  requestId: string;
}

export type RpcHandler = (call: RpcInvocation) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface RpcServiceDefinition {
  name: ServiceName;
  /** Product code used in error `Recommend` links (e.g. `Ecs`). */
  product: string;
  /** Real host name reported as `HostId` in errors (e.g. `ecs.aliyuncs.com`). */
  hostId: string;
  apiVersion: string;
  signatureMismatchCode: string;
  matchesHost(host: string): boolean;
  /** The region a call is served in (a `RegionId` parameter, or the endpoint's region). */
  regionOf(host: string, params: RpcParams): string;
  operations: Readonly<Record<string, RpcHandler>>;
  /**
   * The RAM authorization an operation needs (its action and resources); undefined: none is
   * evaluated (STS checks its own). A refusal answers `denied(decision)`.
   */
  ramRequest?(action: string, call: RpcInvocation): AccessRequest | undefined;
  denied?(decision: Extract<AccessDecision, { allowed: false }>): RpcError;
  reset(): void;
  wallNow?: () => number;
}

/**
 * The shared RPC (POP) protocol: signature → operation → admission (limits, faults) → handler →
 * JSON with `RequestId`, or the error body `{RequestId, HostId, Code, Message, Recommend}`.
 */
export function createRpcService(ctx: ServiceContext, definition: RpcServiceDefinition): EmulatedService {
  const verifier = new RpcSignatureVerifier({
    lookupKey: (id) => ctx.lookupKey(id),
    clock: ctx.clock,
    signatureMismatchCode: definition.signatureMismatchCode,
    ...(definition.wallNow === undefined ? {} : { wallNow: definition.wallNow }),
  });

  async function handle(req: ServiceRequest): Promise<ServiceResponse> {
    const requestId = randomUUID().toUpperCase();
    const format = responseFormat(req);
    try {
      if (req.method !== "GET" && req.method !== "POST") throw gatewayErrors.unsupportedMethod();
      const verified = verifier.verify(req);
      const action = verified.action;
      if (action === undefined || action === "") throw gatewayErrors.missingCredential("Action");
      const handler = Object.hasOwn(definition.operations, action)
        ? definition.operations[action]
        : undefined;
      if (handler === undefined) throw gatewayErrors.apiNotFound();
      if (verified.version !== undefined && verified.version !== definition.apiVersion) {
        throw gatewayErrors.versionNotFound(verified.version);
      }
      const params = new RpcParams(verified.params);
      const region = definition.regionOf(req.host, params);
      const admission = await ctx.admit({
        service: definition.name,
        operation: action,
        accountId: verified.key.accountId,
        region,
        caller: verified.key.arn,
      });
      if (admission.kind === "throttled") throw gatewayErrors.throttled();
      if (admission.kind === "fault") throw new RpcError(admission.status, admission.code, admission.message);
      const invocation = { caller: verified.key, region, params, requestId };
      const ramRequest = definition.ramRequest?.(action, invocation);
      if (ramRequest !== undefined) {
        const decision = ctx.authorize(verified.key, ramRequest);
        if (!decision.allowed) throw definition.denied?.(decision) ?? gatewayErrors.forbiddenRam(decision);
      }
      const body = await handler(invocation);
      return render(format, 200, `${action}Response`, { RequestId: requestId, ...body }, requestId);
    } catch (error) {
      // An unexpected exception is an emulator bug: answer like the real service, but say so on stderr.
      if (!(error instanceof RpcError)) {
        process.stderr.write(
          `emulator ${definition.name}: ${error instanceof Error ? error.stack : String(error)}\n`,
        );
      }
      const failure = error instanceof RpcError ? error : gatewayErrors.internal();
      return render(
        format,
        failure.status,
        "Error",
        {
          RequestId: requestId,
          HostId: definition.hostId,
          Code: failure.code,
          Message: failure.message,
          Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(failure.code)}&product=${definition.product}`,
        },
        requestId,
      );
    }
  }

  return {
    name: definition.name,
    matchesHost: definition.matchesHost,
    handle,
    reset: definition.reset,
  };
}

/**
 * `Format=JSON|XML` decides; without it, ACS3 requests (current SDKs, which ask for JSON) get JSON and
 * the older signature gets XML, the RPC protocol's documented default.
 */
function responseFormat(req: ServiceRequest): "JSON" | "XML" {
  const pairs = [
    ...parsePairsSafely(req.rawQuery),
    ...(isFormBody(req) ? parsePairsSafely(req.body.toString("utf8")) : []),
  ];
  const format = pairs.find(([name]) => name === "Format")?.[1].toUpperCase();
  if (format === "XML" || format === "JSON") return format;
  return req.headers.authorization?.startsWith("ACS3-") === true ? "JSON" : "XML";
}

function parsePairsSafely(text: string): ReturnType<typeof parsePairs> {
  try {
    return parsePairs(text);
  } catch {
    return [];
  }
}

function isFormBody(req: ServiceRequest): boolean {
  return (req.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded");
}

function render(
  format: "JSON" | "XML",
  status: number,
  root: string,
  body: Record<string, unknown>,
  requestId: string,
): ServiceResponse {
  if (format === "XML") {
    return {
      status,
      headers: { "content-type": "text/xml;charset=utf-8", "x-acs-request-id": requestId },
      body: toXml(root, body),
    };
  }
  return {
    status,
    headers: { "content-type": "application/json;charset=utf-8", "x-acs-request-id": requestId },
    body: JSON.stringify(body),
  };
}
