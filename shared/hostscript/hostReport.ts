/**
 * The JSON line every host-script run ends with, parsed strictly: it comes from a customer's server,
 * so it is outside data like any other.
 */
import { z } from "zod";

const nullableString = z.string().max(4096).nullable();

export const hostReportSchema = z.object({
  tool: z.literal("logtail-xacct"),
  scriptVersion: z.number().int(),
  action: z.enum(["authorize", "revoke", "inspect"]).nullable(),
  ok: z.boolean(),
  changed: z.object({ uidFile: z.boolean(), identifiers: z.boolean() }),
  /** Revoke: identifiers it left because they were on the host before onboarding (the owner's). */
  keptIdentifiers: z.array(z.string()).optional(),
  uidFiles: z.array(z.string()),
  identifiers: z.array(z.string()),
  /**
   * How many entries the bounded lists left out (the report must fit Cloud Assistant's output):
   * identifiers beyond 64 lines or 2,048 characters (ours are always listed), UID files beyond 32 or
   * longer than 64 bytes. Absent from older scripts and on Windows.
   */
  omittedIdentifiers: z.number().int().nonnegative().optional(),
  omittedUidFiles: z.number().int().nonnegative().optional(),
  agent: z.object({
    flavor: z.enum(["ilogtail", "loongcollector", "none"]),
    control: z.enum(["initd", "systemd", "service", "none"]),
    running: z.boolean(),
    restarted: z.boolean(),
    restartError: nullableString,
  }),
  /** What the host is; absent from a Linux revoke's report (its command leaves that code out). */
  host: z
    .object({
      dmiUuid: nullableString,
      ip: nullableString,
      hostname: nullableString,
      agentVersion: nullableString,
      /** app_info.json's `UUID` and `host_id`: what the agent heartbeats with. Absent from older scripts. */
      agentUuid: nullableString.optional(),
      agentHostId: nullableString.optional(),
      /**
       * The region the agent was installed for, from ilogtail_config.json (a region id, or null when
       * the file is missing or names none). Absent from older scripts and on Windows.
       */
      agentRegion: z
        .string()
        .regex(/^[a-z]{2,}(-[a-z0-9]+)+$/)
        .nullable()
        .optional()
        .catch(null),
    })
    .optional(),
  /**
   * What inspect found at the paths it was given (`--path`): how many regular files match, how
   * many changed at or after `--since`, and the newest change (Unix seconds). Absent or null when
   * no paths were asked for, or where the script cannot look (Windows).
   */
  files: z
    .object({
      matched: z.number().int().nonnegative(),
      changedSince: z.number().int().nonnegative(),
      newestChange: z.number().int().nonnegative().nullable(),
    })
    .nullable()
    .optional(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

export type HostReport = z.infer<typeof hostReportSchema>;

export type HostReportResult = { ok: true; report: HostReport } | { ok: false; reason: string };

/** Reads the report from a run's output (stdout, possibly after other lines): its last non-empty line. */
export function parseHostReport(output: string): HostReportResult {
  const lines = output.split("\n").filter((line) => line.trim() !== "");
  const last = lines.at(-1);
  if (last === undefined) return { ok: false, reason: "the host script printed nothing" };
  let json: unknown;
  try {
    json = JSON.parse(last);
  } catch {
    return { ok: false, reason: "the host script's last line is not JSON" };
  }
  const parsed = hostReportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `the host script's report is malformed at ${issue?.path.join(".") || "(root)"}`,
    };
  }
  return { ok: true, report: parsed.data };
}
