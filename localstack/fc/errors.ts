/** Base error of the local Function Compute runtime. */
export class LocalFcError extends Error {
  override name = "LocalFcError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A timer trigger's `cronExpression` that FC would refuse. */
export class CronExpressionError extends LocalFcError {
  override name = "CronExpressionError";
}

/** An s.yaml that cannot be read, substituted or validated; `path` points at the bad value. */
export class ServerlessSpecError extends LocalFcError {
  override name = "ServerlessSpecError";
  constructor(
    readonly file: string,
    readonly path: string,
    reason: string,
  ) {
    super(`${file}${path ? ` (${path})` : ""}: ${reason}`);
  }
}

/** A function's handler module or export that cannot be loaded. */
export class HandlerLoadError extends LocalFcError {
  override name = "HandlerLoadError";
}

/** The handler ran longer than the function's `timeout`. */
export class FunctionTimeoutError extends LocalFcError {
  override name = "FunctionTimeoutError";
}

/** An endpoints file that does not say what `invoke` needs. */
export class EndpointsFileError extends LocalFcError {
  override name = "EndpointsFileError";
}
