import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Clock, KeyRecord, ServiceRequest } from "../types";
import { gatewayErrors, RpcError } from "./errors";

export type ParamPair = readonly [string, string];

/** What a verified RPC request carries: the key that signed it and its merged parameters. */
export interface VerifiedRpcRequest {
  key: KeyRecord;
  /** `Action` (query parameter in HMAC-SHA1 requests, `x-acs-action` header in ACS3 requests). */
  action: string | undefined;
  version: string | undefined;
  /** Query and form-body parameters, signature parameters removed. */
  params: Map<string, string>;
  scheme: "ACS3-HMAC-SHA256" | "HMAC-SHA1";
}

export interface RpcVerifierOptions {
  lookupKey(accessKeyId: string): KeyRecord | undefined;
  /** Emulator clock: temporary keys expire on it. */
  clock: Clock;
  /** Wall clock: request timestamps are written by clients from their own (wall) clock. */
  wallNow?: () => number;
  /** The code this service answers a wrong signature with (ECS: `IncompleteSignature`). */
  signatureMismatchCode: string;
  /** Accepted distance between a request's timestamp and the wall clock. Default 15 minutes. */
  timestampToleranceMs?: number;
}

const acs3 = "ACS3-HMAC-SHA256";
/** Parameters of the HMAC-SHA1 scheme that are not business parameters. */
const v2SignatureParams = new Set([
  "Signature",
  "SignatureMethod",
  "SignatureVersion",
  "SignatureNonce",
  "SignatureType",
  "AccessKeyId",
  "SecurityToken",
  "Timestamp",
  "Format",
]);

/**
 * Verifies RPC (POP) request signatures the way Alibaba's gateway does: ACS3-HMAC-SHA256 (the
 * `Authorization` header, what current SDKs send) and the older HMAC-SHA1 `Signature` parameter.
 * Then checks the STS token of temporary keys. One verifier per service; it remembers nonces.
 */
export class RpcSignatureVerifier {
  private readonly nonces = new NonceMemory(100_000);

  constructor(private readonly options: RpcVerifierOptions) {}

  verify(req: ServiceRequest): VerifiedRpcRequest {
    const queryPairs = parsePairs(req.rawQuery);
    const bodyPairs = isForm(req) ? parsePairs(req.body.toString("utf8")) : [];
    const authorization = req.headers.authorization;
    if (authorization?.startsWith("ACS3-")) return this.verifyAcs3(req, authorization, queryPairs, bodyPairs);
    return this.verifyV2(req, queryPairs, bodyPairs);
  }

  private verifyAcs3(
    req: ServiceRequest,
    authorization: string,
    queryPairs: ParamPair[],
    bodyPairs: ParamPair[],
  ): VerifiedRpcRequest {
    const match = /^(\S+) Credential=([^,]*),SignedHeaders=([^,]*),Signature=([0-9a-fA-F]*)$/.exec(
      authorization,
    );
    if (match === null) throw gatewayErrors.invalidAuthorization();
    const [, algorithm = "", accessKeyId = "", signedHeaderList = "", signature = ""] = match;
    if (algorithm !== acs3) throw gatewayErrors.invalidSignatureMethod();
    if (accessKeyId === "") throw gatewayErrors.missingCredential("AccessKeyId");

    const date = req.headers["x-acs-date"];
    if (date === undefined) throw gatewayErrors.missingCredential("Timestamp");
    this.checkTimestamp(date);
    const nonce = req.headers["x-acs-signature-nonce"];
    if (nonce === undefined || nonce === "") throw gatewayErrors.missingCredential("SignatureNonce");

    const key = this.options.lookupKey(accessKeyId);
    if (key === undefined) throw gatewayErrors.accessKeyNotFound();

    const signedHeaders = signedHeaderList.split(";").filter((name) => name !== "");
    const canonicalHeaders = signedHeaders
      .map((name) => `${name}:${(req.headers[name] ?? "").trim()}\n`)
      .join("");
    const payloadHash = createHash("sha256").update(req.body).digest("hex");
    const canonicalRequest = [
      req.method,
      req.rawPath === "" ? "/" : req.rawPath,
      canonicalQuery(queryPairs),
      canonicalHeaders,
      signedHeaders.join(";"),
      payloadHash,
    ].join("\n");
    const stringToSign = `${acs3}\n${createHash("sha256").update(canonicalRequest).digest("hex")}`;
    const expected = createHmac("sha256", key.accessKeySecret).update(stringToSign).digest("hex");
    if (!sameText(expected, signature.toLowerCase())) {
      throw gatewayErrors.signatureMismatch(this.options.signatureMismatchCode, stringToSign);
    }
    this.checkNonce(accessKeyId, nonce);
    this.checkSecurityToken(key, req.headers["x-acs-security-token"]);
    return {
      key,
      action: req.headers["x-acs-action"],
      version: req.headers["x-acs-version"],
      params: mergePairs(queryPairs, bodyPairs, new Set()),
      scheme: acs3,
    };
  }

  private verifyV2(req: ServiceRequest, queryPairs: ParamPair[], bodyPairs: ParamPair[]): VerifiedRpcRequest {
    const all = mergePairs(queryPairs, bodyPairs, new Set());
    const accessKeyId = all.get("AccessKeyId");
    if (accessKeyId === undefined || accessKeyId === "") throw gatewayErrors.missingCredential("AccessKeyId");
    const signature = all.get("Signature");
    if (signature === undefined || signature === "") throw gatewayErrors.missingCredential("Signature");
    const method = all.get("SignatureMethod");
    if (method === undefined) throw gatewayErrors.missingCredential("SignatureMethod");
    if (method !== "HMAC-SHA1") throw gatewayErrors.invalidSignatureMethod();
    const timestamp = all.get("Timestamp");
    if (timestamp === undefined) throw gatewayErrors.missingCredential("Timestamp");
    this.checkTimestamp(timestamp);
    const nonce = all.get("SignatureNonce");
    if (nonce === undefined || nonce === "") throw gatewayErrors.missingCredential("SignatureNonce");

    const key = this.options.lookupKey(accessKeyId);
    if (key === undefined) throw gatewayErrors.accessKeyNotFound();

    const signed = [...queryPairs, ...bodyPairs]
      .filter(([name]) => name !== "Signature")
      .map(([name, value]) => [percentEncode(name), percentEncode(value)] as const)
      .sort((a, b) => compare(a[0], b[0]) || compare(a[1], b[1]))
      .map(([name, value]) => `${name}=${value}`)
      .join("&");
    const stringToSign = `${req.method}&${percentEncode("/")}&${percentEncode(signed)}`;
    const expected = createHmac("sha1", `${key.accessKeySecret}&`).update(stringToSign).digest("base64");
    if (!sameText(expected, signature)) {
      throw gatewayErrors.signatureMismatch(this.options.signatureMismatchCode, stringToSign);
    }
    this.checkNonce(accessKeyId, nonce);
    this.checkSecurityToken(key, all.get("SecurityToken"));
    return {
      key,
      action: all.get("Action"),
      version: all.get("Version"),
      params: mergePairs(queryPairs, bodyPairs, v2SignatureParams),
      scheme: "HMAC-SHA1",
    };
  }

  private checkTimestamp(text: string): void {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(text)) throw gatewayErrors.timestampFormat();
    const at = Date.parse(text);
    if (Number.isNaN(at)) throw gatewayErrors.timestampFormat();
    const wallNow = (this.options.wallNow ?? Date.now)();
    if (Math.abs(wallNow - at) > (this.options.timestampToleranceMs ?? 15 * 60 * 1000)) {
      throw gatewayErrors.timestampExpired();
    }
  }

  private checkNonce(accessKeyId: string, nonce: string): void {
    if (!this.nonces.remember(`${accessKeyId}|${nonce}`)) throw gatewayErrors.nonceUsed();
  }

  private checkSecurityToken(key: KeyRecord, token: string | undefined): void {
    const sent = token === undefined || token === "" ? undefined : token;
    if (key.securityToken === undefined) {
      // A token with a permanent key belongs to some other key.
      if (sent !== undefined) throw gatewayErrors.securityTokenMismatch();
      return;
    }
    if (sent === undefined) throw gatewayErrors.missingSecurityToken();
    if (!sent.startsWith("CAIS")) throw gatewayErrors.securityTokenMalformed();
    if (sent !== key.securityToken) throw gatewayErrors.securityTokenMismatch();
    if (key.expiresAt !== undefined && this.options.clock.now() >= key.expiresAt) {
      throw gatewayErrors.securityTokenExpired();
    }
  }
}

/** RFC 3986 percent-encoding as Alibaba's signature specs require (`~` kept, space as `%20`). */
export function percentEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function parsePairs(text: string): ParamPair[] {
  if (text === "") return [];
  const pairs: ParamPair[] = [];
  for (const part of text.split("&")) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const name = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? "" : part.slice(equals + 1);
    pairs.push([decode(name), decode(value)]);
  }
  return pairs;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    throw new RpcError(400, "InvalidParameter", "The request contains malformed percent-encoding.");
  }
}

function canonicalQuery(pairs: readonly ParamPair[]): string {
  return pairs
    .map(([name, value]) => [percentEncode(name), percentEncode(value)] as const)
    .sort((a, b) => compare(a[0], b[0]) || compare(a[1], b[1]))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

function mergePairs(
  queryPairs: readonly ParamPair[],
  bodyPairs: readonly ParamPair[],
  drop: ReadonlySet<string>,
): Map<string, string> {
  const merged = new Map<string, string>();
  for (const [name, value] of [...queryPairs, ...bodyPairs]) if (!drop.has(name)) merged.set(name, value);
  return merged;
}

function isForm(req: ServiceRequest): boolean {
  return (req.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded");
}

/** Byte-order comparison (the specs sort by the encoded ASCII strings). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameText(expected: string, actual: string): boolean {
  const left = Buffer.from(expected);
  const right = Buffer.from(actual);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Remembers the most recent nonces; a replay inside that window is refused. */
class NonceMemory {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity: number) {}

  remember(nonce: string): boolean {
    if (this.seen.has(nonce)) return false;
    this.seen.add(nonce);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }
}
