/**
 * The functions' settings, read from the environment at invocation time (never at import time),
 * validated, with a clear error naming the variable. Function Compute allows 4 KB of environment in
 * all: these stay far below.
 */
import { join } from "node:path";
import { z } from "zod";
import { type ApiBudget, parseApiBudgets, shareOfBudgets } from "../../shared/adapters/throttleGate";
import { HUB_QUEUES } from "../../shared/messages/queueMessages";
import { errorMessage } from "../../shared/ports/errors";

/** MNS queue names: a letter, then letters, digits and '-', at most 256. */
const queueName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,255}$/, { error: "must be an MNS queue name" });

const envSchema = z
  .object({
    /** The routes file; bundled beside the function by default. */
    LOGTAIL_XACCT_ROUTES_FILE: z.string().min(1).default(join(__dirname, "routes.yaml")),
    /** The local stack's endpoints file; unset on Alibaba Cloud. */
    LOGTAIL_XACCT_ENDPOINTS_FILE: z.string().min(1).optional(),
    /** Where log lines go instead of stdout (the local stack keeps the terminal for its progress). */
    LOGTAIL_XACCT_LOG_FILE: z.string().min(1).optional(),
    /** `public` or `vpc` endpoints on Alibaba Cloud. */
    LOGTAIL_XACCT_NETWORK: z.enum(["public", "vpc"]).default("public"),
    LOGTAIL_XACCT_HEARTBEAT_QUEUE: queueName.default(HUB_QUEUES.heartbeat),
    LOGTAIL_XACCT_APPLY_QUEUE: queueName.default(HUB_QUEUES.apply),
    /** Reconcile's shards: one message per source account and period. */
    LOGTAIL_XACCT_RECONCILE_QUEUE: queueName.default(HUB_QUEUES.reconcile),
    /** Where what can never be handled goes, with its reason. */
    LOGTAIL_XACCT_DEAD_LETTER_QUEUE: queueName.default(HUB_QUEUES.deadLetter),
    /**
     * The hub's OSS bucket for shared observations (one machine group listing serves a period).
     * Unset: every function lists the groups it needs itself.
     */
    LOGTAIL_XACCT_SNAPSHOT_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, { error: "must be an OSS bucket name" })
      .optional(),
    /**
     * Call budgets per account, region and API (calls per minute), e.g. `ecs=300,ecs:RunCommand=60`,
     * for the whole deployment: the instances lease parts of it as they need them (the snapshot
     * bucket is the ledger), or keep to an even share (LOGTAIL_XACCT_BUDGET_INSTANCES) without one.
     * Unset: no budget; a throttled answer still pauses that API and is called again.
     */
    LOGTAIL_XACCT_API_BUDGETS: z
      .string()
      .default("")
      .transform((text, ctx): ApiBudget[] => {
        try {
          return parseApiBudgets(text);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: errorMessage(error) });
          return z.NEVER;
        }
      }),
    /**
     * How many function instances of the deployment may call at once (the sum of the functions'
     * reservedConcurrency in s.yaml): an instance that cannot lease from the ledger keeps to its
     * even share of every budget, so that all of them together stay within it.
     */
    LOGTAIL_XACCT_BUDGET_INSTANCES: z.coerce.number().int().min(1).max(10_000).default(1),
  })
  .superRefine((env, ctx) => {
    // Without the ledger each instance keeps to its even share: it must be a call at least.
    try {
      shareOfBudgets(env.LOGTAIL_XACCT_API_BUDGETS, env.LOGTAIL_XACCT_BUDGET_INSTANCES);
    } catch (error) {
      ctx.addIssue({ code: "custom", path: ["LOGTAIL_XACCT_API_BUDGETS"], message: errorMessage(error) });
    }
  });

export type FunctionEnv = z.infer<typeof envSchema>;

export class FunctionEnvError extends Error {
  override name = "FunctionEnvError";
}

export function readFunctionEnv(env: NodeJS.ProcessEnv): FunctionEnv {
  const parsed = envSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new FunctionEnvError(
    `environment variable ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "invalid"}`,
  );
}
