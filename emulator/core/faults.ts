import { z } from "zod";
import type { CallIdentity } from "./limits";
import { seededRandom } from "./random";

const serviceNames = ["ecs", "sls", "mns", "sts", "oss", "eventbridge"] as const;

/** An injected fault: matching calls are delayed and/or fail with a given error, at a given rate. */
export const faultRuleSchema = z.strictObject({
  service: z.enum(serviceNames),
  operation: z.string().min(1).optional(),
  accountId: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  /** Probability (0–1) that a matching call fails with `error`. Default 1 when `error` is given. */
  errorRate: z.number().min(0).max(1).optional(),
  /** The error to return; default: 503 `ServiceUnavailable`. */
  error: z
    .strictObject({
      status: z.number().int().min(400).max(599),
      code: z.string().min(1),
      message: z.string().default("Injected fault."),
    })
    .optional(),
  /**
   * The connection is closed without an answer instead of an error: `request` before the service acts
   * (nothing happened), `response` after it acted (it happened, the caller cannot know). Both look
   * to the client like a network failure. Applies at `errorRate` (default 1).
   */
  lose: z.enum(["request", "response"]).optional(),
  /** Wall-clock delay added to every matching call, in ms (network latency is wall time). */
  latencyMs: z.number().int().min(0).max(120_000).optional(),
  /** The rule applies to this many matching calls, then disappears. */
  times: z.number().int().positive().optional(),
});

export type FaultRuleInput = z.input<typeof faultRuleSchema>;
export type FaultRule = z.output<typeof faultRuleSchema> & { id: string };

export interface FaultDecision {
  latencyMs: number;
  error?: { status: number; code: string; message: string };
  lose?: "request" | "response";
}

const defaultError = {
  status: 503,
  code: "ServiceUnavailable",
  message: "The request has failed due to a temporary failure of the server.",
};

/** Fault rules applied in the order they were added; randomness comes from a seeded generator. */
export class FaultInjector {
  private rules: FaultRule[] = [];
  private remaining = new Map<string, number>();
  private nextId = 1;
  private random: () => number;

  constructor(private seed = 1) {
    this.random = seededRandom(seed);
  }

  add(input: FaultRuleInput): FaultRule {
    const parsed = faultRuleSchema.parse(input);
    const rule: FaultRule = { ...parsed, id: `fault-${this.nextId++}` };
    this.rules.push(rule);
    if (rule.times !== undefined) this.remaining.set(rule.id, rule.times);
    return rule;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((rule) => rule.id !== id);
    this.remaining.delete(id);
    return this.rules.length < before;
  }

  list(): readonly FaultRule[] {
    return this.rules;
  }

  /** Drops every rule and restarts the random sequence, so a run after reset repeats exactly. */
  reset(seed = this.seed): void {
    this.rules = [];
    this.remaining.clear();
    this.seed = seed;
    this.random = seededRandom(seed);
  }

  decide(call: CallIdentity): FaultDecision {
    let latencyMs = 0;
    let failure: Pick<FaultDecision, "error" | "lose"> | undefined;
    for (const rule of [...this.rules]) {
      if (!matches(rule, call)) continue;
      this.consume(rule);
      latencyMs += rule.latencyMs ?? 0;
      if (failure !== undefined) continue;
      const fails = rule.error !== undefined || rule.lose !== undefined;
      const rate = rule.errorRate ?? (fails ? 1 : 0);
      if (rate > 0 && this.random() < rate)
        failure = rule.lose !== undefined ? { lose: rule.lose } : { error: rule.error ?? defaultError };
    }
    return { latencyMs, ...failure };
  }

  private consume(rule: FaultRule): void {
    const left = this.remaining.get(rule.id);
    if (left === undefined) return;
    if (left <= 1) this.remove(rule.id);
    else this.remaining.set(rule.id, left - 1);
  }
}

function matches(rule: FaultRule, call: CallIdentity): boolean {
  return (
    rule.service === call.service &&
    (rule.operation === undefined || rule.operation === call.operation) &&
    (rule.accountId === undefined || rule.accountId === call.accountId) &&
    (rule.region === undefined || rule.region === call.region)
  );
}
