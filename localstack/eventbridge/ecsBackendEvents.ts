/**
 * Wires the ECS emulator's change listeners to the buses: every TagResources / UntagResources call
 * and every status transition becomes an event on the account's `default` bus. Structural types
 * (the shape of `EcsBackend.onTagChange` / `onStateChange`), so neither side imports the other.
 */
import { publishEcsChange } from "./ecsEvents";
import type { LocalEventBridge } from "./localEventBridge";

export interface EcsTagCall {
  operation: "TagResources" | "UntagResources";
  accountId: string;
  regionId: string;
  callerArn: string;
  at: number;
  resourceIds: readonly string[];
  request: { tags?: Readonly<Record<string, string>>; tagKeys?: readonly string[]; all?: boolean };
  changes: ReadonlyArray<{
    before: Readonly<Record<string, string>>;
    after: Readonly<Record<string, string>>;
  }>;
}

export interface EcsStateTransition {
  accountId: string;
  regionId: string;
  instanceId: string;
  current: string;
  at: number;
}

export interface EcsChangeSource {
  onTagChange(listener: (event: EcsTagCall) => void): () => void;
  onStateChange(listener: (event: EcsStateTransition) => void): () => void;
}

/** Subscribes the bridge to the backend; returns the unsubscribe function. */
export function connectEcsEvents(source: EcsChangeSource, bridge: LocalEventBridge): () => void {
  const offTags = source.onTagChange((call) => {
    publishEcsChange(
      bridge,
      {
        kind: "tags",
        accountId: call.accountId,
        region: call.regionId,
        instanceIds: call.resourceIds,
        eventName: call.operation,
        ...(call.operation === "TagResources"
          ? { tags: call.request.tags ?? {} }
          : { tagKeys: untaggedKeys(call) }),
        caller: { type: callerType(call.callerArn) },
      },
      { now: call.at },
    );
  });
  const offStates = source.onStateChange((transition) => {
    publishEcsChange(
      bridge,
      {
        kind: "state",
        accountId: transition.accountId,
        region: transition.regionId,
        instanceId: transition.instanceId,
        state: transition.current,
      },
      { now: transition.at },
    );
  });
  return () => {
    offTags();
    offStates();
  };
}

/** `UntagResources` with `All=true` names no keys: the keys it removed stand in for them. */
function untaggedKeys(call: EcsTagCall): string[] {
  if (call.request.tagKeys !== undefined && call.request.tagKeys.length > 0) return [...call.request.tagKeys];
  const removed = new Set<string>();
  for (const change of call.changes) {
    for (const key of Object.keys(change.before)) if (!(key in change.after)) removed.add(key);
  }
  return [...removed];
}

/** ActionTrail's `userIdentity.type` for a caller ARN. */
function callerType(arn: string): string {
  if (arn.endsWith(":root")) return "root-account";
  if (arn.includes(":assumed-role/")) return "assumed-role";
  return "ram-user";
}
