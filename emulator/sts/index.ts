import type { AccountStore } from "../core/accounts";
import { isoSeconds } from "../core/clock";
import { createRpcService, type RpcInvocation } from "../core/rpc/service";
import type { EmulatedService, ServiceContext } from "../core/types";
import { StsBackend } from "./backend";
import { stsErrors } from "./errors";

export { StsBackend } from "./backend";

export interface StsServiceOptions {
  accounts: AccountStore;
  wallNow?: () => number;
}

/** `sts.localhost` and `sts.<region>.localhost`. */
export function isStsHost(host: string): boolean {
  return host === "sts.localhost" || /^sts\.[a-z0-9-]+\.localhost$/.test(host);
}

/** STS over the RPC protocol; its state is the core's account store. */
export function createStsService(ctx: ServiceContext, options: StsServiceOptions): EmulatedService {
  const backend = new StsBackend(options.accounts);

  function assumeRole(call: RpcInvocation): Record<string, unknown> {
    const roleArn = call.params.optional("RoleArn");
    if (roleArn === undefined) throw stsErrors.missingRoleArn();
    const roleSessionName = call.params.optional("RoleSessionName");
    if (roleSessionName === undefined) throw stsErrors.missingRoleSessionName();
    const durationText = call.params.optional("DurationSeconds");
    if (durationText !== undefined && !/^\d+$/.test(durationText)) throw stsErrors.durationSeconds(3600);
    const result = backend.assumeRole({
      caller: call.caller,
      roleArn,
      roleSessionName,
      durationSeconds: durationText === undefined ? undefined : Number(durationText),
      policy: call.params.optional("Policy"),
      externalId: call.params.optional("ExternalId"),
    });
    const { credentials } = result;
    return {
      AssumedRoleUser: { Arn: credentials.arn, AssumedRoleId: credentials.assumedRoleId },
      Credentials: {
        AccessKeyId: credentials.accessKeyId,
        AccessKeySecret: credentials.accessKeySecret,
        SecurityToken: credentials.securityToken,
        Expiration: isoSeconds(credentials.expiresAt),
      },
    };
  }

  function getCallerIdentity(call: RpcInvocation): Record<string, unknown> {
    const { caller } = call;
    const assumed = /:assumed-role\/([^/]+)\/(.+)$/.exec(caller.arn);
    const user = /:user\/(.+)$/.exec(caller.arn);
    return {
      AccountId: caller.accountId,
      Arn: caller.arn,
      IdentityType: assumed !== null ? "AssumedRoleUser" : user !== null ? "RAMUser" : "Account",
      PrincipalId: assumed !== null ? `${assumed[1]}:${assumed[2]}` : (user?.[1] ?? caller.accountId),
      UserId: user?.[1] ?? caller.accountId,
      RoleId: assumed?.[1] ?? "",
    };
  }

  return createRpcService(ctx, {
    name: "sts",
    product: "Sts",
    hostId: "sts.aliyuncs.com",
    apiVersion: "2015-04-01",
    signatureMismatchCode: "SignatureDoesNotMatch",
    matchesHost: isStsHost,
    regionOf: (host) => /^sts\.([a-z0-9-]+)\.localhost$/.exec(host)?.[1] ?? "global",
    operations: { AssumeRole: assumeRole, GetCallerIdentity: getCallerIdentity },
    // STS keeps no state of its own: accounts and keys are reset by the core.
    reset: () => undefined,
    ...(options.wallNow === undefined ? {} : { wallNow: options.wallNow }),
  });
}
