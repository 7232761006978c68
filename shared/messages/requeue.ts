/**
 * What a queue consumer does with a message whose work failed, decided here rather than left to
 * the queue. Leaving the whole batch for redelivery made every message of it pay for one failed
 * route, counted our own throttle pauses as failures, and relied on a dead-letter policy that the
 * classic MNS API may not honour (README "Dead letters"). A consumer instead sends the failed
 * message again, delayed, with its count of failed attempts, and dead-letters it itself at the
 * limit; the batch is then done and deleted.
 */
import { isDeferred, isRetryable } from "../ports/errors";
import { MAX_RECEIVE_COUNT } from "./queueMessages";

/**
 * How a failure is classed:
 * - `deferred`: the work was not tried (the invocation's time ran out, or the throttle gate's
 *   pause would outlast it): not a failure, no count.
 * - `retryable`: throttling, 5xx, a lost answer past the adapters' own retries.
 * - `permanent`: a retry cannot help (a refused role, a missing project, a bug).
 */
export type FailureKind = "deferred" | "retryable" | "permanent";

export function failureKind(error: unknown): FailureKind {
  if (isDeferred(error)) return "deferred";
  return isRetryable(error) ? "retryable" : "permanent";
}

/** A message whose work went through starts its count of failed tries again. */
export function withoutFailures<T extends { failedAttempts?: number | undefined }>(
  message: T,
): Omit<T, "failedAttempts"> {
  const { failedAttempts: _, ...rest } = message;
  return rest;
}

export type AfterFailure =
  | { kind: "requeue"; failedAttempts: number; delaySeconds: number }
  | { kind: "dead-letter"; reason: "RetriesExhausted" | "PermanentFailure" };

/** Deferred work comes back after this long: a throttle pause is at most about a minute. */
export const DEFERRED_DELAY_SECONDS = 60;

/** The queue's own limit, so the two agree on how many tries a message gets. */
export const MAX_FAILED_ATTEMPTS = MAX_RECEIVE_COUNT;

/** 30 s, 60 s, 120 s, … at most 15 minutes: about an hour and a half over the ten tries. */
export function retryDelaySeconds(failedAttempts: number): number {
  return Math.min(30 * 2 ** Math.max(failedAttempts - 1, 0), 900);
}

/** `failedAttempts`: how many tries of this message had failed before this one. */
export function afterFailure(kind: FailureKind, failedAttempts: number): AfterFailure {
  if (kind === "deferred") return { kind: "requeue", failedAttempts, delaySeconds: DEFERRED_DELAY_SECONDS };
  if (kind === "permanent") return { kind: "dead-letter", reason: "PermanentFailure" };
  const failed = failedAttempts + 1;
  if (failed >= MAX_FAILED_ATTEMPTS) return { kind: "dead-letter", reason: "RetriesExhausted" };
  return { kind: "requeue", failedAttempts: failed, delaySeconds: retryDelaySeconds(failed) };
}

/**
 * A message received more often than the queue's dead-letter policy allows: the policy did not
 * take (or the queue was made without it). The consumer moves it to the dead-letter queue itself.
 */
export function deliveredTooOften(dequeueCount: number): boolean {
  return dequeueCount > MAX_RECEIVE_COUNT;
}
