/**
 * The endpoints file a running local stack writes (`emulator/core/endpoints.ts`, `version: 1`) and
 * `invoke --endpoints-file` reads: the accounts with their AccessKey pairs and where each emulated
 * service listens. Read loosely: `accounts[] {id, name, accessKeyId, accessKeySecret, sts?,
 * regions?: {<region>: {ecs, sls, mns}}}`, `templates {ecs, sls, mns, sts}` with `{region}` and
 * `{accountId}` placeholders, and optionally `endpoints` (same as templates) and `hubAccountId`.
 * The hub is `hubAccountId`, else the account named `hub`, else the only account, else (invoke)
 * the account the function's role belongs to.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ACCOUNT_UID } from "../../shared/config/patterns";
import { EndpointsFileError } from "./errors";

const url = z.string().regex(/^https?:\/\//, "an http(s) URL");

const account = z.looseObject({
  id: z.string().regex(ACCOUNT_UID, "a 16-digit account UID"),
  name: z.string().optional(),
  accessKeyId: z.string().min(1),
  accessKeySecret: z.string().min(1),
  sts: url.optional(),
  regions: z.record(z.string(), z.record(z.string(), url)).optional(),
});

const endpointsFileSchema = z.looseObject({
  hubAccountId: z.string().regex(ACCOUNT_UID).optional(),
  accounts: z.array(account).min(1),
  endpoints: z.record(z.string(), url).default({}),
  templates: z.record(z.string(), url).default({}),
});

export type EndpointsFile = z.infer<typeof endpointsFileSchema>;
export type EndpointsAccount = z.infer<typeof account>;

export function loadEndpointsFile(file: string): EndpointsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new EndpointsFileError(
      `${file}: cannot read the endpoints file (${error instanceof Error ? error.message : error})`,
    );
  }
  const parsed = endpointsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EndpointsFileError(
      `${file} (${(issue?.path ?? []).join(".")}): ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

/** The hub by the file alone; undefined when the file does not say (several accounts, none named hub). */
export function findHubAccount(file: EndpointsFile, preferred?: string): EndpointsAccount | undefined {
  const wanted = preferred ?? file.hubAccountId;
  if (wanted !== undefined) {
    const hub = file.accounts.find((candidate) => candidate.id === wanted);
    if (hub === undefined) throw new EndpointsFileError(`the endpoints file has no account ${wanted}`);
    return hub;
  }
  return (
    file.accounts.find((candidate) => candidate.name === "hub") ??
    (file.accounts.length === 1 ? file.accounts[0] : undefined)
  );
}

export function resolveHubAccount(file: EndpointsFile, preferred?: string): EndpointsAccount {
  const hub = findHubAccount(file, preferred);
  if (hub === undefined) {
    throw new EndpointsFileError(
      "the endpoints file does not say which account is the hub (set hubAccountId)",
    );
  }
  return hub;
}

/** An endpoint with its placeholders filled, or undefined when the file names none for the service. */
export function endpointFor(
  file: EndpointsFile,
  service: string,
  where: { region: string; accountId: string },
): string | undefined {
  const account = file.accounts.find((candidate) => candidate.id === where.accountId);
  const own = service === "sts" ? account?.sts : account?.regions?.[where.region]?.[service];
  const template = own ?? file.endpoints[service] ?? file.templates[service];
  return template?.replaceAll("{region}", where.region).replaceAll("{accountId}", where.accountId);
}
