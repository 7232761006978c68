import { z } from "zod";
import { policyDocumentSchema } from "../core/ram";
import { namePatterns } from "../sls/schemas";

/**
 * The fleet file (YAML or JSON): accounts with keys and roles, ECS instances, and SLS projects that
 * exist before our tool runs. Every object is strict, so a typo is an error with its path. The
 * simulated-fleet issue extends `instanceSchema` (agent fields) with `.extend()`; keep these objects
 * the single source of truth.
 */
export const accountUid = z.string().regex(/^\d{16}$/, "an account UID is 16 digits");

export const roleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9.-]{1,64}$/, "a RAM role name is 1–64 letters, digits, '.' or '-'"),
  /** Account UIDs the role's trust policy lets assume it. */
  trustedAccounts: z.array(accountUid).default([]),
  /** Roles whose sessions the trust policy lets assume it (`acs:ram::<uid>:role/<name>`). */
  trustedRoles: z
    .array(z.string().regex(/^acs:ram::\d{16}:role\/[A-Za-z0-9.-]{1,64}$/, "a RAM role ARN"))
    .default([]),
  /** Service principals, e.g. `log.aliyuncs.com` (SLS copy jobs check them; other services' AssumeRole is not emulated). */
  trustedServices: z.array(z.string().min(1)).default([]),
  /** The trust policy's `sts:ExternalId` condition. */
  externalId: z
    .string()
    .regex(/^[A-Za-z0-9=,.@:/_-]{2,1224}$/)
    .optional(),
  /**
   * Permission policies attached to the role: its sessions may do what they allow and nothing more.
   * Without them the role is not policy-bound (it acts as an administrator of its account).
   */
  policies: z.array(policyDocumentSchema).optional(),
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

const regionId = z.string().regex(/^[a-z]{2,}(-[a-z0-9]+)+$/, "a region id such as cn-hangzhou");

export const instanceSchema = z.strictObject({
  /** Account UID or account name. */
  account: z.string().min(1),
  region: regionId,
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

/** An SLS resource name, checked with the SLS emulator's own rules. */
function slsName(kind: keyof typeof namePatterns, rule: string) {
  return z.string().regex(namePatterns[kind], `an SLS ${kind} name is ${rule}`);
}

const projectName = slsName(
  "project",
  "3–63 of a-z, 0-9 and '-', starting and ending with a letter or digit",
);
const logstoreName = slsName(
  "logstore",
  "3–63 of a-z, 0-9, '_' and '-', starting and ending with a letter or digit",
);
const machineGroupName = slsName("machineGroup", "3–128 of a-z, 0-9, '_' and '-'");
const configName = slsName(
  "config",
  "2–128 of a-z, 0-9, '_' and '-', starting and ending with a letter or digit",
);

/** A custom identifier as a host writes it into `user_defined_id` (no spaces or control characters). */
const customIdentifier = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    "a custom identifier is 1–128 of letters, digits, '.', '_' or '-'",
  );

/**
 * SLS resources that exist in an account before our tool runs (e.g. a source account's own log
 * collection). Loaded through the SLS backend's create methods, as if created through the API.
 */
export const projectSchema = z.strictObject({
  /** Name or UID of an account in this fleet's `accounts`. */
  account: z.string().min(1),
  region: regionId,
  name: projectName,
  /** Logstores with default settings. */
  logstores: z.array(logstoreName).default([]),
  /** Custom-identifier (`userdefined`) machine groups. */
  machineGroups: z
    .array(z.strictObject({ name: machineGroupName, identifiers: z.array(customIdentifier).min(1) }))
    .default([]),
  /** Logtail pipeline configs: a file input into one of this project's logstores. */
  configs: z
    .array(
      z.strictObject({
        name: configName,
        logstore: logstoreName,
        filePaths: z.array(z.string().min(1)).min(1),
        /** `AllowingIncludedByMultiConfigs`: reads files another config owns as well (V2 agents). */
        allowingIncludedByMultiConfigs: z.boolean().optional(),
        /** `AppendingLogPositionMeta`: adds `__file_offset__` and the tag `__inode__` (V2 agents). */
        appendingLogPositionMeta: z.boolean().optional(),
        /** `TailSizeKB`: how far before the end a file seen for the first time is read from. */
        tailSizeKB: z.number().int().min(0).max(104_857_600).optional(),
        /** `MaxDirSearchDepth`: subdirectory levels a path with `/**` before its file name reads (Logtail's default 0). */
        maxDirSearchDepth: z.number().int().min(0).max(1000).optional(),
      }),
    )
    .default([]),
  /** A config applied to a machine group, both of this project. */
  bindings: z.array(z.strictObject({ machineGroup: machineGroupName, config: configName })).default([]),
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
      projects: z.array(projectSchema).default([]),
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
      checkProjects(fleet, issues);
    });
}

type Issues = z.core.$RefinementCtx<unknown>;

/** References inside and between `projects` entries; each issue names the entry's path. */
function checkProjects(
  fleet: { accounts: Array<z.output<typeof accountSchema>>; projects: FleetProject[] },
  issues: Issues,
): void {
  const issue = (path: Array<string | number>, message: string): void =>
    issues.addIssue({ code: "custom", path: ["projects", ...path], message });
  const duplicates = (names: string[], at: (index: number) => Array<string | number>, what: string): void => {
    const seen = new Set<string>();
    for (const [index, name] of names.entries()) {
      if (seen.has(name)) issue(at(index), `duplicate ${what} "${name}"`);
      seen.add(name);
    }
  };
  // SLS project names are unique per region across all accounts, so account+region+name and
  // region+name duplicates are both refused.
  const projectKeys = new Map<string, number>();
  for (const [index, project] of fleet.projects.entries()) {
    if (
      !fleet.accounts.some((account) => account.id === project.account || account.name === project.account)
    ) {
      issue([index, "account"], `unknown account "${project.account}" (not in accounts)`);
    }
    const key = `${project.region}/${project.name}`;
    const first = projectKeys.get(key);
    if (first !== undefined) {
      issue(
        [index, "name"],
        `duplicate project "${project.name}" in ${project.region} (also projects.${first})`,
      );
    } else projectKeys.set(key, index);

    duplicates(project.logstores, (at) => [index, "logstores", at], "logstore");
    duplicates(
      project.machineGroups.map((group) => group.name),
      (at) => [index, "machineGroups", at, "name"],
      "machine group",
    );
    duplicates(
      project.configs.map((config) => config.name),
      (at) => [index, "configs", at, "name"],
      "config",
    );
    duplicates(
      project.bindings.map((binding) => `${binding.machineGroup} ← ${binding.config}`),
      (at) => [index, "bindings", at],
      "binding",
    );
    for (const [at, config] of project.configs.entries()) {
      if (!project.logstores.includes(config.logstore)) {
        issue(
          [index, "configs", at, "logstore"],
          `logstore "${config.logstore}" is not in this project's logstores`,
        );
      }
    }
    for (const [at, binding] of project.bindings.entries()) {
      if (!project.machineGroups.some((group) => group.name === binding.machineGroup)) {
        issue(
          [index, "bindings", at, "machineGroup"],
          `machine group "${binding.machineGroup}" is not in this project's machineGroups`,
        );
      }
      if (!project.configs.some((config) => config.name === binding.config)) {
        issue(
          [index, "bindings", at, "config"],
          `config "${binding.config}" is not in this project's configs`,
        );
      }
    }
  }
}

export const fleetSchema = createFleetSchema(instanceSchema, accountSchema);

export type FleetInput = z.input<typeof fleetSchema>;
export type Fleet = z.output<typeof fleetSchema>;
export type FleetAccount = z.output<typeof accountSchema>;
export type FleetInstance = z.output<typeof instanceSchema>;
export type FleetProject = z.output<typeof projectSchema>;
