import { z } from "zod";
import { slsErrors } from "./errors";

/** Name rules as the SLS console and API documentation state them. */
export const namePatterns = {
  project: /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
  logstore: /^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/,
  machineGroup: /^[a-z0-9_-]{3,128}$/,
  config: /^[a-z0-9][a-z0-9_-]{0,126}[a-z0-9]$/,
  etl: /^[a-z0-9][a-z0-9_-]{0,62}[a-z0-9]$/,
} as const;

const anyMap = z.record(z.string(), z.unknown());

export const createProjectBody = z.looseObject({
  projectName: z.string(),
  description: z.string().optional(),
});

export const updateProjectBody = z.looseObject({ description: z.string().optional() });

export const logstoreBody = z.looseObject({
  logstoreName: z.string(),
  ttl: z.number().int().min(1).max(3650).optional(),
  shardCount: z.number().int().min(1).max(256).optional(),
  telemetryType: z.string().optional(),
  mode: z.string().optional(),
});

export const indexBody = z
  .looseObject({
    line: z
      .looseObject({
        token: z.array(z.string()),
        caseSensitive: z.boolean().optional(),
        chn: z.boolean().optional(),
      })
      .optional(),
    keys: z.record(z.string(), anyMap).optional(),
  })
  .refine((index) => index.line !== undefined || index.keys !== undefined, {
    message: "index must contain line or keys",
  });

export const machineGroupBody = z.looseObject({
  groupName: z.string(),
  machineIdentifyType: z.enum(["ip", "userdefined"]),
  machineList: z.array(z.string()),
  groupType: z.string().optional(),
  groupAttribute: z
    .looseObject({ externalName: z.string().optional(), groupTopic: z.string().optional() })
    .optional(),
});

const pluginList = z.array(z.looseObject({ Type: z.string() }));

export const pipelineConfigBody = z.looseObject({
  configName: z.string(),
  inputs: pluginList,
  processors: pluginList.optional(),
  aggregators: pluginList.optional(),
  flushers: pluginList,
  global: anyMap.optional(),
  logSample: z.string().optional(),
  task: anyMap.optional(),
});

export const legacyConfigBody = z.looseObject({
  configName: z.string(),
  inputType: z.string(),
  inputDetail: anyMap,
  outputType: z.string(),
  outputDetail: z.looseObject({
    logstoreName: z.string(),
    endpoint: z.string().optional(),
    region: z.string().optional(),
    telemetryType: z.string().optional(),
  }),
  logSample: z.string().optional(),
});

export const etlSinkSchema = z.looseObject({
  name: z.string(),
  project: z.string(),
  logstore: z.string(),
  endpoint: z.string(),
  roleArn: z.string().optional(),
  accessKeyId: z.string().optional(),
  accessKeySecret: z.string().optional(),
  datasets: z.array(z.string()).optional(),
});

export const etlConfigurationSchema = z.looseObject({
  script: z.string().max(10 * 1024),
  lang: z.string(),
  logstore: z.string(),
  roleArn: z.string().optional(),
  accessKeyId: z.string().optional(),
  accessKeySecret: z.string().optional(),
  fromTime: z.number().int().min(0).optional(),
  toTime: z.number().int().min(0).optional(),
  parameters: anyMap.optional(),
  sinks: z.array(etlSinkSchema).min(1),
});

export const createEtlBody = z.looseObject({
  name: z.string(),
  displayName: z.string(),
  description: z.string().optional(),
  configuration: etlConfigurationSchema,
});

export const updateEtlBody = z.looseObject({
  displayName: z.string(),
  description: z.string().optional(),
  configuration: etlConfigurationSchema,
});

export type CreateProjectBody = z.infer<typeof createProjectBody>;
export type LogstoreBody = z.infer<typeof logstoreBody>;
export type IndexBody = z.infer<typeof indexBody>;
export type MachineGroupBody = z.infer<typeof machineGroupBody>;
export type PipelineConfigBody = z.infer<typeof pipelineConfigBody>;
export type LegacyConfigBody = z.infer<typeof legacyConfigBody>;
export type EtlConfiguration = z.infer<typeof etlConfigurationSchema>;
export type CreateEtlBody = z.infer<typeof createEtlBody>;
export type UpdateEtlBody = z.infer<typeof updateEtlBody>;

/** Validates a decoded JSON body; the error names the offending field, as `ParameterInvalid`. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw slsErrors.parameterInvalid(z.prettifyError(result.error).replace(/\n/g, " "));
  }
  return result.data;
}

export function assertName(kind: keyof typeof namePatterns, name: string): void {
  if (!namePatterns[kind].test(name)) {
    throw slsErrors.parameterInvalid(`${kind} name ${JSON.stringify(name)} is invalid`);
  }
}
