import { ossErrors } from "./errors";

export const ossOperations = [
  "PutBucket",
  "GetBucketInfo",
  "PutBucketLifecycle",
  "GetBucketLifecycle",
  "PutObject",
  "GetObject",
  "HeadObject",
  "DeleteObject",
] as const;

export type OssOperation = (typeof ossOperations)[number];

/**
 * Query parameters OSS treats as sub-resources: they select another operation (`?acl`, `?uploads`) or
 * change the answer (`response-content-type`), so signature V1 signs them; other parameters are not
 * signed. OSS's list, plus the ones `@alicloud/gateway-oss` signs by default.
 */
export const ossSubResources: ReadonlySet<string> = new Set([
  "acl",
  "append",
  "bucketInfo",
  "callback",
  "callback-var",
  "cname",
  "comp",
  "cors",
  "delete",
  "encryption",
  "endTime",
  "img",
  "inventory",
  "lifecycle",
  "live",
  "location",
  "logging",
  "objectMeta",
  "partNumber",
  "policy",
  "position",
  "qos",
  "referer",
  "replication",
  "replicationLocation",
  "replicationProgress",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "response-content-language",
  "response-content-type",
  "response-expires",
  "restore",
  "security-token",
  "startTime",
  "stat",
  "status",
  "style",
  "styleName",
  "symlink",
  "tagging",
  "udf",
  "udfApplication",
  "udfApplicationLog",
  "udfId",
  "udfImage",
  "udfImageDesc",
  "udfName",
  "uploadId",
  "uploads",
  "versionId",
  "versioning",
  "versions",
  "vod",
  "website",
  "worm",
  "wormExtend",
  "wormId",
  "x-oss-process",
]);

export interface OssTarget {
  bucket: string;
  /** Region of the endpoint, without the `-internal` suffix. */
  region: string;
}

const bucketHost = /^([^.]+)\.oss-([a-z0-9-]+)\.localhost$/;
const regionHost = /^oss-([a-z0-9-]+)\.localhost$/;

/** `<bucket>.oss-<region>.localhost`, and the bucket-less `oss-<region>.localhost` (answered with an error). */
export function isOssHost(host: string): boolean {
  return bucketHost.test(host) || regionHost.test(host);
}

/** The bucket and region a host names; `oss-<region>-internal` is an alias of `oss-<region>`. */
export function parseOssHost(host: string): OssTarget {
  const match = bucketHost.exec(host);
  if (match === null)
    throw ossErrors.notImplemented(
      `No bucket in host "${host}": the emulator serves bucket requests on <bucket>.oss-<region>.localhost only (ListBuckets and other service-level operations are not emulated).`,
    );
  const [, bucket = "", region = ""] = match;
  return { bucket, region: region.replace(/-internal$/, "") };
}

export interface OssRoute {
  operation: OssOperation;
  /** The object key (decoded, may contain `/`); undefined for bucket operations. */
  key: string | undefined;
}

/** Which operation a request is: method, whether the path names an object, and its sub-resources. */
export function routeOssRequest(
  method: string,
  path: string,
  query: Readonly<Record<string, string>>,
): OssRoute {
  const subResources = Object.keys(query).filter((name) => ossSubResources.has(name));
  const key = path.startsWith("/") ? path.slice(1) : path;
  const notEmulated = (what: string) =>
    ossErrors.notImplemented(
      `${method} ${what}${subResources.length > 0 ? `?${subResources.join("&")}` : ""} is not emulated.`,
    );

  if (key === "") {
    if (method === "PUT" && subResources.length === 0) return { operation: "PutBucket", key: undefined };
    if (method === "GET" && subResources.length === 1 && subResources[0] === "bucketInfo")
      return { operation: "GetBucketInfo", key: undefined };
    if (subResources.length === 1 && subResources[0] === "lifecycle") {
      if (method === "PUT") return { operation: "PutBucketLifecycle", key: undefined };
      if (method === "GET") return { operation: "GetBucketLifecycle", key: undefined };
    }
    throw notEmulated("on a bucket");
  }

  // Response header overrides are GetObject's own parameters; any other sub-resource is another API.
  const onlyResponseOverrides = subResources.every((name) => name.startsWith("response-"));
  if (method === "GET" && onlyResponseOverrides) return { operation: "GetObject", key };
  if (subResources.length > 0) throw notEmulated("on an object");
  switch (method) {
    case "PUT":
      return { operation: "PutObject", key };
    case "HEAD":
      return { operation: "HeadObject", key };
    case "DELETE":
      return { operation: "DeleteObject", key };
    default:
      throw notEmulated("on an object");
  }
}
