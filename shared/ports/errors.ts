/**
 * What callers of a port may rely on about its errors: adapters throw errors that say whether a
 * retry can help (throttling, 5xx, timeouts) or not (a missing project, a refused role).
 */
export function isRetryable(error: unknown): boolean {
  return typeof error === "object" && error !== null && "retryable" in error && error.retryable === true;
}

/**
 * The code of a call refused by the caller's own throttle gate because its wait would outlast the
 * invocation: not a failure of the cloud, the work only has to come back later.
 */
export const DEFERRED_CODE = "Throttling.Deferred";

export function isDeferred(error: unknown): boolean {
  return errorCode(error) === DEFERRED_CODE;
}

/** The service's error code, when the error carries one. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;
}

/**
 * SLS's answer to a query on a column without analytics (no index key, or no `doc_value`):
 * "Column '<name>' cannot be resolved".
 */
export function columnNotAnalysable(error: unknown, column: string): boolean {
  return (
    error instanceof Error &&
    error.message.includes(`'${column}'`) &&
    error.message.includes("cannot be resolved")
  );
}

/** What went wrong, in one string, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A read that finds its object or a parent gone (SLS answers `…NotExist`) counts as "not there".
 * Any other failure — an expired token, a refused role, a 5xx past its retries — stops the look:
 * taken for "missing", it would demote collecting instances and recreate what exists.
 */
export async function orMissing<T>(read: () => Promise<T>, missing: T): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (/NotExist$/.test(errorCode(error) ?? "")) return missing;
    throw error;
  }
}
