/**
 * The hub's queues, made by the deployment rather than by hand: the dead-letter queue first, then
 * the work queues (heartbeat, apply, reconcile) with a dead-letter policy. Idempotent: a queue that exists with the
 * same attributes is left alone; one that exists with others is updated to these.
 */
import { HUB_QUEUES, MAX_RECEIVE_COUNT } from "../messages/queueMessages";
import type { QueueAdminPort, QueueAttributes } from "../ports/queueAdmin";

export { HUB_QUEUES, MAX_RECEIVE_COUNT };

export interface QueueSpec {
  name: string;
  attributes: QueueAttributes;
}

/** What the deployment creates, in order (the dead-letter target must exist first). */
export function hubQueueSpecs(): QueueSpec[] {
  const base = {
    // Long enough for one function run to finish a batch before it would be redelivered.
    VisibilityTimeout: 300,
    MessageRetentionPeriod: 345_600,
    MaximumMessageSize: 65_536,
    PollingWaitSeconds: 0,
  };
  const dlqPolicy = JSON.stringify({
    Enabled: true,
    DeadLetterTargetQueue: HUB_QUEUES.deadLetter,
    MaxReceiveCount: MAX_RECEIVE_COUNT,
  });
  return [
    // Dead letters are read by people: keep them the longest MNS allows (7 days).
    { name: HUB_QUEUES.deadLetter, attributes: { ...base, MessageRetentionPeriod: 604_800 } },
    { name: HUB_QUEUES.heartbeat, attributes: { ...base, DlqPolicy: dlqPolicy } },
    { name: HUB_QUEUES.apply, attributes: { ...base, DlqPolicy: dlqPolicy } },
    // A shard's run may take the reconcile function's whole timeout (600 s, s.yaml).
    { name: HUB_QUEUES.reconcile, attributes: { ...base, VisibilityTimeout: 600, DlqPolicy: dlqPolicy } },
  ];
}

export type QueueOutcome = "created" | "updated" | "unchanged";

/** Creates each queue, or brings an existing one to these attributes. */
export async function ensureHubQueues(
  admin: QueueAdminPort,
): Promise<Array<{ name: string; outcome: QueueOutcome }>> {
  const outcomes: Array<{ name: string; outcome: QueueOutcome }> = [];
  for (const spec of hubQueueSpecs()) {
    const created = await admin.createQueue(spec.name, spec.attributes);
    if (created === "exists") {
      await admin.setQueueAttributes(spec.name, spec.attributes);
      outcomes.push({ name: spec.name, outcome: "updated" });
    } else {
      outcomes.push({ name: spec.name, outcome: created });
    }
  }
  return outcomes;
}
