/**
 * What the authorize function is woken by, read tolerantly: ECS tag changes arrive as ActionTrail
 * API-call events (no dedicated tag event is documented) or as Cloud Config change notifications;
 * starts and stops as `ecs:Instance:StateChange`. Whatever the shape, an event only says *which
 * instances to look at*: the consumer re-reads their tags before it acts, so the tag values an
 * event carries are used for one thing only — to ignore events that touch nothing but the status tag.
 */
import { ACCOUNT_UID, INSTANCE_ID, REGION_ID } from "../config/patterns";
import { isJsonObject as isObject, type JsonObject as Json } from "../util/json";

export type EventSource = "tag-change" | "state-change" | "config-change";

export interface InstancesToObserve {
  kind: "observe";
  source: EventSource;
  /** `source` + `id` of the envelope: duplicates share it. */
  dedupeKey: string;
  accountId: string;
  region: string;
  /** Which part of the event named the account: the payload, unless the event was never forwarded. */
  attributedBy: Attribution;
  instanceIds: string[];
  /** For state changes: the state the event reports (`Running`, `Stopped`, …). */
  state?: string;
  /** Instance ids the event named that are not instance ids (reported, never used). */
  rejectedIds: number;
}

export interface IgnoredEvent {
  kind: "ignored";
  reason: string;
  dedupeKey?: string;
}

export interface RejectedEvent {
  kind: "rejected";
  reason: string;
  dedupeKey?: string;
}

export type ParsedInstanceEvent = InstancesToObserve | IgnoredEvent | RejectedEvent;

export interface EventKeys {
  /** The route tag key: a tag event touching only other keys than this one… */
  tagKey: string;
  /** …and in particular only this one (our own status writes), starts no work. */
  statusTagKey: string;
}

const TAG_EVENT_NAMES = new Set(["TagResources", "UntagResources", "AddTags", "RemoveTags"]);

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** Parses one EventBridge event (already JSON-decoded). Never throws. */
export function parseInstanceEvent(event: unknown, keys: EventKeys): ParsedInstanceEvent {
  if (!isObject(event)) return { kind: "rejected", reason: "the event is not a JSON object" };
  const id = str(event.id);
  const source = str(event.source);
  const type = str(event.type);
  const dedupeKey = id !== undefined && source !== undefined ? `${source}/${id}` : undefined;
  if (type === undefined) return { kind: "rejected", reason: "the event has no type", dedupeKey };
  const data = event.data;
  if (!isObject(data)) return { kind: "rejected", reason: `the ${type} event has no data object`, dedupeKey };
  if (dedupeKey === undefined)
    return { kind: "rejected", reason: `the ${type} event has no id or source`, dedupeKey };

  if (type.endsWith(":ActionTrail:ApiCall")) return parseActionTrail(event, data, keys, dedupeKey);
  if (type === "ecs:Instance:StateChange") return parseStateChange(event, data, dedupeKey);
  if (type === "config:Config:ConfigurationItemChangeNotification")
    return parseConfigChange(event, data, keys, dedupeKey);
  return { kind: "ignored", reason: `events of type ${type} are not for logtail-xacct`, dedupeKey };
}

/** Where an event's account and region were read from (logged: it says how far the envelope was trusted). */
export type Attribution = "resource-arn" | "caller-identity" | "original-account" | "envelope";

/** `acs:ecs:<region>:<account>:instance/<id>`: the instance's own name, which no forwarding rewrites. */
const INSTANCE_ARN = /^acs:ecs:([a-z0-9-]+):(\d+):instance\/[^/]+$/;

/**
 * Whose instances, and in which region, read from the event's own payload first. The envelope
 * (`aliyunaccountid`, `aliyunregionid`) names the bus that holds the event: after forwarding to the
 * hub's bus that is the hub, in the hub's region, so it is used only for an event that was not
 * forwarded. Whether forwarding keeps `aliyunoriginalaccountid` is undocumented: it is a fallback and,
 * when present, must agree with the payload.
 */
function accountAndRegion(
  event: Json,
  data: Json,
): { accountId: string; region: string; attributedBy: Attribution } | { error: string } {
  const identity = isObject(data.userIdentity) ? data.userIdentity : {};
  const arn = INSTANCE_ARN.exec(str(event.subject) ?? str(data.resourceArn) ?? "");
  const original = str(event.aliyunoriginalaccountid);
  const busName = str(event.aliyuneventbusname);
  const forwarded = original !== undefined || (busName !== undefined && busName !== "default");
  const envelope = forwarded
    ? {}
    : { accountId: str(event.aliyunaccountid), region: str(event.aliyunregionid) };

  const candidates: Array<[Attribution, string | undefined]> = [
    ["resource-arn", arn?.[2]],
    ["caller-identity", str(identity.accountId)],
    ["original-account", original],
    ["envelope", envelope.accountId],
  ];
  const found = candidates.find(([, value]) => value !== undefined);
  if (found === undefined || found[1] === undefined || !ACCOUNT_UID.test(found[1])) {
    return {
      error: forwarded
        ? "the forwarded event names no valid account UID in its payload (resource ARN or caller identity)"
        : "the event names no valid account UID",
    };
  }
  const [attributedBy, accountId] = found;
  if (original !== undefined && original !== accountId) {
    return {
      error: `the event names resources of account ${accountId} but was sent by account ${original}`,
    };
  }
  const region = arn?.[1] ?? str(data.acsRegion) ?? str(data.regionId) ?? envelope.region;
  if (region === undefined || !REGION_ID.test(region)) {
    return {
      error: forwarded
        ? "the forwarded event names no valid region in its payload (resource ARN or acsRegion)"
        : "the event names no valid region",
    };
  }
  return { accountId, region, attributedBy };
}

function observe(
  event: Json,
  data: Json,
  source: EventSource,
  dedupeKey: string,
  candidates: unknown[],
  state?: string,
): ParsedInstanceEvent {
  const where = accountAndRegion(event, data);
  if ("error" in where) return { kind: "rejected", reason: where.error, dedupeKey };
  const strings = candidates.filter((c): c is string => typeof c === "string");
  const valid = [...new Set(strings.filter((c) => INSTANCE_ID.test(c)))];
  const rejectedIds = candidates.length - strings.filter((c) => INSTANCE_ID.test(c)).length;
  if (valid.length === 0) {
    return { kind: "rejected", reason: "the event names no valid ECS instance id", dedupeKey };
  }
  return {
    kind: "observe",
    source,
    dedupeKey,
    ...where,
    instanceIds: valid,
    rejectedIds,
    ...(state ? { state } : {}),
  };
}

function parseActionTrail(event: Json, data: Json, keys: EventKeys, dedupeKey: string): ParsedInstanceEvent {
  const eventName = str(data.eventName);
  if (eventName === undefined || !TAG_EVENT_NAMES.has(eventName)) {
    return {
      kind: "ignored",
      reason: `ActionTrail ${eventName ?? "(unnamed)"} is not a tag change`,
      dedupeKey,
    };
  }
  if (data.errorCode !== undefined && data.errorCode !== null && data.errorCode !== "") {
    return { kind: "ignored", reason: `the ${eventName} call failed, nothing changed`, dedupeKey };
  }
  const params = isObject(data.requestParameters) ? data.requestParameters : {};
  const resourceType = str(params.ResourceType) ?? str(params.resourceType);
  if (resourceType !== undefined && resourceType.toLowerCase() !== "instance") {
    return { kind: "ignored", reason: `${eventName} on ${resourceType} resources, not instances`, dedupeKey };
  }
  const touched = tagKeysTouched(params);
  // Our own status writes come back as tag events: without this, every status write would
  // start another round of work on the instance.
  if (touched.length > 0 && touched.every((key) => key === keys.statusTagKey)) {
    return { kind: "ignored", reason: `${eventName} touched only the status tag`, dedupeKey };
  }
  if (touched.length > 0 && !touched.includes(keys.tagKey)) {
    return { kind: "ignored", reason: `${eventName} did not touch ${keys.tagKey}`, dedupeKey };
  }
  const referenced = isObject(data.referencedResources)
    ? data.referencedResources["ACS::ECS::Instance"]
    : undefined;
  const candidates = [
    ...listValues(referenced),
    ...indexedValues(params, "ResourceId"),
    ...listValues(params.InstanceId),
  ];
  return observe(event, data, "tag-change", dedupeKey, candidates);
}

function parseStateChange(event: Json, data: Json, dedupeKey: string): ParsedInstanceEvent {
  const content = isObject(data.content) ? data.content : data;
  const state = str(content.state);
  return observe(event, data, "state-change", dedupeKey, [content.resourceId ?? content.instanceId], state);
}

function parseConfigChange(event: Json, data: Json, keys: EventKeys, dedupeKey: string): ParsedInstanceEvent {
  const resourceType = str(data.resourceType);
  if (resourceType !== undefined && resourceType !== "ACS::ECS::Instance") {
    return {
      kind: "ignored",
      reason: `a configuration change of ${resourceType}, not an instance`,
      dedupeKey,
    };
  }
  // `configuration` is a JSON string; its tags carry only the key we care about or not.
  const configuration = parseJsonString(data.configuration);
  const tags =
    isObject(configuration) && isObject(configuration.Tags) ? listValues(configuration.Tags.Tag) : [];
  const hasRouteTag = tags.some((tag) => isObject(tag) && tag.TagKey === keys.tagKey);
  const changedTagsOnly =
    str(data.changeType) === "UPDATE" &&
    Array.isArray(data.changedKeys) &&
    data.changedKeys.every((key) => typeof key === "string" && key.startsWith("Tags"));
  if (
    changedTagsOnly &&
    !hasRouteTag &&
    tags.length > 0 &&
    tags.every((tag) => isObject(tag) && tag.TagKey === keys.statusTagKey)
  ) {
    return { kind: "ignored", reason: "the configuration change touched only the status tag", dedupeKey };
  }
  return observe(event, data, "config-change", dedupeKey, [data.resourceId]);
}

/** Tag keys named by a tag call, whichever spelling the parameters use. */
function tagKeysTouched(params: Json): string[] {
  const keys: unknown[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (/^Tag\.\d+\.Key$/.test(name) || /^TagKey\.\d+$/.test(name)) keys.push(value);
  }
  for (const tag of [...listValues(params.Tag), ...listValues(params.Tags)]) {
    if (isObject(tag)) keys.push(tag.Key ?? tag.key ?? tag.TagKey);
  }
  keys.push(...listValues(params.TagKey));
  return keys.filter((key): key is string => typeof key === "string");
}

/** Values of `Name.1`, `Name.2`, … and of `Name` itself (a list, a JSON-array string or a scalar). */
function indexedValues(params: Json, name: string): unknown[] {
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (key.startsWith(`${name}.`) && /^\d+$/.test(key.slice(name.length + 1))) values.push(value);
  }
  values.push(...listValues(params[name]));
  return values;
}

/** A list given as an array, a JSON-array string, or a single value. */
function listValues(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  if (typeof value === "string" && value.trimStart().startsWith("[")) {
    const parsed = parseJsonString(value);
    return Array.isArray(parsed) ? parsed : [value];
  }
  return [value];
}

function parseJsonString(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
