import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { KeyRecord, ServiceContext, ServiceRequest } from "../core/types";
import { slsErrors } from "./errors";
import type { QueryPair } from "./protocol";

export interface SlsCaller {
  accountId: string;
  accessKeyId: string;
  arn: string;
}

const supportedApiVersion = "0.6.0";
const v4Algorithm = "SLS4-HMAC-SHA256";

/**
 * Verifies a request's signature as SLS does: the `LOG <id>:<signature>` scheme (v1, HMAC-SHA256 or
 * the legacy HMAC-SHA1 of older SDKs) and the `SLS4-HMAC-SHA256` scheme (v4, opt-in in the SDK), then
 * the STS token of temporary keys. Request time is not checked against the emulator clock: the clock
 * may run faster than the wall clock that clients put in `Date`.
 */
export function authenticateSls(
  req: ServiceRequest,
  ctx: ServiceContext,
  region: string,
  query: readonly QueryPair[],
): SlsCaller {
  const authorization = req.headers.authorization;
  if (authorization === undefined || authorization === "") throw slsErrors.missingAuthorization();
  const key = authorization.startsWith(`${v4Algorithm} `)
    ? verifyV4(req, ctx, region, query, authorization)
    : verifyV1(req, ctx, query, authorization);
  verifySecurityToken(req, ctx, key);
  return { accountId: key.accountId, accessKeyId: key.accessKeyId, arn: key.arn };
}

function verifyV1(
  req: ServiceRequest,
  ctx: ServiceContext,
  query: readonly QueryPair[],
  authorization: string,
): KeyRecord {
  const match = /^LOG ([^:\s]*):(\S+)$/.exec(authorization);
  if (match === null) throw slsErrors.invalidAuthorization();
  const accessKeyId = match[1] ?? "";
  const signature = match[2] ?? "";
  if (accessKeyId === "") throw slsErrors.invalidAccessKeyId(accessKeyId);
  const version = req.headers["x-log-apiversion"];
  if (version === undefined) throw slsErrors.missingApiVersion();
  if (version !== supportedApiVersion) throw slsErrors.invalidApiVersion(version);
  const method = req.headers["x-log-signaturemethod"];
  if (method === undefined) throw slsErrors.missingSignatureMethod();
  const algorithm = method === "hmac-sha256" ? "sha256" : method === "hmac-sha1" ? "sha1" : undefined;
  if (algorithm === undefined) throw slsErrors.invalidSignatureMethod(method);
  if (req.headers.date === undefined) throw slsErrors.missingDate();

  const key = lookup(ctx, accessKeyId);
  const expected = createHmac(algorithm, key.accessKeySecret)
    .update(v1StringToSign(req, query))
    .digest("base64");
  if (!sameText(expected, signature)) throw slsErrors.signatureNotMatch(signature);
  return key;
}

/** Method, content-md5, content-type, date, sorted `x-log-*`/`x-acs-*` headers, path with sorted query. */
export function v1StringToSign(req: ServiceRequest, query: readonly QueryPair[]): string {
  const headers = req.headers;
  const signedHeaders = Object.keys(headers)
    .filter((name) => name.includes("x-log-") || name.includes("x-acs-"))
    .sort()
    .map((name) => `${name}:${headers[name] ?? ""}\n`)
    .join("");
  const sortedQuery = [...query]
    .sort((a, b) => compareCodeUnits(a.key, b.key))
    .map((pair) => (pair.value === undefined ? pair.key : `${pair.key}=${pair.value}`))
    .join("&");
  const resource = sortedQuery === "" ? req.path : `${req.path}?${sortedQuery}`;
  return [
    req.method,
    headers["content-md5"] ?? "",
    headers["content-type"] ?? "",
    headers.date ?? "",
    `${signedHeaders}${resource}`,
  ].join("\n");
}

function verifyV4(
  req: ServiceRequest,
  ctx: ServiceContext,
  region: string,
  query: readonly QueryPair[],
  authorization: string,
): KeyRecord {
  const match =
    /^SLS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/sls\/aliyun_v4_request,\s*Signature=([0-9a-f]+)$/.exec(
      authorization,
    );
  if (match === null) throw slsErrors.invalidAuthorization();
  const [, accessKeyId = "", day = "", scopeRegion = "", signature = ""] = match;
  const date = req.headers["x-log-date"];
  const contentSha256 = req.headers["x-log-content-sha256"];
  if (date === undefined || contentSha256 === undefined) throw slsErrors.missingDate();
  if (scopeRegion !== region) throw slsErrors.signatureNotMatch(signature);

  const key = lookup(ctx, accessKeyId);
  const signedHeaderNames = Object.keys(req.headers)
    .filter(
      (name) =>
        name.startsWith("x-log-") || name.startsWith("x-acs-") || name === "host" || name === "content-type",
    )
    .sort();
  const canonicalHeaders = signedHeaderNames
    .map((name) => `${name}:${(req.headers[name] ?? "").trim()}\n`)
    .join("");
  const canonicalQuery = [...query]
    .sort((a, b) => compareCodeUnits(a.key, b.key))
    .map((pair) =>
      pair.value === undefined || pair.value === "" ? pair.key : `${pair.key}=${percentEncode(pair.value)}`,
    )
    .join("&");
  const canonicalRequest = [
    req.method,
    req.path === "" ? "/" : req.path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaderNames.join(";"),
    contentSha256,
  ].join("\n");
  const scope = `${day}/${region}/sls/aliyun_v4_request`;
  const stringToSign = [v4Algorithm, date, scope, sha256Hex(canonicalRequest)].join("\n");
  let signingKey: Buffer = hmac(`aliyun_v4${key.accessKeySecret}`, day);
  for (const part of [region, "sls", "aliyun_v4_request"]) signingKey = hmac(signingKey, part);
  const expected = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
  if (!sameText(expected, signature)) throw slsErrors.signatureNotMatch(signature);
  return key;
}

/**
 * The body a signature covers must be the body received: v1 signs `content-md5` (upper-case hex MD5
 * of the body as sent, compressed or not; both the official gateway and `@alicloud/log` send it),
 * v4 signs `x-log-content-sha256` (lower-case hex SHA-256). A request without a body, or a v1 request
 * without `content-md5`, has nothing to compare.
 */
export function verifyBodyDigest(req: ServiceRequest): void {
  if (req.body.length === 0) return;
  const sha256 = req.headers["x-log-content-sha256"];
  if (req.headers.authorization?.startsWith(`${v4Algorithm} `) && sha256 !== undefined) {
    if (sha256.toLowerCase() !== createHash("sha256").update(req.body).digest("hex")) {
      throw slsErrors.bodyDigestNotMatch("x-log-content-sha256");
    }
    return;
  }
  const md5 = req.headers["content-md5"];
  if (
    md5 !== undefined &&
    md5 !== "" &&
    md5.toUpperCase() !== createHash("md5").update(req.body).digest("hex").toUpperCase()
  ) {
    throw slsErrors.bodyDigestNotMatch("content-md5");
  }
}

function verifySecurityToken(req: ServiceRequest, ctx: ServiceContext, key: KeyRecord): void {
  if (key.securityToken === undefined) return;
  if (req.headers["x-acs-security-token"] !== key.securityToken) throw slsErrors.invalidSecurityToken();
  if (key.expiresAt !== undefined && ctx.clock.now() >= key.expiresAt) throw slsErrors.expiredSecurityToken();
}

function lookup(ctx: ServiceContext, accessKeyId: string): KeyRecord {
  const key = ctx.lookupKey(accessKeyId);
  if (key === undefined) throw slsErrors.accessKeyNotFound(accessKeyId);
  return key;
}

function hmac(secret: string | Buffer, data: string): Buffer {
  return createHmac("sha256", secret).update(data).digest();
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/\*/g, "%2A").replace(/%7E/g, "~");
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
