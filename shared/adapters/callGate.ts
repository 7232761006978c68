/**
 * The seam for per-account, per-region rate limiting: every SDK call of the adapters goes through
 * a gate. The default lets everything through; a limiter (token bucket per account+region+API) can
 * be plugged in later without touching the adapters.
 */
import type { CloudService } from "./cloudError";

export interface CallIdentity {
  service: CloudService;
  operation: string;
  accountId: string;
  region: string;
}

export interface CallGate {
  run<T>(call: CallIdentity, fn: () => Promise<T>): Promise<T>;
}

export const openGate: CallGate = { run: (_call, fn) => fn() };
