/**
 * Credentials per account: the hub acts with its own (FC's, passed in); every other account through
 * STS AssumeRole on the role the routes file names. Role credentials are cached until shortly before
 * they expire, and concurrent callers share one AssumeRole.
 *
 * `@alicloud/sts20150401` rather than `@alicloud/credentials`' ram_role_arn provider: that provider is
 * https-only, and the local stack serves http (emulator/README.md, "Known gaps").
 */
import * as $Sts from "@alicloud/sts20150401";
import type { RoutesFile } from "../config/routesSchema";
import type { CloudCredentials, CredentialsPort } from "../ports/credentials";
import { type CallGate, openGate } from "./callGate";
import { cloudCall } from "./cloudCall";
import { CloudError } from "./cloudError";
import type { RetryOptions } from "./retry";
import type { SdkClients } from "./sdkClients";

export interface RoleToAssume {
  roleArn: string;
  externalId?: string;
}

export interface AssumeRoleCredentialsOptions {
  hubAccountId: string;
  /** The hub's own credentials; called on every use, so FC's rotating credentials stay current. */
  hubCredentials: () => CloudCredentials | Promise<CloudCredentials>;
  /** Account UID → the role to assume there. */
  roles: ReadonlyMap<string, RoleToAssume>;
  clients: SdkClients;
  /** Region of the STS endpoint (the hub's). */
  stsRegion: string;
  /** Shown in the spoke's ActionTrail; sanitized to STS's 2–32 of [A-Za-z0-9.@_-]. Default "logtail-xacct". */
  sessionName?: string;
  /** Default 3600 (the role's default maximum). */
  durationSeconds?: number;
  /** Refresh this long before expiry. Default 5 minutes. */
  refreshMarginMs?: number;
  /** Clock for expiry (the emulator's in tests). */
  now?: () => number;
  gate?: CallGate;
  retry?: Partial<RetryOptions>;
}

export const MAX_SESSION_NAME_LENGTH = 32;

export function sanitizeSessionName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9.@_-]/g, "-").slice(0, MAX_SESSION_NAME_LENGTH);
  return cleaned.length >= 2 ? cleaned : "logtail-xacct";
}

/** The roles of every source account and of every destination that names one. */
export function rolesFromRoutes(
  routes: Pick<RoutesFile, "sourceAccounts" | "destinations">,
): Map<string, RoleToAssume> {
  const roles = new Map<string, RoleToAssume>();
  for (const destination of Object.values(routes.destinations)) {
    if (destination.roleArn !== undefined)
      roles.set(destination.uid, {
        roleArn: destination.roleArn,
        ...(destination.externalId === undefined ? {} : { externalId: destination.externalId }),
      });
  }
  for (const source of routes.sourceAccounts) {
    roles.set(source.uid, {
      roleArn: source.roleArn,
      ...(source.externalId === undefined ? {} : { externalId: source.externalId }),
    });
  }
  return roles;
}

export class AssumeRoleCredentials implements CredentialsPort {
  private readonly cache = new Map<string, CloudCredentials>();
  private readonly inFlight = new Map<string, Promise<CloudCredentials>>();
  private readonly now: () => number;
  private readonly sessionName: string;

  constructor(private readonly options: AssumeRoleCredentialsOptions) {
    this.now = options.now ?? Date.now;
    this.sessionName = sanitizeSessionName(options.sessionName ?? "logtail-xacct");
  }

  async forAccount(accountId: string): Promise<CloudCredentials> {
    if (accountId === this.options.hubAccountId) return this.options.hubCredentials();
    const cached = this.cache.get(accountId);
    if (cached !== undefined && this.fresh(cached)) return cached;
    const pending = this.inFlight.get(accountId);
    if (pending !== undefined) return pending;
    const request = this.assume(accountId).finally(() => this.inFlight.delete(accountId));
    this.inFlight.set(accountId, request);
    return request;
  }

  private fresh(credentials: CloudCredentials): boolean {
    const margin = this.options.refreshMarginMs ?? 5 * 60_000;
    return credentials.expiresAt === undefined || this.now() < credentials.expiresAt - margin;
  }

  private async assume(accountId: string): Promise<CloudCredentials> {
    const role = this.options.roles.get(accountId);
    if (role === undefined) {
      throw new CloudError(`no role is configured for account ${accountId}`, {
        code: "AccountNotConfigured",
        service: "sts",
        operation: "AssumeRole",
        retryable: false,
      });
    }
    // A role ARN of another account would make every call act there: refuse it.
    const roleAccount = /^acs:ram::(\d+):role\//i.exec(role.roleArn)?.[1];
    if (roleAccount !== accountId) {
      throw new CloudError(`role ${role.roleArn} does not belong to account ${accountId}`, {
        code: "RoleAccountMismatch",
        service: "sts",
        operation: "AssumeRole",
        retryable: false,
      });
    }
    const hub = await this.options.hubCredentials();
    const sts = this.options.clients.sts(this.options.stsRegion, hub);
    const response = await cloudCall(
      { gate: this.options.gate ?? openGate, retry: this.options.retry ?? {} },
      {
        service: "sts",
        operation: "AssumeRole",
        accountId: this.options.hubAccountId,
        region: this.options.stsRegion,
      },
      () =>
        sts.assumeRole(
          new $Sts.AssumeRoleRequest({
            roleArn: role.roleArn,
            roleSessionName: this.sessionName,
            durationSeconds: this.options.durationSeconds ?? 3600,
            ...(role.externalId === undefined ? {} : { externalId: role.externalId }),
          }),
        ),
    );
    const issued = response.body?.credentials;
    const expiresAt = Date.parse(issued?.expiration ?? "");
    if (!issued?.accessKeyId || !issued.accessKeySecret || !issued.securityToken || Number.isNaN(expiresAt)) {
      throw new CloudError("AssumeRole answered without complete credentials", {
        code: "MalformedResponse",
        service: "sts",
        operation: "AssumeRole",
        retryable: true,
        ...(response.body?.requestId === undefined ? {} : { requestId: response.body.requestId }),
      });
    }
    const credentials: CloudCredentials = {
      accessKeyId: issued.accessKeyId,
      accessKeySecret: issued.accessKeySecret,
      securityToken: issued.securityToken,
      expiresAt,
    };
    this.cache.set(accountId, credentials);
    return credentials;
  }
}
