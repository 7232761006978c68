/**
 * OSS errors: HTTP status plus an XML `<Error>` with Code, Message, RequestId, HostId and, for some
 * codes, extra elements real OSS adds (BucketName, Key, StringToSign, ...). Codes and messages follow
 * Alibaba's OSS error pages (`0002-…` EC pages, "troubleshoot 403"); the ones no public page showed are
 * marked unverified in README.md.
 */
export class OssError extends Error {
  override readonly name = "OssError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra `<Error>` children, in order (e.g. `["Key", "a/b.json"]`). */
    readonly details: ReadonlyArray<readonly [string, string]> = [],
  ) {
    super(message);
  }
}

export const ossErrors = {
  /** No Authorization header: OSS treats the request as anonymous, and emulated buckets are private. */
  anonymous: () =>
    new OssError(403, "AccessDenied", "You have no right to access this object because of bucket acl."),
  invalidAuthorization: () => new OssError(400, "InvalidArgument", "Authorization header is invalid."),
  unsupportedSignature: (scheme: string) =>
    new OssError(
      400,
      "InvalidArgument",
      `The emulator verifies OSS signature V1 (\`OSS <AccessKeyId>:<Signature>\`) only, not "${scheme}".`,
    ),
  missingDate: () => new OssError(403, "AccessDenied", "Date header not specified."),
  invalidDigest: () => new OssError(400, "InvalidDigest", "The Content-MD5 you specified is not valid."),
  invalidAccessKeyId: (accessKeyId: string) =>
    new OssError(
      403,
      "InvalidAccessKeyId",
      "The OSS Access Key Id you provided does not exist in our records.",
      [["OSSAccessKeyId", accessKeyId]],
    ),
  signatureDoesNotMatch: (accessKeyId: string, stringToSign: string, provided: string) =>
    new OssError(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      [
        ["StringToSign", stringToSign],
        ["SignatureProvided", provided],
        ["OSSAccessKeyId", accessKeyId],
      ],
    ),
  invalidSecurityToken: () =>
    new OssError(403, "InvalidSecurityToken", "The security token you provided is invalid."),
  securityTokenExpired: () =>
    new OssError(403, "SecurityTokenExpired", "The security token you provided has expired."),
  /** A key of another account than the bucket's owner (buckets are private; bucket policies are not emulated). */
  notBucketOwner: () =>
    new OssError(403, "AccessDenied", "You have no right to access this object because of bucket acl."),
  /** RAM refused the call (a policy-bound role session). */
  ramDenied: (action: string, resource: string) =>
    new OssError(
      403,
      "AccessDenied",
      `You have no right to access this object. Action ${action} on ${resource} is not allowed by the RAM policy.`,
    ),
  wrongEndpoint: (bucket: string, endpoint: string) =>
    new OssError(
      403,
      "AccessDenied",
      "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
      [
        ["Bucket", bucket],
        ["Endpoint", endpoint],
      ],
    ),
  invalidBucketName: (bucket: string) =>
    new OssError(400, "InvalidBucketName", "The specified bucket is not valid.", [["BucketName", bucket]]),
  invalidObjectName: (key: string) =>
    new OssError(400, "InvalidObjectName", "The specified object is not valid.", [["ObjectName", key]]),
  invalidArgument: (message: string) => new OssError(400, "InvalidArgument", message),
  noSuchBucket: (bucket: string) =>
    new OssError(404, "NoSuchBucket", "The specified bucket does not exist.", [["BucketName", bucket]]),
  noSuchKey: (key: string) =>
    new OssError(404, "NoSuchKey", "The specified key does not exist.", [["Key", key]]),
  bucketAlreadyExists: (bucket: string) =>
    new OssError(
      409,
      "BucketAlreadyExists",
      "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
      [["BucketName", bucket]],
    ),
  fileAlreadyExists: (key: string) =>
    new OssError(
      409,
      "FileAlreadyExists",
      "The object you specified already exists and can not be overwritten.",
      [["Key", key]],
    ),
  malformedXml: (message: string) => new OssError(400, "MalformedXML", message),
  noSuchLifecycle: (bucket: string) =>
    new OssError(404, "NoSuchLifecycle", "No Row found in Lifecycle Table.", [["BucketName", bucket]]),
  notImplemented: (message: string) => new OssError(501, "NotImplemented", message),
  /** The core's rate limit (see README for what is unverified). */
  throttled: () => new OssError(503, "SlowDown", "Please reduce your request rate."),
  internal: () => new OssError(500, "InternalError", "We encountered an internal error. Please try again."),
};
