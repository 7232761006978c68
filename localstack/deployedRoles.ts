/**
 * The deployment's RAM roles on the local stack, as `setup.sh` creates them in the cloud: each role
 * of `buildDeployment(routes)` with its trust policy (account roots, roles, services, the ExternalId
 * condition) and its permission policies, which the emulator then evaluates on every call its
 * sessions make. A role of the same name in the fleet file is replaced: the deployment decides.
 */
import type { AccountStore, RoleInput } from "../emulator/core/accounts";
import type { RoleDocuments } from "../shared/deploy/policies";

export function deployedRoleInput(role: RoleDocuments): RoleInput {
  const principals = role.trust.Statement.map((statement) => statement.Principal);
  const ram = principals.flatMap((principal) => principal.RAM ?? []);
  const externalIds = role.trust.Statement.flatMap((statement) => {
    const value = statement.Condition?.StringEquals["sts:ExternalId"];
    return value === undefined ? [] : [value];
  });
  return {
    name: role.name,
    trustedAccounts: ram.flatMap((arn) => /^acs:ram::(\d{16}):root$/.exec(arn)?.[1] ?? []),
    trustedRoles: ram.filter((arn) => /^acs:ram::\d{16}:role\//.test(arn)),
    trustedServices: principals.flatMap((principal) => principal.Service ?? []),
    ...(externalIds[0] === undefined ? {} : { externalId: externalIds[0] }),
    policies: role.policyParts.map((part) => ({
      Version: "1" as const,
      Statement: part.document.Statement.map((statement) => ({
        Effect: statement.Effect,
        Action: statement.Action,
        Resource: statement.Resource,
        ...(statement.Condition === undefined ? {} : { Condition: statement.Condition }),
      })),
    })),
  };
}

/** Installs every role in its account (accounts the fleet does not have are skipped: nobody acts there). */
export function installDeployedRoles(accounts: AccountStore, roles: readonly RoleDocuments[]): number {
  let installed = 0;
  for (const role of roles) {
    if (accounts.getAccount(role.accountId) === undefined) continue;
    accounts.addRole(role.accountId, deployedRoleInput(role));
    installed += 1;
  }
  return installed;
}
