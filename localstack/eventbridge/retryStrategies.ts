import type { RetryStrategy } from "./types";

/**
 * EventBridge's push retry strategies as the fc3 trigger docs state them: BACKOFF_RETRY retries 3
 * times, 10–20 s apart (random); EXPONENTIAL_DECAY_RETRY retries 176 times, 1, 2, 4 … 512 s and
 * then 512 s, for about a day.
 */
export function backoffRetry(random: () => number = Math.random): RetryStrategy {
  return { name: "BACKOFF_RETRY", maxRetries: 3, delayMs: () => 10_000 + Math.floor(random() * 10_000) };
}

export function exponentialDecayRetry(): RetryStrategy {
  return {
    name: "EXPONENTIAL_DECAY_RETRY",
    maxRetries: 176,
    delayMs: (attempt) => Math.min(512, 2 ** Math.max(0, attempt - 1)) * 1000,
  };
}

/** No retries at all (tests, and FC's `errorsTolerance: ALL` style of dropping). */
export const noRetry: RetryStrategy = { name: "NONE", maxRetries: 0, delayMs: () => 0 };

/** A strategy from its fc3 name; undefined names fall back to BACKOFF_RETRY, EventBridge's default. */
export function retryStrategyByName(
  name: string | undefined,
  maxRetries?: number,
  random?: () => number,
): RetryStrategy {
  const base = name === "EXPONENTIAL_DECAY_RETRY" ? exponentialDecayRetry() : backoffRetry(random);
  return maxRetries === undefined ? base : { ...base, maxRetries };
}
