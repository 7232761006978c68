import type { AccountStore, TemporaryCredentials } from "../core/accounts";
import type { KeyRecord } from "../core/types";
import { stsErrors } from "./errors";

export interface AssumeRoleInput {
  caller: KeyRecord;
  roleArn: string;
  roleSessionName: string;
  durationSeconds: number | undefined;
  policy: string | undefined;
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
    const role = this.accounts.getRole(roleAccountId, roleName);
    if (role === undefined) throw stsErrors.roleNotFound();
    if (!role.trustedAccounts.includes(input.caller.accountId)) throw stsErrors.notTrusted(input.roleArn);

    const duration = input.durationSeconds ?? Math.min(3600, role.maxSessionDuration);
    if (duration < 900 || duration > role.maxSessionDuration)
      throw stsErrors.durationSeconds(role.maxSessionDuration);
    return {
      credentials: this.accounts.issueRoleCredentials(role, input.roleSessionName, duration),
      roleArn: role.arn,
    };
  }
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
