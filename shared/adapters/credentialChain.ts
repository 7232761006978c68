/**
 * The Alibaba Cloud default credential chain (environment, profile, instance role) as the hub's
 * credentials for a command run outside Function Compute. The chain caches and refreshes what it
 * found (an instance role's token expires).
 */
import Credential from "@alicloud/credentials";
import type { CloudCredentials } from "../ports/credentials";

export function defaultCredentialChain(): () => Promise<CloudCredentials> {
  const chain = new Credential();
  return async () => {
    const found = await chain.getCredential();
    return {
      accessKeyId: found.accessKeyId ?? "",
      accessKeySecret: found.accessKeySecret ?? "",
      ...(found.securityToken ? { securityToken: found.securityToken } : {}),
    };
  };
}
