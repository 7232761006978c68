/** The local stack's endpoints: the JSON document the emulator writes (see emulator/core/endpoints.ts). */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { CloudCredentials } from "../ports/credentials";
import type { EndpointResolver, ServiceEndpoint } from "../ports/endpoints";

const endpointsDocumentSchema = z.object({
  version: z.literal(1),
  port: z.number().int().positive(),
  templates: z.object({
    ecs: z.string(),
    sls: z.string(),
    mns: z.string(),
    sts: z.string(),
    oss: z.string(),
  }),
  accounts: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      accessKeyId: z.string(),
      accessKeySecret: z.string(),
    }),
  ),
});

export type LocalEndpointsDocument = z.infer<typeof endpointsDocumentSchema>;

export function parseEndpointsDocument(document: unknown): LocalEndpointsDocument {
  return endpointsDocumentSchema.parse(document);
}

export async function readEndpointsFile(path: string): Promise<LocalEndpointsDocument> {
  return parseEndpointsDocument(JSON.parse(await readFile(path, "utf8")));
}

/** The seeded key of an account of the local stack (what FC's credentials are in production). */
export function localAccountCredentials(
  document: LocalEndpointsDocument,
  accountId: string,
): CloudCredentials {
  const account = document.accounts.find((candidate) => candidate.id === accountId);
  if (account === undefined) throw new Error(`account ${accountId} is not in the endpoints file`);
  return { accessKeyId: account.accessKeyId, accessKeySecret: account.accessKeySecret };
}

/** Resolves from the document's templates, so regions not listed per account work too. */
export function localEndpoints(document: LocalEndpointsDocument): EndpointResolver {
  const { templates } = document;
  const fill = (template: string, values: Record<string, string>): string =>
    template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
  const sdkEndpoint = (url: string): ServiceEndpoint => {
    const parsed = new URL(url);
    return { host: parsed.host, protocol: parsed.protocol === "https:" ? "https" : "http" };
  };
  return {
    ecs: (region) => sdkEndpoint(fill(templates.ecs, { region })),
    sls: (region) => sdkEndpoint(fill(templates.sls, { region })),
    sts: () => sdkEndpoint(templates.sts),
    oss: (region) => sdkEndpoint(fill(templates.oss, { region })),
    mns: (accountId, region) => fill(templates.mns, { accountId, region }),
    // One emulator answers for every network.
    slsDataEndpoint: (region) => new URL(fill(templates.sls, { region })).host,
  };
}
