import type { ServiceName } from "./types";

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface OperationMetrics {
  service: ServiceName | "unknown";
  operation: string;
  accountId: string;
  calls: number;
  /** Calls answered with an HTTP status ≥ 400 (including throttling and injected faults). */
  errors: number;
  throttled: number;
  latency: LatencySummary;
}

export interface MetricsSnapshot {
  totalCalls: number;
  latency: LatencySummary;
  operations: OperationMetrics[];
  /**
   * Calls per caller — the role session name of temporary keys (`fc-logtail-xacct-apply`), else the
   * ARN — and per `service:operation` within it.
   */
  callers: Record<string, { calls: number; operations: Record<string, number> }>;
}

/** Samples kept per series: enough for a stable p99, bounded for long runs. */
const maxSamples = 20_000;

class Series {
  calls = 0;
  errors = 0;
  throttled = 0;
  private samples: number[] = [];
  private next = 0;

  record(latencyMs: number, status: number, throttled: boolean): void {
    this.calls += 1;
    if (status >= 400) this.errors += 1;
    if (throttled) this.throttled += 1;
    if (this.samples.length < maxSamples) this.samples.push(latencyMs);
    else {
      // Ring buffer: the newest samples replace the oldest.
      this.samples[this.next] = latencyMs;
      this.next = (this.next + 1) % maxSamples;
    }
  }

  summary(): LatencySummary {
    return summarize(this.samples);
  }

  values(): readonly number[] {
    return this.samples;
  }
}

/** Calls per (service, operation, account) and per-request latency, read by the admin API and benches. */
export class Metrics {
  private readonly series = new Map<
    string,
    { key: Omit<OperationMetrics, "calls" | "errors" | "throttled" | "latency">; data: Series }
  >();
  private overall = new Series();
  private callers = new Map<string, { calls: number; operations: Record<string, number> }>();

  record(entry: {
    service: ServiceName | "unknown";
    operation: string;
    accountId: string;
    latencyMs: number;
    status: number;
    throttled: boolean;
    caller?: string;
  }): void {
    const caller = callerName(entry.caller);
    const byCaller = this.callers.get(caller) ?? { calls: 0, operations: {} };
    const operation = `${entry.service}:${entry.operation}`;
    byCaller.calls += 1;
    byCaller.operations[operation] = (byCaller.operations[operation] ?? 0) + 1;
    this.callers.set(caller, byCaller);
    const id = `${entry.service}|${entry.operation}|${entry.accountId}`;
    let slot = this.series.get(id);
    if (slot === undefined) {
      slot = {
        key: { service: entry.service, operation: entry.operation, accountId: entry.accountId },
        data: new Series(),
      };
      this.series.set(id, slot);
    }
    slot.data.record(entry.latencyMs, entry.status, entry.throttled);
    this.overall.record(entry.latencyMs, entry.status, entry.throttled);
  }

  snapshot(): MetricsSnapshot {
    return {
      totalCalls: this.overall.calls,
      latency: this.overall.summary(),
      operations: [...this.series.values()].map(({ key, data }) => ({
        ...key,
        calls: data.calls,
        errors: data.errors,
        throttled: data.throttled,
        latency: data.summary(),
      })),
      callers: structuredClone(Object.fromEntries(this.callers)),
    };
  }

  reset(): void {
    this.series.clear();
    this.callers.clear();
    this.overall = new Series();
  }
}

function summarize(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (quantile: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)] ?? 0;
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    count: sorted.length,
    meanMs: round(total / sorted.length),
    p50Ms: round(at(0.5)),
    p90Ms: round(at(0.9)),
    p99Ms: round(at(0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** `acs:ram::<uid>:assumed-role/<role>/<session>` → `<session>`; other ARNs as they are. */
function callerName(arn: string | undefined): string {
  if (arn === undefined || arn === "") return "anonymous";
  const assumed = /:assumed-role\/[^/]+\/(.+)$/.exec(arn);
  return assumed?.[1] ?? arn;
}
