/**
 * Where a function's credentials come from. FC assumes the function's `role` and hands the handler
 * temporary keys; locally a provider does the same: the emulator's STS (in-process or over HTTP) for
 * the role's temporary keys, or fixed keys in tests. Providers are called once per invocation and
 * cache as they see fit (`cachingProvider` renews keys close to expiry).
 */
export interface FcCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** Empty for permanent keys (FC always has one; a local replay with account keys does not). */
  securityToken: string;
  /** Epoch ms; undefined for keys that do not expire. */
  expiresAt?: number;
}

export interface CredentialsRequest {
  functionName: string;
  /** `acs:ram::<uid>:role/<name>` from s.yaml, when the function has one. */
  role?: string;
  accountId: string;
  region: string;
}

export type CredentialsProvider = (request: CredentialsRequest) => Promise<FcCredentials>;

export function staticCredentials(credentials: FcCredentials): CredentialsProvider {
  return async () => credentials;
}

/** Reuses a function's keys until `renewBeforeMs` before they expire. */
export function cachingProvider(
  inner: CredentialsProvider,
  clock: { now(): number },
  renewBeforeMs = 5 * 60_000,
): CredentialsProvider {
  const cache = new Map<string, FcCredentials>();
  return async (request) => {
    const key = `${request.accountId}/${request.role ?? ""}/${request.functionName}`;
    const cached = cache.get(key);
    if (cached && (cached.expiresAt === undefined || cached.expiresAt - renewBeforeMs > clock.now())) {
      return cached;
    }
    const fresh = await inner(request);
    cache.set(key, fresh);
    return fresh;
  };
}

/** FC's environment variables for these credentials. */
export function credentialsEnv(credentials: FcCredentials): Record<string, string> {
  return {
    ALIBABA_CLOUD_ACCESS_KEY_ID: credentials.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: credentials.accessKeySecret,
    ALIBABA_CLOUD_SECURITY_TOKEN: credentials.securityToken,
  };
}
