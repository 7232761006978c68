/**
 * Function-role credentials straight from the emulator's account store, as FC gets them: the FC
 * service assumes the function's `role`, which must exist and trust `fc.aliyuncs.com`. Structural
 * types, so `AccountStore` (emulator/core/accounts.ts) fits without this module importing it.
 */
import { ROLE_ARN } from "../../shared/config/patterns";
import type { CredentialsProvider } from "./credentials";
import { LocalFcError } from "./errors";

interface RoleLike {
  trustedServices: readonly string[];
}

export interface RoleIssuer<R extends RoleLike> {
  getRole(accountId: string, roleName: string): R | undefined;
  issueRoleCredentials(
    role: R,
    sessionName: string,
    durationSeconds: number,
  ): { accessKeyId: string; accessKeySecret: string; securityToken: string; expiresAt: number };
}

/**
 * FC's context credentials are valid for 36 hours (FC docs, "Context"): an invocation never outlives
 * them, even when the emulator clock runs many times faster than the wall clock.
 */
export const FC_CREDENTIALS_SECONDS = 36 * 3600;

export function emulatorRoleCredentials<R extends RoleLike>(
  issuer: RoleIssuer<R>,
  durationSeconds = FC_CREDENTIALS_SECONDS,
): CredentialsProvider {
  return async (request) => {
    if (request.role === undefined) {
      throw new LocalFcError(`function ${request.functionName} has no role: FC would give it no credentials`);
    }
    const match = ROLE_ARN.exec(request.role);
    const role = match?.[1] && match[2] ? issuer.getRole(match[1], match[2]) : undefined;
    if (role === undefined)
      throw new LocalFcError(`role ${request.role} of ${request.functionName} does not exist`);
    if (!role.trustedServices.includes("fc.aliyuncs.com")) {
      throw new LocalFcError(`role ${request.role} does not trust fc.aliyuncs.com: FC cannot assume it`);
    }
    const issued = issuer.issueRoleCredentials(
      role,
      `fc-${request.functionName}`.slice(0, 32),
      durationSeconds,
    );
    return {
      accessKeyId: issued.accessKeyId,
      accessKeySecret: issued.accessKeySecret,
      securityToken: issued.securityToken,
      expiresAt: issued.expiresAt,
    };
  };
}
