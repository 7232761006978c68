/** How every adapter calls an SDK: through the gate, errors made CloudErrors, retryable ones retried. */
import { isDeferred } from "../ports/errors";
import type { CallGate, CallIdentity } from "./callGate";
import { toCloudError } from "./cloudError";
import { isRetryableError, type RetryOptions, withRetry } from "./retry";

export interface CallPolicy {
  gate: CallGate;
  retry: Partial<RetryOptions>;
}

export function cloudCall<T>(policy: CallPolicy, call: CallIdentity, fn: () => Promise<T>): Promise<T> {
  return withRetry(
    async () => {
      try {
        return await policy.gate.run(call, fn);
      } catch (error) {
        throw toCloudError(error, call.service, call.operation);
      }
    },
    {
      shouldRetry: (error) => isRetryableError(error) && !isDeferred(error),
      ...policy.retry,
    },
  );
}
