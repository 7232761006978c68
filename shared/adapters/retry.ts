/** Retries retryable cloud errors with full-jitter exponential backoff. */
import { CloudError } from "./cloudError";

export interface RetryOptions {
  /** Total tries, the first included (1 = no retry). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Injected so tests do not wait. */
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  random: () => number;
  /** Which errors to retry; default: CloudErrors marked retryable. */
  shouldRetry?: (error: unknown) => boolean;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Six tries: a reconcile makes hundreds of calls, and one that still fails stops the run. Were one
 * call in five to fail, four tries would leave one call in 625 failing (a run of 300 calls fails
 * about two times in five), six one in 15,625. The backoff's ceiling keeps the worst wait near 6 s.
 */
export const DEFAULT_RETRY: RetryOptions = {
  attempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  sleep: realSleep,
  random: Math.random,
};

export const isRetryableError = (error: unknown): boolean => error instanceof CloudError && error.retryable;

/** Delay before retry number `retry` (1-based): uniform in [0, min(max, base · 2^(retry−1))]. */
export function backoffDelayMs(
  retry: number,
  options: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs" | "random">,
) {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(options.random() * ceiling);
}

export async function withRetry<T>(fn: () => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  const settings = { ...DEFAULT_RETRY, ...options };
  const shouldRetry = settings.shouldRetry ?? isRetryableError;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= settings.attempts || !shouldRetry(error)) throw error;
      await settings.sleep(backoffDelayMs(attempt, settings));
    }
  }
}
