/**
 * What travels on the pipeline's queues: identities, never decisions. A consumer re-observes the
 * instances named here before it acts, so a stale, duplicated or replayed message can at worst
 * cause a no-op. Every field is validated on the way in: a message is outside data like an event.
 */
import { z } from "zod";
import { ACCOUNT_UID, INSTANCE_ID, INVOKE_ID, REGION_ID, ROUTE_NAME } from "../config/patterns";
import { OPERATING_SYSTEMS } from "../config/routesSchema";

/** The hub's queues: the deployment makes them (`logtail-xacct queues`), the functions use them. */
export const HUB_QUEUES = {
  heartbeat: "logtail-xacct-heartbeat",
  apply: "logtail-xacct-apply",
  /** One message per source account and period: reconcile's shards, apart from the apply work. */
  reconcile: "logtail-xacct-reconcile",
  deadLetter: "logtail-xacct-dead-letter",
} as const;

/** The queues whose messages are work (each has a consumer and dead-letters into deadLetter). */
export const WORK_QUEUES = [HUB_QUEUES.heartbeat, HUB_QUEUES.apply, HUB_QUEUES.reconcile] as const;

/** After this many deliveries a work queue moves a message to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 10;

/** MNS message bodies are at most 64 KB; 100 ids of ≤ 32 characters stay far below it. */
export const MAX_INSTANCES_PER_MESSAGE = 100;

/** What a producer packs into one message at most, leaving room below MNS's 64 KB for the rest. */
export const MAX_MESSAGE_BYTES = 60 * 1024;

const identity = {
  accountId: z.string().regex(ACCOUNT_UID, { error: "must be a 16-digit account UID" }),
  region: z.string().regex(REGION_ID, { error: "must be a region id" }),
  route: z.string().regex(ROUTE_NAME, { error: "must be a route name" }),
  instanceIds: z
    .array(z.string().regex(INSTANCE_ID, { error: "must be an ECS instance id" }))
    .min(1)
    .max(MAX_INSTANCES_PER_MESSAGE),
};

/**
 * Set on a message its consumer sent again after its work failed (messages/requeue.ts): how many
 * tries had failed. The consumer dead-letters it itself at the queue's limit.
 */
const failedAttempts = z.number().int().min(1).max(MAX_RECEIVE_COUNT).optional();

/** Instances authorized on their hosts, waiting for their first heartbeat. */
export const awaitHeartbeatMessage = z.strictObject({
  v: z.literal(1),
  type: z.literal("await-heartbeat"),
  ...identity,
  /** When the host script ran (ms): the route's heartbeat timeout counts from here. */
  authorizedAt: z.number().int().nonnegative(),
  /** How many checks came before this one (drives the backoff). */
  checks: z.number().int().nonnegative().max(10_000),
  /**
   * When the heartbeat was first seen and apply was asked to bind the config (ms): from then on
   * the check waits for the hosts' lines, and the route's delivery timeout counts from here.
   */
  heartbeatSeenAt: z.number().int().nonnegative().optional(),
  failedAttempts,
});

/**
 * Hosts whose authorize or revoke command was still running when authorize stopped waiting: a
 * slow host is not a failed one. The heartbeat step reads the invocation's results later.
 */
export const checkCommandMessage = z.strictObject({
  v: z.literal(1),
  type: z.literal("check-command"),
  ...identity,
  invokeId: z.string().regex(INVOKE_ID, { error: "must be a Cloud Assistant invoke id" }),
  /**
   * Which host script action the invocation ran; `inspect`: the look at the files of a host that
   * heartbeats and delivered nothing (its result decides the host's status).
   */
  action: z.enum(["authorize", "revoke", "inspect"]),
  /**
   * For `inspect`, what it looks for: why a host never heartbeat (`heartbeat`), or why a host that
   * heartbeats delivers no line (`lines`, the default).
   */
  inspectFor: z.enum(["heartbeat", "lines"]).optional(),
  /** For `inspect`: when the config was bound (Unix seconds), which "changed since" counts from. */
  boundAt: z.number().int().nonnegative().optional(),
  /** When the command was sent (ms): a result still missing long after it is a failure. */
  sentAt: z.number().int().nonnegative(),
  checks: z.number().int().nonnegative().max(10_000),
  failedAttempts,
});

/** Instances that heartbeat: apply the route's config to them and check the cutover. */
export const applyMessage = z.strictObject({
  v: z.literal(1),
  type: z.literal("apply"),
  ...identity,
  /** Set on an apply sent again to wait for the handover: how many times so far. */
  handoverChecks: z.number().int().nonnegative().max(10_000).optional(),
  failedAttempts,
});

/** A route's copy job in a source account: look at it again until it ends, then report how. */
export const watchCopyJobMessage = z.strictObject({
  v: z.literal(1),
  type: z.literal("watch-copy-job"),
  /** The source account and the region of its project. */
  accountId: identity.accountId,
  region: identity.region,
  route: identity.route,
  checks: z.number().int().nonnegative().max(10_000),
  failedAttempts,
});

/** One piece of host work as reconcile planned it: the identities and the route names, no command. */
const hostActionRequest = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("authorize"),
    route: identity.route,
    os: z.enum(OPERATING_SYSTEMS),
    instanceIds: identity.instanceIds,
  }),
  z.strictObject({
    kind: z.literal("revoke"),
    routes: z.array(identity.route).min(1).max(1000),
    offboards: z.boolean(),
    os: z.enum(OPERATING_SYSTEMS),
    instanceIds: identity.instanceIds,
  }),
]);

/**
 * Host commands reconcile planned for one account and region, at most one RunCommand's worth of
 * instances: the consumer re-observes them, runs what still applies and writes the statuses, as
 * authorize does for an event. Reconcile hands them out instead of running them itself, so its
 * run does not grow with how many hosts need a command (a catch-up after lost events).
 */
export const hostWorkMessage = z
  .strictObject({
    v: z.literal(1),
    type: z.literal("host-work"),
    accountId: identity.accountId,
    region: identity.region,
    requests: z.array(hostActionRequest).min(1).max(MAX_INSTANCES_PER_MESSAGE),
    failedAttempts,
  })
  .refine(
    (message) => new Set(message.requests.flatMap((r) => r.instanceIds)).size <= MAX_INSTANCES_PER_MESSAGE,
    { error: `names more than ${MAX_INSTANCES_PER_MESSAGE} instances`, path: ["requests"] },
  );

/** A machine group member as ListMachines reports it (messages and stored listings carry them). */
export const machineRecord = z.strictObject({
  machineUniqueId: z.string().max(256),
  userdefinedId: z.string().max(4096),
  lastHeartbeatTime: z.number(),
  ip: z.string().max(64),
  hostId: z.string().max(256).optional(),
});

/** At most this many group members to trace travel in one account's reconcile message. */
export const MAX_TRACED_MEMBERS = 200;

/**
 * One source account's share of a reconcile period: the worker observes that account's instances
 * and the routes it sources, plans and acts for them alone. `trace`: members of those routes' groups
 * that no account's census accounted for last period, for the worker to look for among its
 * account's untagged instances (a host whose tags were all removed).
 */
export const reconcileAccountMessage = z.strictObject({
  v: z.literal(1),
  type: z.literal("reconcile-account"),
  accountId: identity.accountId,
  trace: z
    .array(
      z.strictObject({
        route: identity.route,
        os: z.enum(OPERATING_SYSTEMS),
        machine: machineRecord,
      }),
    )
    .max(MAX_TRACED_MEMBERS)
    .optional(),
  failedAttempts,
});

export const queueMessage = z.discriminatedUnion("type", [
  reconcileAccountMessage,
  awaitHeartbeatMessage,
  checkCommandMessage,
  applyMessage,
  watchCopyJobMessage,
  hostWorkMessage,
]);

export type AwaitHeartbeatMessage = z.infer<typeof awaitHeartbeatMessage>;
export type CheckCommandMessage = z.infer<typeof checkCommandMessage>;
export type ApplyMessage = z.infer<typeof applyMessage>;

/**
 * The apply messages of one delivered batch as the messages to act on: those for the same route,
 * account and region merged (one look at the destination and one cutover check per group instead
 * of one per message), each still a valid message of at most MAX_INSTANCES_PER_MESSAGE instances.
 * A merge past the limit was re-sent while the handover waited, failed validation every time and
 * dead-lettered the whole batch. A merged group keeps the highest handover check count and failed
 * attempt count, so a chain of checks or retries ends whatever joins it.
 */
export function mergeApplyMessages(messages: readonly ApplyMessage[]): ApplyMessage[] {
  const highest = (a: number | undefined, b: number | undefined) =>
    a === undefined ? b : b === undefined ? a : Math.max(a, b);
  const groups = new Map<
    string,
    { first: ApplyMessage; ids: Set<string>; checks: number | undefined; failed: number | undefined }
  >();
  for (const message of messages) {
    const key = `${message.accountId}|${message.region}|${message.route}`;
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, {
        first: message,
        ids: new Set(message.instanceIds),
        checks: message.handoverChecks,
        failed: message.failedAttempts,
      });
      continue;
    }
    for (const id of message.instanceIds) group.ids.add(id);
    group.checks = highest(group.checks, message.handoverChecks);
    group.failed = highest(group.failed, message.failedAttempts);
  }
  const merged: ApplyMessage[] = [];
  for (const { first, ids, checks, failed } of groups.values()) {
    const { handoverChecks: _checks, failedAttempts: _failed, ...identity } = first;
    const all = [...ids];
    for (let start = 0; start < all.length; start += MAX_INSTANCES_PER_MESSAGE) {
      merged.push({
        ...identity,
        instanceIds: all.slice(start, start + MAX_INSTANCES_PER_MESSAGE),
        ...(checks === undefined ? {} : { handoverChecks: checks }),
        ...(failed === undefined ? {} : { failedAttempts: failed }),
      });
    }
  }
  return merged;
}
export type WatchCopyJobMessage = z.infer<typeof watchCopyJobMessage>;
export type HostWorkMessage = z.infer<typeof hostWorkMessage>;
export type ReconcileAccountMessage = z.infer<typeof reconcileAccountMessage>;
export type QueueMessage = z.infer<typeof queueMessage>;

export function encodeMessage(message: QueueMessage): string {
  return JSON.stringify(queueMessage.parse(message));
}

export type DecodedMessage = { ok: true; message: QueueMessage } | { ok: false; reason: string };

/** Never throws: a malformed body gets a reason naming the field, for the dead-letter record. */
export function decodeMessage(body: string): DecodedMessage {
  if (body.length > 64 * 1024)
    return { ok: false, reason: `the message is ${body.length} bytes, over 64 KB` };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: "the message is not JSON" };
  }
  const parsed = queueMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join(".") || "(message)";
    return { ok: false, reason: `${where}: ${issue?.message ?? "invalid"}` };
  }
  return { ok: true, message: parsed.data };
}
