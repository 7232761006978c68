import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { KeyRecord, ServiceContext, ServiceRequest } from "../core/types";
import { ossErrors } from "./errors";
import { ossSubResources } from "./routing";

/**
 * Verifies OSS signature V1, `Authorization: OSS <AccessKeyId>:<base64 HMAC-SHA1(secret, stringToSign)>`,
 * then the `x-oss-security-token` of temporary keys. The Date is not compared with the emulator clock,
 * which may run faster than the wall clock clients use.
 */
export function authenticateOss(req: ServiceRequest, bucket: string, ctx: ServiceContext): KeyRecord {
  const authorization = req.headers.authorization;
  if (authorization === undefined || authorization === "") throw ossErrors.anonymous();
  const scheme = authorization.split(/\s/, 1)[0] ?? "";
  if (scheme !== "OSS") throw ossErrors.unsupportedSignature(scheme);
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(authorization);
  if (match === null) throw ossErrors.invalidAuthorization();
  const accessKeyId = match[1] ?? "";
  const signature = match[2] ?? "";
  if (req.headers.date === undefined) throw ossErrors.missingDate();
  assertContentMd5(req);

  const key = ctx.lookupKey(accessKeyId);
  if (key === undefined) throw ossErrors.invalidAccessKeyId(accessKeyId);
  const token = req.headers["x-oss-security-token"];
  // A token makes OSS look the id up among STS keys, where a permanent key does not exist (EC 0002-00000002).
  if (key.securityToken === undefined && token !== undefined) throw ossErrors.invalidAccessKeyId(accessKeyId);

  const stringToSign = ossStringToSign(req, bucket);
  const expected = createHmac("sha1", key.accessKeySecret).update(stringToSign).digest("base64");
  if (!sameText(expected, signature))
    throw ossErrors.signatureDoesNotMatch(accessKeyId, stringToSign, signature);

  if (key.securityToken !== undefined) {
    if (token !== key.securityToken) throw ossErrors.invalidSecurityToken();
    if (key.expiresAt !== undefined && ctx.clock.now() >= key.expiresAt)
      throw ossErrors.securityTokenExpired();
  }
  return key;
}

/**
 * `METHOD\nContent-MD5\nContent-Type\nDate\n` + the `x-oss-*` headers sorted (`name:value\n`) + the
 * canonicalized resource.
 */
export function ossStringToSign(req: ServiceRequest, bucket: string): string {
  const headers = req.headers;
  const ossHeaders = Object.keys(headers)
    .filter((name) => name.startsWith("x-oss-"))
    .sort()
    .map((name) => `${name}:${headers[name] ?? ""}\n`)
    .join("");
  return [
    req.method,
    headers["content-md5"] ?? "",
    headers["content-type"] ?? "",
    headers.date ?? "",
    `${ossHeaders}${canonicalizedResource(req, bucket)}`,
  ].join("\n");
}

/**
 * `/<bucket>/<key>` with the key decoded (the SDK signs the key as written, before the HTTP layer
 * escapes it), then the sub-resources sorted by name: `?name` or `?name=value`, joined with `&`. Other
 * query parameters are not signed.
 */
export function canonicalizedResource(req: ServiceRequest, bucket: string): string {
  const subResources = new Map<string, string | undefined>();
  for (const part of req.rawQuery.split("&")) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const name = decodeQueryComponent(equals < 0 ? part : part.slice(0, equals));
    if (!ossSubResources.has(name)) continue;
    subResources.set(name, equals < 0 ? undefined : decodeQueryComponent(part.slice(equals + 1)));
  }
  const signed = [...subResources.keys()]
    .sort()
    .map((name) => {
      const value = subResources.get(name);
      return value === undefined ? name : `${name}=${value}`;
    })
    .join("&");
  const resource = `/${bucket}${req.path}`;
  return signed === "" ? resource : `${resource}?${signed}`;
}

function decodeQueryComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/** Content-MD5, when sent, must be the Base64 of the body's MD5 digest. */
function assertContentMd5(req: ServiceRequest): void {
  const contentMd5 = req.headers["content-md5"];
  if (contentMd5 === undefined || contentMd5 === "") return;
  if (contentMd5 !== createHash("md5").update(req.body).digest("base64")) throw ossErrors.invalidDigest();
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
