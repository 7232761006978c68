/**
 * MNS errors: HTTP status plus an XML `<Error>` with Code, Message, RequestId and HostId. Codes and
 * messages follow Alibaba's MNS "Error codes" table.
 */
export class MnsError extends Error {
  override readonly name = "MnsError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const mnsErrors = {
  missingAuthorization: () =>
    new MnsError(400, "MissingAuthorizationHeader", "Authorization header is required."),
  invalidAuthorization: () =>
    new MnsError(400, "InvalidAuthorizationHeader", "The Authorization header format is invalid."),
  missingDate: () => new MnsError(400, "MissingDateHeader", "Date header is required."),
  invalidDigest: () => new MnsError(400, "InvalidDegist", "The Content-MD5 you specified is invalid."),
  invalidAccessKeyId: () =>
    new MnsError(403, "InvalidAccessKeyId", "The AccessKey Id you provided is not exist."),
  signatureDoesNotMatch: () =>
    new MnsError(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    ),
  invalidSecurityToken: () =>
    new MnsError(403, "InvalidSecurityToken", "The security token you provided is invalid."),
  expiredSecurityToken: () =>
    new MnsError(403, "SecurityTokenExpired", "The security token you provided has expired."),
  accessDenied: () =>
    new MnsError(
      403,
      "AccessDenied",
      "The OwnerId that your Access Key Id associated to is forbidden for this operation.",
    ),
  /** MNS's own throttling code (see README for what is unverified). */
  throttled: () =>
    new MnsError(403, "QpsLimitExceeded", "The QPS of this account exceeds the limit, please retry later."),
  invalidRequestUrl: () => new MnsError(400, "InvalidRequestURL", "Http request URL format invalid."),
  malformedXml: () => new MnsError(400, "MalformedXML", "The XML you provided was not well-formed."),
  invalidXml: (element: string) =>
    new MnsError(
      400,
      "InvalidArgument",
      `The XML you provided did not validate against our published schema, cause by Element ${element}.`,
    ),
  outOfRange: (element: string, low: number, high: number) =>
    new MnsError(
      400,
      "InvalidArgument",
      `The value of ${element} should between ${low} and ${high} seconds/bytes.`,
    ),
  invalidArgument: (message: string) => new MnsError(400, "InvalidArgument", message),
  missingReceiptHandle: () => new MnsError(400, "MissingReceiptHandle", "ReceiptHandle is required."),
  missingVisibilityTimeout: () =>
    new MnsError(400, "MissingVisibilityTimeout", "VisibilityTimeout is required."),
  invalidQueueName: () =>
    new MnsError(
      400,
      "InvalidQueueName",
      "The queue name you provided is invalid. QueueName should start with a letter or digit and contain only letters, digits and -.",
    ),
  queueNameLength: () =>
    new MnsError(400, "QueueNameLengthError", "The length of queue name should between 1 and 256."),
  queueNotExist: () => new MnsError(404, "QueueNotExist", "The queue name you provided is not exist."),
  queueAlreadyExist: () =>
    new MnsError(409, "QueueAlreadyExist", "The queue you want to create is already exist."),
  messageNotExist: () => new MnsError(404, "MessageNotExist", "Message not exist."),
  receiptHandleError: () =>
    new MnsError(400, "ReceiptHandleError", "The receipt handle you provided is not valid."),
  internal: () => new MnsError(500, "InternalError", "Interal error."),
};
