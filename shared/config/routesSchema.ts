/**
 * The routes file: the allowlist that says which tag value sends which source servers' logs to
 * which destination. Every object is strict (an unknown key is an error, so typos surface), every
 * name matches the pattern the cloud API accepts, and the cross-references are checked in
 * `checkRoutesConfig`.
 */
import { z } from "zod";
import {
  ACCOUNT_UID,
  CUSTOM_IDENTIFIER,
  ETL_JOB_NAME,
  LOGSTORE_NAME,
  LOGTAIL_CONFIG_NAME,
  MACHINE_GROUP_NAME,
  PROJECT_NAME,
  REGION_ID,
  ROLE_ARN,
  TAG_KEY,
} from "./patterns";

export const DEFAULT_TAG_KEY = "logtail-xacct-route";
export const DEFAULT_STATUS_TAG_KEY = "logtail-xacct-status";
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 600;
/**
 * How long a heartbeating host may deliver no line before its host is inspected: the destination
 * config must reach it (up to the handover's propagation time) and the agent must read and send.
 */
export const DEFAULT_DELIVERY_TIMEOUT_SECONDS = 300;

export const OPERATING_SYSTEMS = ["linux", "windows"] as const;
export type OperatingSystem = (typeof OPERATING_SYSTEMS)[number];

const pattern = (re: RegExp, what: string) =>
  z.string({ error: `must be a string: ${what}` }).regex(re, { error: `must be ${what}` });

export const accountUid = pattern(ACCOUNT_UID, "a 16-digit account UID (quote it in YAML)");
const region = pattern(REGION_ID, "a region id such as cn-hangzhou");
const roleArn = pattern(ROLE_ARN, "a RAM role ARN acs:ram::<16-digit UID>:role/<name>");
const project = pattern(
  PROJECT_NAME,
  "3-63 of lowercase letters, digits and '-', starting and ending with a letter or digit",
);
const logstore = pattern(
  LOGSTORE_NAME,
  "2-63 of lowercase letters, digits, '-' and '_', starting and ending with a letter or digit",
);
const machineGroup = pattern(MACHINE_GROUP_NAME, "3-128 of lowercase letters, digits, '-' and '_'");
const configName = pattern(
  LOGTAIL_CONFIG_NAME,
  "2-128 of lowercase letters, digits, '-' and '_', starting and ending with a letter or digit",
);
const identifier = pattern(
  CUSTOM_IDENTIFIER,
  "1-128 of A-Z a-z 0-9 '.' '_' '-' starting with a letter or digit (no spaces, control or shell characters)",
);
const tagKey = pattern(
  TAG_KEY,
  "1-128 printable ASCII characters without spaces, not starting with aliyun or acs:",
);

const isoTimestamp = z.iso.datetime({
  offset: true,
  error: "must be an ISO-8601 timestamp with a time zone",
});

/** A value per operating system; at least one. A machine group cannot mix Linux and Windows. */
const perOs = <T extends z.ZodType>(value: T) =>
  z
    .strictObject({ linux: value.optional(), windows: value.optional() })
    .refine((v) => v.linux !== undefined || v.windows !== undefined, {
      error: "needs linux, windows or both",
    });

const linuxPath = z
  .string()
  .max(1024, { error: "must be at most 1024 characters" })
  .regex(/^\/\P{Cc}*$/u, { error: "must be an absolute Linux path without control characters" })
  .refine((p) => !p.split("/").includes(".."), { error: "must not contain '..'" });
const windowsPath = z
  .string()
  .max(1024, { error: "must be at most 1024 characters" })
  .regex(/^[A-Za-z]:\\\P{Cc}*$/u, {
    error: "must be an absolute Windows path such as C:\\logs\\*.log",
  })
  .refine((p) => !p.split("\\").includes(".."), { error: "must not contain '..'" });

/** A Logtail processing plugin, passed to `CreateLogtailPipelineConfig` as written. */
const processor = z
  .object({
    Type: z.string().regex(/^[a-z][a-z0-9_]{1,63}$/, {
      error: "must be a plugin type such as processor_parse_regex_native",
    }),
  })
  .catchall(z.unknown());

const logtailConfig = (path: z.ZodType<string>) =>
  z.strictObject({
    name: configName,
    filePaths: z.array(path).min(1, { error: "needs at least one path" }).max(20),
    processors: z.array(processor).max(50).default([]),
  });

const fieldIndex = z.strictObject({
  type: z.enum(["text", "long", "double", "json"]),
  caseSensitive: z.boolean().default(false),
  chn: z.boolean().default(false),
  token: z.array(z.string().min(1).max(1)).optional(),
  docValue: z.boolean().default(true),
});

const index = z.strictObject({
  fullText: z
    .strictObject({
      caseSensitive: z.boolean().default(false),
      chn: z.boolean().default(false),
      token: z.array(z.string().min(1).max(1)).min(1).optional(),
    })
    .optional(),
  keys: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/), fieldIndex).optional(),
});

/**
 * The secret the role's trust policy asks AssumeRole for (its `sts:ExternalId` condition): a hub
 * principal that is not this tool cannot assume the role without it. Required on every assumed role.
 */
const externalId = z.string().regex(/^[A-Za-z0-9=,.@:/_-]{16,1224}$/, {
  error:
    "must be 16 to 1224 of letters, digits and = , . @ : / _ - (generate one with `openssl rand -hex 16`)",
});

const sourceAccount = z.strictObject({
  uid: accountUid,
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, {
    error: "must be 1-64 letters, digits, spaces, '.', '_', '-'",
  }),
  regions: z.array(region).min(1, { error: "needs at least one region" }),
  /** The role in this source account that the hub assumes. */
  roleArn,
  /** Required (routesConfig says so with the remedy): its trust policy's ExternalId. */
  externalId: externalId.optional(),
});

const destination = z.strictObject({
  uid: accountUid,
  region,
  /** The role the hub assumes in the destination; required unless the destination is the hub itself. */
  roleArn: roleArn.optional(),
  /** With `roleArn`: its trust policy's ExternalId. */
  externalId: externalId.optional(),
});

/** The open-source agent saves checkpoints every 900 s; 60 s more for its jitter. */
const DEFAULT_CHECKPOINT_SECONDS = 960;

const routeSource = z.strictObject({
  account: accountUid,
  /** Stop the source account's old collection once the destination collects (the manual cutover step). */
  retire: z.strictObject({ project, machineGroup, config: configName }).optional(),
  /** Copy this source's history into the destination logstore with an SLS data-transformation job. */
  backfill: z
    .strictObject({
      project,
      logstore,
      /** Role in the source account, trusted by log.aliyuncs.com, that reads the source logstore. */
      readRoleArn: roleArn,
    })
    .optional(),
});

const route = z.strictObject({
  destination: z.string().min(1),
  project,
  logstore,
  machineGroup: perOs(machineGroup),
  identifier: perOs(identifier),
  logtailConfig: z
    .strictObject({
      linux: logtailConfig(linuxPath).optional(),
      windows: logtailConfig(windowsPath).optional(),
    })
    .refine((v) => v.linux !== undefined || v.windows !== undefined, {
      error: "needs linux, windows or both",
    }),
  index: index.optional(),
  heartbeatTimeoutSeconds: z.number().int().min(60).max(86_400).default(DEFAULT_HEARTBEAT_TIMEOUT_SECONDS),
  /**
   * An instance is `collecting` once lines from it are in the route's logstore; one that heartbeats
   * and delivers nothing this long after its config was bound is inspected on the host.
   */
  deliveryTimeoutSeconds: z.number().int().min(30).max(86_400).default(DEFAULT_DELIVERY_TIMEOUT_SECONDS),
  sources: z.array(routeSource).min(1, { error: "needs at least one source account" }),
  /**
   * How the route's hosts and copy jobs reach the destination's SLS: `intranet` (the destination
   * region's intranet endpoint) or `internet` (its public endpoint). Intranet endpoints do not
   * cross regions: a route with a source region other than the destination's must say `internet`,
   * and its hosts' agents must be installed for the destination region (the internet install).
   */
  network: z.enum(["intranet", "internet"]).default("intranet"),
  /**
   * Timing of the exactly-once handover from a source's `retire` config (README "Exactly-once
   * cutover"); what Alibaba's agent does is unverified, so these are parameters.
   */
  handover: z
    .strictObject({
      /** How long a config change takes at most to reach every agent (open-source agent: 10 s). */
      configPropagationSeconds: z.number().int().min(0).max(86_400).default(120),
      /** A source file silent this long is idle; a destination file the source never shipped for this long is not the source's. */
      sourceSilenceSeconds: z.number().int().min(60).max(86_400).default(300),
      /** The copy's range ends this long before the cutover looks, so late answers of a send are inside. */
      copyMarginSeconds: z.number().int().min(0).max(3_600).default(60),
      /**
       * The cut waits until each host's destination readers are this old: by then the agent has
       * saved their checkpoints (every 15 minutes plus jitter: unverified for Alibaba's agent), so a
       * crash after the cut re-reads lines instead of losing them. 0 does not wait.
       */
      checkpointSeconds: z.number().int().min(0).max(86_400).default(DEFAULT_CHECKPOINT_SECONDS),
      /**
       * What Windows hosts of a source that hands over get. The handover rests on the agent's
       * reading rules, checked in its Linux code and on Linux hosts only (Windows: a 50 MB default
       * tail, file identities of its own). `keep-source`: they are not onboarded (status
       * `failed:HandoverUnverifiedOnWindows`) and keep their own collection, which is not retired
       * while they are in its group. `protocol`: handed over like Linux hosts, unverified.
       */
      windows: z.enum(["keep-source", "protocol"]).default("keep-source"),
    })
    .default({
      configPropagationSeconds: 120,
      sourceSilenceSeconds: 300,
      copyMarginSeconds: 60,
      checkpointSeconds: DEFAULT_CHECKPOINT_SECONDS,
      windows: "keep-source",
    }),
  backfill: z
    .strictObject({
      /** Start of the history to copy; the end is the cutover time unless `to` is given. */
      from: isoTimestamp,
      to: isoTimestamp.optional(),
      /** Role in the destination account, trusted by `<source UID>@log.aliyuncs.com`, that writes the copy. */
      writeRoleArn: roleArn,
      jobNamePrefix: pattern(ETL_JOB_NAME, "2-64 of lowercase letters, digits, '-' and '_'").optional(),
      /** SPL applied while copying; `*` copies every log as it is. */
      spl: z
        .string()
        .max(10 * 1024, { error: "must be at most 10 KB (the SPL limit)" })
        .default("*"),
    })
    .optional(),
});

/**
 * Routes and destinations are looked up by names that come from tags and messages: in a plain object
 * `constructor`, `toString` or `__proto__` would find Object's own members. Without a prototype only
 * the file's own names are found.
 */
function ownPropertiesOnly<T>(record: Record<string, T>): Record<string, T> {
  const owned: Record<string, T> = Object.create(null);
  for (const [name, value] of Object.entries(record)) owned[name] = value;
  return owned;
}

export const routesFileSchema = z.strictObject({
  version: z.literal(1, { error: "must be 1" }),
  tagKey: tagKey.default(DEFAULT_TAG_KEY),
  statusTagKey: tagKey.default(DEFAULT_STATUS_TAG_KEY),
  hub: z.strictObject({ accountId: accountUid, region }),
  sourceAccounts: z.array(sourceAccount).min(1, { error: "needs at least one source account" }),
  destinations: z.record(z.string(), destination).transform(ownPropertiesOnly),
  routes: z.record(z.string(), route).transform(ownPropertiesOnly),
});

export type RoutesFile = z.output<typeof routesFileSchema>;
export type Route = RoutesFile["routes"][string];
export type RouteSource = Route["sources"][number];
export type SourceAccount = RoutesFile["sourceAccounts"][number];
export type Destination = RoutesFile["destinations"][string];
export type LogtailConfigSpec = NonNullable<Route["logtailConfig"]["linux"]>;
