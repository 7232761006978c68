import { createHash, randomBytes } from "node:crypto";
import { type AccessDecision, type AccessRequest, evaluateAccess, type PolicyDocument } from "./ram";
import type { Clock, KeyRecord } from "./types";

export interface RoleRecord {
  accountId: string;
  name: string;
  /** Account UIDs whose principals may assume this role (the trust policy's `RAM` principals). */
  trustedAccounts: string[];
  /** Roles of other (or the same) accounts whose sessions may assume this role: `acs:ram::<uid>:role/<name>`. */
  trustedRoles: string[];
  /** Service principals, e.g. `log.aliyuncs.com` or `<uid>@log.aliyuncs.com`. */
  trustedServices: string[];
  /** The trust policy's `sts:ExternalId` condition: AssumeRole must pass exactly this value. */
  externalId: string | undefined;
  /**
   * The permission policies attached to the role, evaluated on every call its sessions make.
   * Undefined: the role is not policy-bound (a hand-written test fleet's role acts as an administrator).
   */
  policies: PolicyDocument[] | undefined;
  /** Upper bound of `DurationSeconds` for this role (Alibaba: 3600 to 43200, default 3600). */
  maxSessionDuration: number;
  arn: string;
}

export interface AccountRecord {
  id: string;
  name: string;
  roles: Map<string, RoleRecord>;
}

export interface AccountInput {
  id: string;
  name: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  /** Which principal the seeded key belongs to. `user` (default) can call AssumeRole; `root` cannot. */
  keyPrincipal?: "user" | "root";
  roles?: RoleInput[];
}

export interface RoleInput {
  name: string;
  trustedAccounts?: string[];
  trustedRoles?: string[];
  trustedServices?: string[];
  externalId?: string;
  policies?: PolicyDocument[];
  maxSessionDuration?: number;
}

export interface SeededKey {
  accountId: string;
  accountName: string;
  accessKeyId: string;
  accessKeySecret: string;
  arn: string;
}

export interface TemporaryCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  expiresAt: number;
  arn: string;
  assumedRoleId: string;
}

/** The user every seeded key belongs to unless a fleet asks for a root key. */
export const SEEDED_USER_NAME = "emulator-admin";

export class AccountError extends Error {
  override name = "AccountError";
}

/**
 * Accounts, their AccessKeys and RAM roles. Keys are global (an AccessKey id identifies its account),
 * roles belong to an account. Temporary keys expire on the emulator clock.
 */
export class AccountStore {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly keys = new Map<string, KeyRecord>();
  private readonly seeded: SeededKey[] = [];
  private roleIdCounter = 0;

  constructor(private readonly clock: Clock) {}

  reset(): void {
    this.accounts.clear();
    this.keys.clear();
    this.seeded.length = 0;
  }

  addAccount(input: AccountInput): SeededKey {
    if (this.accounts.has(input.id)) throw new AccountError(`account ${input.id} is already loaded`);
    const account: AccountRecord = { id: input.id, name: input.name, roles: new Map() };
    this.accounts.set(input.id, account);
    for (const role of input.roles ?? []) this.addRole(input.id, role);

    const accessKeyId = input.accessKeyId ?? derivedAccessKeyId(input.id);
    const accessKeySecret = input.accessKeySecret ?? derivedSecret(input.id);
    if (this.keys.has(accessKeyId)) throw new AccountError(`AccessKey id ${accessKeyId} is used twice`);
    const arn =
      input.keyPrincipal === "root"
        ? `acs:ram::${input.id}:root`
        : `acs:ram::${input.id}:user/${SEEDED_USER_NAME}`;
    this.keys.set(accessKeyId, { accessKeyId, accessKeySecret, accountId: input.id, arn });
    const seeded: SeededKey = {
      accountId: input.id,
      accountName: input.name,
      accessKeyId,
      accessKeySecret,
      arn,
    };
    this.seeded.push(seeded);
    return seeded;
  }

  addRole(accountId: string, input: RoleInput): RoleRecord {
    const account = this.accounts.get(accountId);
    if (account === undefined) throw new AccountError(`account ${accountId} does not exist`);
    const role: RoleRecord = {
      accountId,
      name: input.name,
      trustedAccounts: [...(input.trustedAccounts ?? [])],
      trustedRoles: (input.trustedRoles ?? []).map(normalizeRoleArn),
      trustedServices: [...(input.trustedServices ?? [])],
      externalId: input.externalId,
      policies: input.policies === undefined ? undefined : [...input.policies],
      maxSessionDuration: input.maxSessionDuration ?? 3600,
      arn: `acs:ram::${accountId}:role/${input.name.toLowerCase()}`,
    };
    // RAM role names are case-insensitive in ARNs.
    account.roles.set(input.name.toLowerCase(), role);
    return role;
  }

  getAccount(accountId: string): AccountRecord | undefined {
    return this.accounts.get(accountId);
  }

  findAccountByName(name: string): AccountRecord | undefined {
    for (const account of this.accounts.values()) if (account.name === name) return account;
    return undefined;
  }

  listAccounts(): AccountRecord[] {
    return [...this.accounts.values()];
  }

  getRole(accountId: string, roleName: string): RoleRecord | undefined {
    return this.accounts.get(accountId)?.roles.get(roleName.toLowerCase());
  }

  /** The role a key acts as, when it is a role session (`acs:ram::<uid>:assumed-role/<role>/<session>`). */
  roleOfKey(key: Pick<KeyRecord, "arn">): RoleRecord | undefined {
    const match = /^acs:ram::(\d+):assumed-role\/([^/]+)\//.exec(key.arn);
    if (match?.[1] === undefined || match[2] === undefined) return undefined;
    return this.getRole(match[1], match[2]);
  }

  /**
   * RAM's verdict on a call made with `key`: a session of a policy-bound role is held to its
   * policies; every other key (a seeded user or root, a role without policies) is allowed.
   */
  authorize(key: Pick<KeyRecord, "arn">, request: AccessRequest): AccessDecision {
    const role = this.roleOfKey(key);
    if (role?.policies === undefined) return { allowed: true };
    return evaluateAccess(role.policies, request);
  }

  seededKeys(): readonly SeededKey[] {
    return this.seeded;
  }

  lookupKey(accessKeyId: string): KeyRecord | undefined {
    return this.keys.get(accessKeyId);
  }

  /** Adds a permanent key (tests, admin). */
  addKey(key: KeyRecord): void {
    this.keys.set(key.accessKeyId, key);
  }

  /**
   * Issues temporary credentials acting as `role` (STS AssumeRole, or a local runtime handing a function
   * its role's credentials). The trust check is the caller's job.
   */
  issueRoleCredentials(role: RoleRecord, sessionName: string, durationSeconds: number): TemporaryCredentials {
    const accessKeyId = `STS.${randomToken(24)}`;
    const accessKeySecret = randomToken(44);
    const securityToken = `CAIS${randomBytes(96).toString("base64")}`;
    const expiresAt = this.clock.now() + durationSeconds * 1000;
    this.roleIdCounter += 1;
    const assumedRoleId = `3${String(this.roleIdCounter).padStart(17, "0")}:${sessionName}`;
    const arn = `acs:ram::${role.accountId}:assumed-role/${role.name.toLowerCase()}/${sessionName}`;
    this.keys.set(accessKeyId, {
      accessKeyId,
      accessKeySecret,
      accountId: role.accountId,
      arn,
      securityToken,
      expiresAt,
    });
    this.dropExpiredKeys();
    return { accessKeyId, accessKeySecret, securityToken, expiresAt, arn, assumedRoleId };
  }

  /** Forgets temporary keys expired for more than a day, so long runs do not grow without bound. */
  private dropExpiredKeys(): void {
    const horizon = this.clock.now() - 24 * 3600 * 1000;
    for (const [id, key] of this.keys) {
      if (key.expiresAt !== undefined && key.expiresAt < horizon) this.keys.delete(id);
    }
  }
}

/** Role ARNs compare case-insensitively on the name (RAM role names are). */
export function normalizeRoleArn(roleArn: string): string {
  const match = /^(acs:ram::\d+:role\/)(.+)$/.exec(roleArn);
  return match?.[1] === undefined || match[2] === undefined
    ? roleArn
    : `${match[1]}${match[2].toLowerCase()}`;
}

/** Stable ids for seeded accounts, so a demo fleet always yields the same endpoints file. */
function derivedAccessKeyId(accountId: string): string {
  return `LTAI5t${base62(createHash("sha256").update(`ak:${accountId}`).digest()).slice(0, 18)}`;
}

function derivedSecret(accountId: string): string {
  return base62(createHash("sha256").update(`secret:${accountId}`).digest()).slice(0, 30);
}

function randomToken(length: number): string {
  return base62(randomBytes(length * 2)).slice(0, length);
}

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function base62(bytes: Buffer): string {
  let text = "";
  for (const byte of bytes) text += alphabet[byte % alphabet.length];
  return text;
}
