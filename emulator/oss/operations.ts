import {
  type BucketAcl,
  bucketAcls,
  type LifecycleRule,
  type OssBackend,
  type OssObject,
  type StorageClass,
  storageClasses,
} from "./backend";
import { ossErrors } from "./errors";
import type { OssOperation } from "./routing";
import { node, xmlDocument } from "./xml";

/** What a handler needs to know about one authenticated, admitted and authorized call. */
export interface OssCall {
  bucket: string;
  /** The endpoint's region (a new bucket is created there). */
  region: string;
  key: string | undefined;
  callerAccountId: string;
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  body: Buffer;
}

export interface OssResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

type Handler = (backend: OssBackend, call: OssCall) => OssResult;

function objectKey(call: OssCall): string {
  if (call.key === undefined) throw ossErrors.internal();
  return call.key;
}

/** Headers of GetObject and HeadObject. */
function objectHeaders(object: OssObject): Record<string, string> {
  return {
    "content-type": object.contentType,
    etag: object.etag,
    "last-modified": new Date(object.lastModified).toUTCString(),
    "content-md5": object.contentMd5,
    "x-oss-hash-crc64ecma": object.crc64,
    "x-oss-object-type": "Normal",
    "x-oss-storage-class": "Standard",
    "accept-ranges": "bytes",
    ...object.userMetadata,
  };
}

/** GetObject's `response-*` parameters replace the matching response headers. */
const responseOverrides: Readonly<Record<string, string>> = {
  "response-content-type": "content-type",
  "response-content-language": "content-language",
  "response-expires": "expires",
  "response-cache-control": "cache-control",
  "response-content-disposition": "content-disposition",
  "response-content-encoding": "content-encoding",
};

function pick<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (value === undefined) return undefined;
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined)
    throw ossErrors.invalidArgument(`${name} "${value}" is not one of ${allowed.join(", ")}.`);
  return found;
}

export const ossHandlers: Record<OssOperation, Handler> = {
  PutBucket: (backend, call) => {
    // Lenient on the root element: the SDK sends `<StorageClass>` without `<CreateBucketConfiguration>`.
    const storageClass = pick<StorageClass>(
      /<StorageClass>([^<]*)<\/StorageClass>/.exec(call.body.toString("utf8"))?.[1],
      storageClasses,
      "StorageClass",
    );
    const acl = pick<BucketAcl>(call.headers["x-oss-acl"], bucketAcls, "x-oss-acl");
    backend.createBucket({
      name: call.bucket,
      region: call.region,
      ownerAccountId: call.callerAccountId,
      ...(storageClass === undefined ? {} : { storageClass }),
      ...(acl === undefined ? {} : { acl }),
    });
    // OSS answers with no body (the SDK then fails to parse it: see README).
    return { status: 200, headers: { location: `/${call.bucket}` }, body: "" };
  },

  GetBucketInfo: (backend, call) => {
    const bucket = backend.getBucket(call.bucket);
    const body = xmlDocument("BucketInfo", [
      node("Bucket", [
        node("AccessMonitor", "Disabled"),
        node("CreationDate", new Date(bucket.createdAt).toISOString()),
        node("ExtranetEndpoint", `oss-${bucket.region}.localhost`),
        node("IntranetEndpoint", `oss-${bucket.region}-internal.localhost`),
        node("Location", `oss-${bucket.region}`),
        node("StorageClass", bucket.storageClass),
        node("DataRedundancyType", "LRS"),
        node("TransferAcceleration", "Disabled"),
        node("CrossRegionReplication", "Disabled"),
        node("Name", bucket.name),
        node("Owner", [node("DisplayName", bucket.ownerAccountId), node("ID", bucket.ownerAccountId)]),
        node("AccessControlList", [node("Grant", bucket.acl)]),
        node("ServerSideEncryptionRule", [node("SSEAlgorithm", "None")]),
        node("BucketPolicy", [node("LogBucket", ""), node("LogPrefix", "")]),
      ]),
    ]);
    return { status: 200, headers: { "content-type": "application/xml" }, body };
  },

  PutBucketLifecycle: (backend, call) => {
    const bucket = backend.getBucket(call.bucket);
    const text = call.body.toString("utf8");
    const rules = [...text.matchAll(/<Rule>([\s\S]*?)<\/Rule>/g)].map(
      ([, rule = ""], index): LifecycleRule => {
        const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(rule)?.[1];
        const days = Number(/<Expiration>[\s\S]*?<Days>(\d+)<\/Days>[\s\S]*?<\/Expiration>/.exec(rule)?.[1]);
        const status = field("Status");
        if (status !== "Enabled" && status !== "Disabled")
          throw ossErrors.malformedXml(`Rule ${index + 1}: Status must be Enabled or Disabled.`);
        if (!Number.isInteger(days) || days < 1)
          throw ossErrors.malformedXml(
            `Rule ${index + 1}: only Expiration with Days of 1 or more is emulated.`,
          );
        return {
          id: field("ID") ?? `rule-${index + 1}`,
          prefix: field("Prefix") ?? "",
          status,
          expirationDays: days,
        };
      },
    );
    if (rules.length === 0) throw ossErrors.malformedXml("The lifecycle configuration has no Rule.");
    bucket.lifecycle = rules;
    return { status: 200, headers: {}, body: "" };
  },

  GetBucketLifecycle: (backend, call) => {
    const bucket = backend.getBucket(call.bucket);
    if (bucket.lifecycle === undefined) throw ossErrors.noSuchLifecycle(bucket.name);
    const body = xmlDocument(
      "LifecycleConfiguration",
      bucket.lifecycle.map((rule) =>
        node("Rule", [
          node("ID", rule.id),
          node("Prefix", rule.prefix),
          node("Status", rule.status),
          node("Expiration", [node("Days", String(rule.expirationDays))]),
        ]),
      ),
    );
    return { status: 200, headers: { "content-type": "application/xml" }, body };
  },

  PutObject: (backend, call) => {
    const userMetadata = Object.fromEntries(
      Object.entries(call.headers).filter(([name]) => name.startsWith("x-oss-meta-")),
    );
    const object = backend.putObject(call.bucket, objectKey(call), {
      body: call.body,
      contentType: call.headers["content-type"] ?? "application/octet-stream",
      userMetadata,
      forbidOverwrite: call.headers["x-oss-forbid-overwrite"]?.toLowerCase() === "true",
    });
    return {
      status: 200,
      headers: {
        etag: object.etag,
        "content-md5": object.contentMd5,
        "x-oss-hash-crc64ecma": object.crc64,
      },
      body: "",
    };
  },

  GetObject: (backend, call) => {
    const object = backend.getObject(call.bucket, objectKey(call));
    const headers = objectHeaders(object);
    for (const [parameter, header] of Object.entries(responseOverrides)) {
      const value = call.query[parameter];
      if (value !== undefined) headers[header] = value;
    }
    return { status: 200, headers, body: object.body };
  },

  HeadObject: (backend, call) => {
    const object = backend.getObject(call.bucket, objectKey(call));
    // Node sends no body in answer to HEAD, but keeps the Content-Length of this one: the object's size.
    return { status: 200, headers: objectHeaders(object), body: object.body };
  },

  DeleteObject: (backend, call) => {
    backend.deleteObject(call.bucket, objectKey(call));
    return { status: 204, headers: {}, body: "" };
  },
};
