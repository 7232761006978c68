/**
 * The events ECS puts on an account's `default` bus, built from a plain change record so the ECS
 * emulator stays ignorant of EventBridge. Alibaba documents no dedicated tag-change event: a tag
 * call arrives as an ActionTrail API-call event (`ecs:ActionTrail:ApiCall`, one per call, naming
 * every instance in `referencedResources`); a start or stop as `ecs:Instance:StateChange` with
 * `data {resourceId, resourceType: "ALIYUN::ECS::Instance", state}`.
 */
import { randomUUID } from "node:crypto";
import type { LocalEventBridge } from "./localEventBridge";
import type { EventInput } from "./types";

export type EcsInstanceState = "Pending" | "Starting" | "Running" | "Stopping" | "Stopped" | (string & {});

export type EcsChange =
  | {
      kind: "tags";
      accountId: string;
      region: string;
      instanceIds: readonly string[];
      eventName: "TagResources" | "UntagResources";
      /** TagResources: the tags set (ActionTrail carries only the new values). */
      tags?: Readonly<Record<string, string>>;
      /** UntagResources: the keys removed. */
      tagKeys?: readonly string[];
      /** Who called: defaults to a RAM user of the same account. */
      caller?: { type: string; userName?: string; principalId?: string };
    }
  | { kind: "state"; accountId: string; region: string; instanceId: string; state: EcsInstanceState };

export interface BuildOptions {
  /** Event time (epoch ms). */
  now: number;
  newId?: () => string;
}

export function buildEcsEvent(change: EcsChange, options: BuildOptions): EventInput {
  return change.kind === "tags" ? buildTagEvent(change, options) : buildStateEvent(change, options);
}

function buildTagEvent(change: Extract<EcsChange, { kind: "tags" }>, options: BuildOptions): EventInput {
  const id = (options.newId ?? randomUUID)();
  const time = isoSeconds(options.now);
  const requestParameters: Record<string, string> = { RegionId: change.region, ResourceType: "instance" };
  change.instanceIds.forEach((instanceId, index) => {
    requestParameters[`ResourceId.${index + 1}`] = instanceId;
  });
  if (change.eventName === "TagResources") {
    Object.entries(change.tags ?? {}).forEach(([key, value], index) => {
      requestParameters[`Tag.${index + 1}.Key`] = key;
      requestParameters[`Tag.${index + 1}.Value`] = value;
    });
  } else {
    (change.tagKeys ?? []).forEach((key, index) => {
      requestParameters[`TagKey.${index + 1}`] = key;
    });
  }
  const first = change.instanceIds[0] ?? "";
  return {
    id,
    source: "acs.ecs",
    type: "ecs:ActionTrail:ApiCall",
    subject: `acs:ecs:${change.region}:${change.accountId}:instance/${first}`,
    time,
    datacontenttype: "application/json;charset=utf-8",
    data: {
      eventId: id,
      eventVersion: 1,
      eventName: change.eventName,
      eventType: "ApiCall",
      eventRW: "Write",
      eventTime: time,
      serviceName: "Ecs",
      acsRegion: change.region,
      requestId: randomUUID().toUpperCase(),
      requestParameters,
      referencedResources: { "ACS::ECS::Instance": [...change.instanceIds] },
      userIdentity: {
        accountId: change.accountId,
        type: change.caller?.type ?? "ram-user",
        ...(change.caller?.userName ? { userName: change.caller.userName } : {}),
        ...(change.caller?.principalId ? { principalId: change.caller.principalId } : {}),
      },
    },
  };
}

function buildStateEvent(change: Extract<EcsChange, { kind: "state" }>, options: BuildOptions): EventInput {
  return {
    id: (options.newId ?? randomUUID)(),
    source: "acs.ecs",
    type: "ecs:Instance:StateChange",
    subject: `acs:ecs:${change.region}:${change.accountId}:instance/${change.instanceId}`,
    time: isoSeconds(options.now),
    datacontenttype: "application/json;charset=utf-8",
    data: { resourceId: change.instanceId, resourceType: "ALIYUN::ECS::Instance", state: change.state },
  };
}

/** Publishes one ECS change on its account's default bus; returns the event id. */
export function publishEcsChange(
  bridge: LocalEventBridge,
  change: EcsChange,
  options: BuildOptions,
): string | undefined {
  const event = buildEcsEvent(change, options);
  return bridge.putEvents({ accountId: change.accountId, region: change.region, busName: "default" }, [
    event,
  ])[0];
}

/** The hook the ECS emulator calls on tag and state changes: `(change) => void`. */
export function ecsChangeHook(
  bridge: LocalEventBridge,
  clock: { now(): number },
): (change: EcsChange) => void {
  return (change) => {
    publishEcsChange(bridge, change, { now: clock.now() });
  };
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
