import { RpcError } from "../core/rpc/errors";

/**
 * ECS and Cloud Assistant error codes. Codes marked (unverified) follow Alibaba's naming patterns but
 * were not found stated in a public source; emulator/README.md lists them.
 */
export const ecsErrors = {
  regionNotFound: () =>
    new RpcError(404, "InvalidRegionId.NotFound", "The specified RegionId does not exist."),
  instanceIdNotFound: () =>
    new RpcError(404, "InvalidInstanceId.NotFound", "The specified InstanceId does not exist."),
  incorrectInstanceStatus: () =>
    new RpcError(
      403,
      "IncorrectInstanceStatus",
      "The current status of the resource does not support this operation.",
    ),
  instanceIdsMalformed: () =>
    new RpcError(400, "InvalidInstanceIds.Malformed", "The amount of specified instances exceeds the limit."),
  invalidStatus: () =>
    new RpcError(400, "InvalidStatus.ValueNotSupported", "The specified parameter Status is not supported."),
  invalidNextToken: () => new RpcError(400, "InvalidNextToken", "The specified NextToken is not valid."),
  // (unverified)
  invalidMaxResults: () =>
    new RpcError(400, "InvalidParameter.MaxResults", "The specified MaxResults is not valid."),
  resourceTypeNotFound: () =>
    new RpcError(
      404,
      "InvalidResourceType.NotFound",
      "The ResourceType provided does not exist in our records.",
    ),
  resourceIdNotFound: () =>
    new RpcError(
      404,
      "InvalidResourceId.NotFound",
      "The specified ResourceIds are not found in our records.",
    ),
  // (unverified)
  resourceIdCount: () =>
    new RpcError(
      400,
      "InvalidResourceId.Malformed",
      "The number of specified ResourceIds is out of range (1 to 50).",
    ),
  tagKeyMalformed: () =>
    new RpcError(400, "InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid."),
  tagValueMalformed: () =>
    new RpcError(400, "InvalidTagValue.Malformed", "The specified Tag.n.Value is not valid."),
  tagCount: () => new RpcError(400, "InvalidTagCount", "The specified tags are beyond the permitted range."),
  // Cloud Assistant (unverified codes)
  instanceNotFound: () =>
    new RpcError(404, "InvalidInstance.NotFound", "The specified instance does not exist."),
  instanceCount: () =>
    new RpcError(
      400,
      "InvalidParameter.InstanceIds",
      "The number of specified instances must be between 1 and 100.",
    ),
  commandType: () =>
    new RpcError(404, "InvalidCmdType.NotFound", "The specified command type does not exist."),
  commandTypeNotMatchOs: () =>
    new RpcError(
      400,
      "InvalidCmdType.NotMatchOSType",
      "The command type does not match the OS type of the instance.",
    ),
  contentEncoding: () =>
    new RpcError(400, "InvalidParameter.ContentEncoding", "The specified ContentEncoding is not valid."),
  contentNotBase64: () =>
    new RpcError(400, "InvalidParameter.CommandContent", "The specified CommandContent is not valid Base64."),
  contentTooLarge: () =>
    new RpcError(400, "InvalidCmdContent.ExceedLimit", "The size of CommandContent exceeds the upper limit."),
  timeout: () => new RpcError(400, "InvalidParameter.Timeout", "The specified Timeout is not valid."),
  parameterMissing: (name: string) =>
    new RpcError(
      400,
      "InvalidParameter.CmdParamMissing",
      `The value of custom parameter "${name}" is not specified.`,
    ),
  parametersDisabled: () =>
    new RpcError(
      400,
      "InvalidParameter.Parameters",
      "Parameters can only be used when EnableParameter is true.",
    ),
  clientTokenMalformed: () =>
    new RpcError(400, "InvalidClientToken.Malformed", "The specified ClientToken is not valid."),
  idempotentParameterMismatch: () =>
    new RpcError(
      400,
      "IdempotentParameterMismatch",
      "The specified parameters are different from before with the same ClientToken.",
    ),
};
