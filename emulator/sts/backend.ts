import { type AccountStore, normalizeRoleArn, type TemporaryCredentials } from "../core/accounts";
import type { KeyRecord } from "../core/types";
import { stsErrors } from "./errors";

export interface AssumeRoleInput {
  caller: KeyRecord;
  roleArn: string;
  roleSessionName: string;
  durationSeconds: number | undefined;
  policy: string | undefined;
  externalId: string | undefined;
}

export interface AssumeRoleResult {
  credentials: TemporaryCredentials;
  roleArn: string;
}

/** STS behaviour over the core's account store: trust checks and temporary credentials. No HTTP. */
export class StsBackend {
  constructor(private readonly accounts: AccountStore) {}

  assumeRole(input: AssumeRoleInput): AssumeRoleResult {
    const match = /^acs:ram::(\d+):role\/([A-Za-z0-9.@_-]{1,64})$/.exec(input.roleArn);
    if (match?.[1] === undefined || match[2] === undefined) throw stsErrors.roleArnMalformed();
    const [, roleAccountId, roleName] = match;
    if (!/^[a-zA-Z0-9.@_-]{2,32}$/.test(input.roleSessionName)) throw stsErrors.roleSessionNameMalformed();
    if (input.policy !== undefined) validatePolicy(input.policy);

    // Root AccessKeys cannot assume roles; RAM users and roles can.
    if (input.caller.arn.endsWith(":root")) throw stsErrors.rootCannotAssume();
    if (input.externalId !== undefined && !/^[A-Za-z0-9=,.@:/_-]{2,1224}$/.test(input.externalId))
      throw stsErrors.externalIdMalformed();
    // The caller's own permission first: a policy-bound role session needs sts:AssumeRole on the role.
    const permitted = this.accounts.authorize(input.caller, {
      action: "sts:AssumeRole",
      resources: [{ arn: normalizeRoleArn(input.roleArn) }],
    });
    if (!permitted.allowed) throw stsErrors.callerNotPermitted(input.roleArn);
    const role = this.accounts.getRole(roleAccountId, roleName);
    if (role === undefined) throw stsErrors.roleNotFound();
    if (!trusts(role, input.caller)) throw stsErrors.notTrusted(input.roleArn);
    // The trust policy's sts:ExternalId condition: an Allow that does not hold grants nothing.
    if (role.externalId !== undefined && input.externalId !== role.externalId)
      throw stsErrors.notTrusted(input.roleArn);

    const duration = input.durationSeconds ?? Math.min(3600, role.maxSessionDuration);
    if (duration < 900 || duration > role.maxSessionDuration)
      throw stsErrors.durationSeconds(role.maxSessionDuration);
    return {
      credentials: this.accounts.issueRoleCredentials(role, input.roleSessionName, duration),
      roleArn: role.arn,
    };
  }
}

/**
 * Whether the trust policy names the caller: its account (`acs:ram::<uid>:root`: any RAM identity of
 * the account that its own policies let call AssumeRole), or the role the caller is a session of.
 */
function trusts(
  role: { trustedAccounts: readonly string[]; trustedRoles: readonly string[] },
  caller: KeyRecord,
): boolean {
  if (role.trustedAccounts.includes(caller.accountId)) return true;
  const session = /^acs:ram::(\d+):assumed-role\/([^/]+)\//.exec(caller.arn);
  if (session?.[1] === undefined || session[2] === undefined) return false;
  return role.trustedRoles.includes(normalizeRoleArn(`acs:ram::${session[1]}:role/${session[2]}`));
}

/** A session policy must at least be a JSON policy document (`Version` and `Statement`). */
function validatePolicy(text: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw stsErrors.policyGrammar();
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    !("Version" in parsed) ||
    !("Statement" in parsed) ||
    !Array.isArray(parsed.Statement)
  ) {
    throw stsErrors.policyGrammar();
  }
}
