import { z } from "zod";
import type { Clock, ServiceName } from "./types";

const serviceNames = ["ecs", "sls", "mns", "sts", "oss", "eventbridge"] as const;

/** A rate limit: at most `limit` calls per window, counted per (service, operation, account, region). */
export const rateLimitRuleSchema = z.strictObject({
  service: z.enum(serviceNames),
  /**
   * Operation name (e.g. `DescribeInstances`); omitted = every management operation, each counted
   * separately. The data plane (DATA_PLANE_OPERATIONS) is limited only by rules that name it.
   */
  operation: z.string().min(1).optional(),
  /** Only this account; omitted = every account, each counted separately. */
  accountId: z.string().min(1).optional(),
  /** Only this region; omitted = every region, each counted separately. */
  region: z.string().min(1).optional(),
  limit: z.number().int().min(0),
  /** Window length in emulator seconds. Alibaba counts per minute. */
  windowSeconds: z.number().positive().default(60),
});

/**
 * Operations of a data plane, whose limits are not the management API's calls per minute: the
 * agents' PutLogs counts against the logstore's shard write quota (`WriteQuotaExceed`), not an
 * account's API rate. A service-wide rule leaves them alone; a rule naming one limits it.
 */
export const DATA_PLANE_OPERATIONS: Readonly<Partial<Record<ServiceName, readonly string[]>>> = {
  sls: ["PutLogs"],
};

export type RateLimitRule = z.output<typeof rateLimitRuleSchema>;
export type RateLimitRuleInput = z.input<typeof rateLimitRuleSchema>;

export interface CallIdentity {
  service: ServiceName;
  operation: string;
  accountId: string;
  region: string;
}

/**
 * Fixed-window counters on the emulator clock. Every matching rule must admit a call; a call that one
 * rule refuses does not count against the others (a refused call is not served).
 */
export class RateLimiter {
  private rules: RateLimitRule[] = [];
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly clock: Clock) {}

  setRules(rules: readonly RateLimitRule[]): void {
    this.rules = [...rules];
    this.windows.clear();
  }

  listRules(): readonly RateLimitRule[] {
    return this.rules;
  }

  reset(): void {
    this.setRules([]);
  }

  /** Counts the call and says whether it is within every matching limit. */
  admit(call: CallIdentity): boolean {
    const now = this.clock.now();
    const counters: { start: number; count: number }[] = [];
    for (const [index, rule] of this.rules.entries()) {
      if (!matches(rule, call)) continue;
      const windowMs = rule.windowSeconds * 1000;
      const key = `${index}|${call.service}|${call.operation}|${call.accountId}|${call.region}`;
      // Windows aligned on the emulator clock, like "per minute" quotas.
      const windowStart = now - (now % windowMs);
      let counter = this.windows.get(key);
      if (counter === undefined || counter.start !== windowStart) {
        counter = { start: windowStart, count: 0 };
        this.windows.set(key, counter);
      }
      if (counter.count >= rule.limit) return false;
      counters.push(counter);
    }
    for (const counter of counters) counter.count += 1;
    return true;
  }
}

function matches(rule: RateLimitRule, call: CallIdentity): boolean {
  const dataPlane = DATA_PLANE_OPERATIONS[call.service]?.includes(call.operation) === true;
  return (
    rule.service === call.service &&
    (rule.operation === undefined ? !dataPlane : rule.operation === call.operation) &&
    (rule.accountId === undefined || rule.accountId === call.accountId) &&
    (rule.region === undefined || rule.region === call.region)
  );
}
