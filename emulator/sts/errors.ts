import { RpcError } from "../core/rpc/errors";

export const stsErrors = {
  missingRoleArn: () => new RpcError(400, "MissingRoleArn", "RoleArn is mandatory for this action."),
  missingRoleSessionName: () =>
    new RpcError(400, "MissingRoleSessionName", "RoleSessionName is mandatory for this action."),
  roleArnMalformed: () =>
    new RpcError(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed."),
  roleSessionNameMalformed: () =>
    new RpcError(400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed."),
  durationSeconds: (max: number) =>
    new RpcError(
      400,
      "InvalidParameter.DurationSeconds",
      `The Min/Max value of DurationSeconds is 15min/${max === 3600 ? "1hr" : `${max / 3600}hr`}.`,
    ),
  policyGrammar: () =>
    new RpcError(400, "InvalidParameter.PolicyGrammar", "The parameter Policy has not passed grammar check."),
  externalIdMalformed: () =>
    new RpcError(400, "InvalidParameter.ExternalId", "The parameter ExternalId is wrongly formed."),
  /** The caller's own policies do not grant sts:AssumeRole on the role. */
  callerNotPermitted: (roleArn: string) =>
    new RpcError(
      403,
      "NoPermission",
      `You are not authorized to do this action. You should be authorized by RAM. (sts:AssumeRole on ${roleArn})`,
    ),
  roleNotFound: () => new RpcError(404, "EntityNotExist.Role", "The specified Role not exists ."),
  rootCannotAssume: () => new RpcError(403, "NoPermission", "Roles may not be assumed by root accounts."),
  notTrusted: (roleArn: string) =>
    new RpcError(
      403,
      "NoPermission",
      `No permission perform sts:AssumeRole on this Role. Maybe you should check the role's trust policy, or your account's permission. (${roleArn})`,
    ),
};
