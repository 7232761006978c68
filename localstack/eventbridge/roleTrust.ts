/**
 * Cross-account trust from RAM roles as the emulator keeps them: the receiving account's role
 * (`acs:ram::<uid>:role/<name>`) lets a sender publish when its trust policy names the sending
 * account (`RAM: acs:ram::<sender>:root`) or the sender's EventBridge service
 * (`<sender>@eventbridge.aliyuncs.com`). Structural, so the emulator's AccountStore fits as is.
 */
import { ROLE_ARN } from "../../shared/config/patterns";

export interface RoleDirectory {
  getRole(
    accountId: string,
    roleName: string,
  ): { trustedAccounts: readonly string[]; trustedServices: readonly string[] } | undefined;
}

export function roleTrust(roles: RoleDirectory): (roleArn: string, senderAccountId: string) => boolean {
  return (roleArn, sender) => {
    const match = ROLE_ARN.exec(roleArn);
    if (match?.[1] === undefined || match[2] === undefined) return false;
    const role = roles.getRole(match[1], match[2]);
    if (role === undefined) return false;
    return (
      role.trustedAccounts.includes(sender) ||
      role.trustedServices.includes(`${sender}@eventbridge.aliyuncs.com`)
    );
  };
}
