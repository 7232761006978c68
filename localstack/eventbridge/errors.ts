/** Base error of the local EventBridge. */
export class EventBridgeError extends Error {
  override name = "EventBridgeError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An event pattern that EventBridge would refuse; `path` points at the bad part of the pattern. */
export class EventPatternError extends EventBridgeError {
  override name = "EventPatternError";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`invalid event pattern at ${path || "(root)"}: ${reason}`);
  }
}

/** A rule or bus that does not exist, or a target refused by the receiving account. */
export class EventBusNotFoundError extends EventBridgeError {
  override name = "EventBusNotFoundError";
}

export class CrossAccountDeliveryDeniedError extends EventBridgeError {
  override name = "CrossAccountDeliveryDeniedError";
}

/** A bus-to-bus route the configured reading of Alibaba's routing limits forbids (never retried). */
export class BusRoutingRefusedError extends EventBridgeError {
  override name = "BusRoutingRefusedError";
}
