/** An error answered in the RPC (POP) format: `{RequestId, HostId, Code, Message, Recommend}`. */
export class RpcError extends Error {
  override name = "RpcError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Errors of the API gateway in front of every RPC service (authentication, throttling, parameters). */
export const gatewayErrors = {
  missingParameter: (name: string) =>
    new RpcError(
      400,
      "MissingParameter",
      `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
    ),
  missingCredential: (name: string) =>
    new RpcError(400, `Missing${name}`, `${name} is mandatory for this action.`),
  invalidParameter: (name: string, detail?: string) =>
    new RpcError(
      400,
      "InvalidParameter",
      `The specified parameter "${name}" is not valid.${detail === undefined ? "" : ` ${detail}`}`,
    ),
  accessKeyNotFound: () =>
    new RpcError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."),
  signatureMismatch: (code: string, stringToSign: string) =>
    new RpcError(
      400,
      code,
      code === "IncompleteSignature"
        ? `The request signature does not conform to Aliyun standards. server string to sign is:${stringToSign}`
        : `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
    ),
  invalidSignatureMethod: () =>
    new RpcError(400, "InvalidSignatureMethod", "Specified signature method is not supported."),
  invalidAuthorization: () =>
    new RpcError(400, "InvalidAuthorization", "The format of the Authorization header is not valid."),
  timestampFormat: () =>
    new RpcError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."),
  timestampExpired: () =>
    new RpcError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."),
  nonceUsed: () => new RpcError(400, "SignatureNonceUsed", "Specified signature nonce was used already."),
  missingSecurityToken: () =>
    new RpcError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action."),
  securityTokenMismatch: () =>
    new RpcError(
      400,
      "InvalidSecurityToken.MismatchWithAccessKey",
      "Specified SecurityToken mismatch with the AccessKey.",
    ),
  securityTokenMalformed: () =>
    new RpcError(400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed."),
  securityTokenExpired: () =>
    new RpcError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."),
  apiNotFound: () =>
    new RpcError(
      404,
      "InvalidAction.NotFound",
      "Specified api is not found, please check your url and method.",
    ),
  versionNotFound: (version: string) =>
    new RpcError(404, "InvalidVersion", `Specified parameter Version "${version}" is not valid.`),
  unsupportedMethod: () => new RpcError(400, "UnsupportedHTTPMethod", "This http method is not supported."),
  throttled: () => new RpcError(400, "Throttling.User", "Request was denied due to user flow control."),
  /** RAM refused the call (ECS's code and message; the real answer adds an AccessDeniedDetail object). */
  forbiddenRam: (decision: { action: string; resource: string }) =>
    new RpcError(
      403,
      "Forbidden.RAM",
      `User not authorized to operate on the specified resource, or this API doesn't support RAM. (AuthAction: ${decision.action}, AuthResource: ${decision.resource})`,
    ),
  internal: () =>
    new RpcError(500, "InternalError", "The request processing has failed due to some unknown error."),
};
