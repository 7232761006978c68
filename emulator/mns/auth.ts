import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { KeyRecord, ServiceContext, ServiceRequest } from "../core/types";
import { mnsErrors } from "./errors";

/**
 * Verifies `Authorization: MNS <AccessKeyId>:<base64 HMAC-SHA1>` over method, content-md5,
 * content-type, date, sorted `x-mns-*` headers and the path with its raw query, then the `security-token`
 * of temporary keys. The Date is not compared with the emulator clock, which may run faster than the
 * wall clock clients use.
 */
export function authenticateMns(req: ServiceRequest, ctx: ServiceContext): KeyRecord {
  const authorization = req.headers.authorization;
  if (authorization === undefined || authorization === "") throw mnsErrors.missingAuthorization();
  const match = /^MNS ([^:\s]+):(\S+)$/.exec(authorization);
  if (match === null) throw mnsErrors.invalidAuthorization();
  const accessKeyId = match[1] ?? "";
  const signature = match[2] ?? "";
  if (req.headers.date === undefined) throw mnsErrors.missingDate();
  assertContentMd5(req);

  const key = ctx.lookupKey(accessKeyId);
  if (key === undefined) throw mnsErrors.invalidAccessKeyId();
  const expected = createHmac("sha1", key.accessKeySecret).update(mnsStringToSign(req)).digest("base64");
  if (!sameText(expected, signature)) throw mnsErrors.signatureDoesNotMatch();

  if (key.securityToken !== undefined) {
    if (req.headers["security-token"] !== key.securityToken) throw mnsErrors.invalidSecurityToken();
    if (key.expiresAt !== undefined && ctx.clock.now() >= key.expiresAt)
      throw mnsErrors.expiredSecurityToken();
  }
  return key;
}

export function mnsStringToSign(req: ServiceRequest): string {
  const headers = req.headers;
  const mnsHeaders = Object.keys(headers)
    .filter((name) => name.startsWith("x-mns-"))
    .sort()
    .map((name) => `${name}:${headers[name] ?? ""}\n`)
    .join("");
  const resource = req.rawQuery === "" ? req.rawPath : `${req.rawPath}?${req.rawQuery}`;
  return [
    req.method,
    headers["content-md5"] ?? "",
    headers["content-type"] ?? "",
    headers.date ?? "",
    `${mnsHeaders}${resource}`,
  ].join("\n");
}

/** Content-MD5, when sent, must match the body: Base64 of the hex digest (what the SDKs send) or of the raw digest. */
function assertContentMd5(req: ServiceRequest): void {
  const contentMd5 = req.headers["content-md5"];
  if (contentMd5 === undefined || contentMd5 === "") return;
  const digest = createHash("md5").update(req.body).digest();
  const accepted = [
    Buffer.from(digest.toString("hex")).toString("base64"),
    Buffer.from(digest.toString("hex").toUpperCase()).toString("base64"),
    digest.toString("base64"),
  ];
  if (!accepted.includes(contentMd5)) throw mnsErrors.invalidDigest();
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
