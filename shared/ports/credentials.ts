/** Credentials to act in an account: the hub's own, or a role assumed in a spoke or destination. */

export interface CloudCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** Present for STS credentials (FC's own and assumed roles). */
  securityToken?: string;
  /** When the credentials stop working, ms since the epoch; undefined for permanent keys. */
  expiresAt?: number;
}

export interface CredentialsPort {
  /** Credentials that act as `accountId`; rejects with a terminal error for an account that is not configured. */
  forAccount(accountId: string): Promise<CloudCredentials>;
}
