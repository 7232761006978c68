import { z } from "zod";

/**
 * The fleet file (YAML or JSON): accounts with keys and roles, and ECS instances. Every object is
 * strict, so a typo is an error with its path. The simulated-fleet issue extends `instanceSchema`
 * (agent fields) with `.extend()`; keep these objects the single source of truth.
 */
export const accountUid = z.string().regex(/^\d{16}$/, "an account UID is 16 digits");

export const roleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9.-]{1,64}$/, "a RAM role name is 1–64 letters, digits, '.' or '-'"),
  /** Account UIDs the role's trust policy lets assume it. */
  trustedAccounts: z.array(accountUid).default([]),
  /** Service principals, e.g. `log.aliyuncs.com` (recorded; AssumeRole by services is not emulated). */
  trustedServices: z.array(z.string().min(1)).default([]),
  maxSessionDuration: z.number().int().min(3600).max(43200).default(3600),
});

export const accountSchema = z.strictObject({
  id: accountUid,
  name: z.string().min(1).max(64),
  /** Optional fixed AccessKey pair; otherwise a stable one is derived from the UID. */
  accessKeyId: z
    .string()
    .regex(/^[A-Za-z0-9.]{8,64}$/)
    .optional(),
  accessKeySecret: z.string().min(8).max(128).optional(),
  /** Whose key it is: a RAM user (default, may call AssumeRole) or the account root (may not). */
  keyPrincipal: z.enum(["user", "root"]).default("user"),
  roles: z.array(roleSchema).default([]),
});

const tagKey = z.string().min(1).max(128);

export const instanceSchema = z.strictObject({
  /** Account UID or account name. */
  account: z.string().min(1),
  region: z.string().regex(/^[a-z]{2,}(-[a-z0-9]+)+$/, "a region id such as cn-hangzhou"),
  /** Fixed instance id (only with count 1). */
  id: z
    .string()
    .regex(/^i-[a-z0-9]{8,30}$/)
    .optional(),
  count: z.number().int().min(1).max(100_000).default(1),
  os: z.enum(["linux", "windows"]).default("linux"),
  status: z.enum(["Running", "Stopped"]).default("Running"),
  cloudAssistant: z.enum(["online", "offline"]).default("online"),
  tags: z.record(tagKey, z.string().max(128)).default({}),
  /** Fixed private IP (only with count 1). */
  ip: z.ipv4().optional(),
  name: z.string().min(1).max(128).optional(),
});

/**
 * Builds the fleet schema from an account and an instance schema, so a later layer (the simulated
 * fleet's agent fields) can extend `instanceSchema` and keep every whole-fleet check.
 */
export function createFleetSchema<
  I extends z.ZodType<z.output<typeof instanceSchema>>,
  A extends z.ZodType<z.output<typeof accountSchema>>,
>(instance: I, account: A) {
  return z
    .strictObject({
      accounts: z.array(account).default([]),
      instances: z.array(instance).default([]),
    })
    .superRefine((fleet, issues) => {
      const ids = new Set<string>();
      const names = new Set<string>();
      for (const [index, account] of fleet.accounts.entries()) {
        if (ids.has(account.id))
          issues.addIssue({
            code: "custom",
            path: ["accounts", index, "id"],
            message: "duplicate account id",
          });
        if (names.has(account.name)) {
          issues.addIssue({
            code: "custom",
            path: ["accounts", index, "name"],
            message: "duplicate account name",
          });
        }
        ids.add(account.id);
        names.add(account.name);
        if ((account.accessKeyId === undefined) !== (account.accessKeySecret === undefined)) {
          issues.addIssue({
            code: "custom",
            path: ["accounts", index],
            message: "accessKeyId and accessKeySecret go together",
          });
        }
      }
      for (const [index, instance] of fleet.instances.entries()) {
        if (instance.count > 1 && instance.id !== undefined) {
          issues.addIssue({
            code: "custom",
            path: ["instances", index, "id"],
            message: "a fixed id needs count 1",
          });
        }
        if (instance.count > 1 && instance.ip !== undefined) {
          issues.addIssue({
            code: "custom",
            path: ["instances", index, "ip"],
            message: "a fixed ip needs count 1",
          });
        }
        if (Object.keys(instance.tags).length > 20) {
          issues.addIssue({ code: "custom", path: ["instances", index, "tags"], message: "at most 20 tags" });
        }
      }
    });
}

export const fleetSchema = createFleetSchema(instanceSchema, accountSchema);

export type FleetInput = z.input<typeof fleetSchema>;
export type Fleet = z.output<typeof fleetSchema>;
export type FleetAccount = z.output<typeof accountSchema>;
export type FleetInstance = z.output<typeof instanceSchema>;
