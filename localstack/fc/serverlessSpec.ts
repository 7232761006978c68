/**
 * Reads a Serverless Devs `s.yaml` (edition 3.0.0) the way the local runtime needs it: every
 * resource of component `fc3` becomes a FunctionSpec with its triggers. Parsed with `yaml`, variables
 * substituted (specVariables.ts), then validated with zod; unknown keys are kept out of the way (fc3
 * has many), but the ones the runtime uses must have the documented shape.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { ServerlessSpecError } from "./errors";
import { substituteVariables, type VariableSources } from "./specVariables";

export interface TimerTriggerSpec {
  type: "timer";
  name: string;
  cronExpression: string;
  enabled: boolean;
  payload?: string;
}

export type EventSourceSpec =
  | { kind: "default" }
  | { kind: "mns"; queueName: string; region?: string; base64Decode: boolean };

export interface EventBridgeTriggerSpec {
  type: "eventbridge";
  name: string;
  enabled: boolean;
  /** FC invokes asynchronously (its own retries) rather than EventBridge pushing synchronously. */
  asyncInvocation: boolean;
  /** `eventRuleFilterPattern`, JSON text. */
  pattern: string;
  source: EventSourceSpec;
  /** `event-streaming` delivers a JSON array (batch), `event-driven` one object. */
  mode: "event-driven" | "event-streaming";
  batch: { count?: number; seconds?: number };
  retry: { strategy?: string; maxRetries?: number };
  deadLetterArn?: string;
}

export interface OtherTriggerSpec {
  type: "other";
  name: string;
  triggerType: string;
}

export type TriggerSpec = TimerTriggerSpec | EventBridgeTriggerSpec | OtherTriggerSpec;

export interface FunctionSpec {
  /** Key of the resource under `resources:`. */
  resource: string;
  name: string;
  region: string;
  runtime: string;
  /** Absolute path of the `code` folder as deployed. */
  codeDir: string;
  /** `index.handler`: module file `index`, export `handler`. */
  handler: string;
  memorySize: number;
  timeout: number;
  role?: string;
  environmentVariables: Record<string, string>;
  triggers: TriggerSpec[];
  /** Invocations one instance runs at once (`instanceConcurrency`, FC's default 1). */
  instanceConcurrency: number;
  /** Instances of the function at most (`concurrencyConfig.reservedConcurrency`); unset: no limit. */
  maxInstances?: number;
  /**
   * `asyncInvokeConfig.destinationConfig.onFailure.destination`: where an asynchronous invocation
   * that failed past its retries goes (an EventBridge rule invoking the function asynchronously).
   */
  asyncFailureDestination?: string;
}

export interface ServerlessSpec {
  file: string;
  dir: string;
  name?: string;
  functions: FunctionSpec[];
}

const numeric = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);
const bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);

const timerConfig = z.looseObject({
  cronExpression: z.string().min(1),
  enable: bool.default(true),
  payload: z.string().optional(),
});

const eventbridgeConfig = z.looseObject({
  triggerEnable: bool.default(true),
  asyncInvocationType: bool.default(false),
  eventRuleFilterPattern: z.string().min(2),
  eventSourceConfig: z.looseObject({
    eventSourceType: z.string(),
    eventSourceParameters: z
      .looseObject({
        sourceMNSParameters: z
          .looseObject({
            QueueName: z.string().min(1),
            RegionId: z.string().optional(),
            IsBase64Decode: bool.default(true),
          })
          .optional(),
      })
      .optional(),
  }),
  eventSinkConfig: z
    .looseObject({ deliveryOption: z.looseObject({ mode: z.string().optional() }).optional() })
    .optional(),
  runOptions: z
    .looseObject({
      mode: z.enum(["event-driven", "event-streaming"]).optional(),
      batchWindow: z
        .looseObject({ CountBasedWindow: numeric.optional(), TimeBasedWindow: numeric.optional() })
        .optional(),
      retryStrategy: z
        .looseObject({ PushRetryStrategy: z.string().optional(), MaximumRetryAttempts: numeric.optional() })
        .optional(),
      deadLetterQueue: z.looseObject({ Arn: z.string() }).optional(),
    })
    .optional(),
});

const trigger = z.looseObject({
  triggerName: z.string().min(1),
  triggerType: z.string().min(1),
  triggerConfig: z.unknown(),
});

const functionProps = z.looseObject({
  region: z.string().min(1),
  functionName: z.string().min(1),
  runtime: z.string().min(1),
  code: z.union([z.string().min(1), z.looseObject({ src: z.string().min(1) })]),
  handler: z.string().regex(/^[^.]+(\.[^.]+)+$/, "handler is <file>.<export>, e.g. index.handler"),
  memorySize: numeric.default(128),
  timeout: numeric.default(3),
  role: z.string().optional(),
  environmentVariables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  triggers: z.array(trigger).default([]),
  instanceConcurrency: numeric.default(1),
  concurrencyConfig: z.looseObject({ reservedConcurrency: numeric }).optional(),
  asyncInvokeConfig: z
    .looseObject({
      destinationConfig: z
        .looseObject({ onFailure: z.looseObject({ destination: z.string().min(1) }).optional() })
        .optional(),
    })
    .optional(),
});

const document = z.looseObject({
  edition: z.literal("3.0.0"),
  name: z.string().optional(),
  vars: z.unknown().optional(),
  resources: z.record(z.string(), z.looseObject({ component: z.string(), props: z.unknown() })),
});

export interface LoadOptions {
  env: VariableSources["env"];
  config?: VariableSources["config"];
}

export function loadServerlessSpec(file: string, options: LoadOptions): ServerlessSpec {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ServerlessSpecError(
      file,
      "",
      `cannot read (${error instanceof Error ? error.message : error})`,
    );
  }
  return parseServerlessSpec(text, file, options);
}

export function parseServerlessSpec(text: string, file: string, options: LoadOptions): ServerlessSpec {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new ServerlessSpecError(file, "", `not YAML (${error instanceof Error ? error.message : error})`);
  }
  const top = check(document, raw, file, "");
  // vars may use env() and config(), not other vars.
  const vars = substituteVariables(top.vars, { ...options }, file, "vars");
  const sources: VariableSources = { ...options, vars };
  const dir = dirname(resolve(file));
  const functions: FunctionSpec[] = [];
  for (const [key, resource] of Object.entries(top.resources)) {
    const component = String(
      substituteVariables(resource.component, sources, file, `resources.${key}.component`),
    );
    if (!/^fc3(@|$)/.test(component)) continue;
    const path = `resources.${key}.props`;
    const props = check(functionProps, substituteVariables(resource.props, sources, file, path), file, path);
    functions.push(toFunctionSpec(key, props, dir, file, path));
  }
  return { file, dir, ...(top.name ? { name: top.name } : {}), functions };
}

function toFunctionSpec(
  resource: string,
  props: z.infer<typeof functionProps>,
  dir: string,
  file: string,
  path: string,
): FunctionSpec {
  return {
    resource,
    name: props.functionName,
    region: props.region,
    runtime: props.runtime,
    codeDir: resolve(dir, typeof props.code === "string" ? props.code : props.code.src),
    handler: props.handler,
    memorySize: props.memorySize,
    timeout: props.timeout,
    ...(props.role ? { role: props.role } : {}),
    environmentVariables: Object.fromEntries(
      Object.entries(props.environmentVariables).map(([k, v]) => [k, String(v)]),
    ),
    triggers: props.triggers.map((t, index) => toTrigger(t, file, `${path}.triggers[${index}]`)),
    instanceConcurrency: props.instanceConcurrency,
    ...(props.concurrencyConfig ? { maxInstances: props.concurrencyConfig.reservedConcurrency } : {}),
    ...(props.asyncInvokeConfig?.destinationConfig?.onFailure
      ? { asyncFailureDestination: props.asyncInvokeConfig.destinationConfig.onFailure.destination }
      : {}),
  };
}

function toTrigger(raw: z.infer<typeof trigger>, file: string, path: string): TriggerSpec {
  const configPath = `${path}.triggerConfig`;
  if (raw.triggerType === "timer") {
    const config = check(timerConfig, raw.triggerConfig, file, configPath);
    return {
      type: "timer",
      name: raw.triggerName,
      cronExpression: config.cronExpression,
      enabled: config.enable,
      ...(config.payload !== undefined ? { payload: config.payload } : {}),
    };
  }
  if (raw.triggerType !== "eventbridge") {
    return { type: "other", name: raw.triggerName, triggerType: raw.triggerType };
  }
  const config = check(eventbridgeConfig, raw.triggerConfig, file, configPath);
  const run = config.runOptions;
  const mns = config.eventSourceConfig.eventSourceParameters?.sourceMNSParameters;
  let source: EventSourceSpec;
  if (config.eventSourceConfig.eventSourceType === "Default") source = { kind: "default" };
  else if (config.eventSourceConfig.eventSourceType === "MNS" && mns) {
    source = {
      kind: "mns",
      queueName: mns.QueueName,
      base64Decode: mns.IsBase64Decode,
      ...(mns.RegionId ? { region: mns.RegionId } : {}),
    };
  } else {
    throw new ServerlessSpecError(
      file,
      `${configPath}.eventSourceConfig`,
      `event source ${config.eventSourceConfig.eventSourceType} is not emulated (Default, or MNS with sourceMNSParameters.QueueName)`,
    );
  }
  const sinkMode = config.eventSinkConfig?.deliveryOption?.mode;
  const mode = run?.mode ?? (sinkMode === "event-streaming" ? "event-streaming" : "event-driven");
  return {
    type: "eventbridge",
    name: raw.triggerName,
    enabled: config.triggerEnable,
    asyncInvocation: config.asyncInvocationType,
    pattern: config.eventRuleFilterPattern,
    source,
    mode,
    batch: {
      ...(run?.batchWindow?.CountBasedWindow !== undefined
        ? { count: run.batchWindow.CountBasedWindow }
        : {}),
      ...(run?.batchWindow?.TimeBasedWindow !== undefined
        ? { seconds: run.batchWindow.TimeBasedWindow }
        : {}),
    },
    retry: {
      ...(run?.retryStrategy?.PushRetryStrategy ? { strategy: run.retryStrategy.PushRetryStrategy } : {}),
      ...(run?.retryStrategy?.MaximumRetryAttempts !== undefined
        ? { maxRetries: run.retryStrategy.MaximumRetryAttempts }
        : {}),
    },
    ...(run?.deadLetterQueue ? { deadLetterArn: run.deadLetterQueue.Arn } : {}),
  };
}

function check<T extends z.ZodType>(schema: T, value: unknown, file: string, path: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = [path, ...(issue?.path ?? []).map(String)].filter((p) => p !== "").join(".");
  throw new ServerlessSpecError(file, where, issue?.message ?? "invalid");
}
