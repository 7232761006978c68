/**
 * The hub's queues, made by the deployment rather than by hand: the dead-letter queue first, then
 * the heartbeat and apply queues with a dead-letter policy. Idempotent: a queue that exists with the
 * same attributes is left alone; one that exists with others is updated to these.
 */
import type MnsClient from "@alicloud/mns";
import { CloudError, toCloudError } from "../adapters/cloudError";
import { HUB_QUEUES, MAX_RECEIVE_COUNT } from "../messages/queueMessages";

export { HUB_QUEUES, MAX_RECEIVE_COUNT };

export interface QueueSpec {
  name: string;
  attributes: Record<string, string | number>;
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
  ];
}

export type QueueOutcome = "created" | "updated" | "unchanged";

/** Creates each queue, or brings an existing one to these attributes. */
export async function ensureHubQueues(
  client: MnsClient,
): Promise<Array<{ name: string; outcome: QueueOutcome }>> {
  const outcomes: Array<{ name: string; outcome: QueueOutcome }> = [];
  for (const spec of hubQueueSpecs()) {
    try {
      const response = (await client.createQueue(spec.name, spec.attributes)) as { code?: number };
      // MNS answers 201 for a new queue, 204 for an identical existing one.
      outcomes.push({ name: spec.name, outcome: response.code === 204 ? "unchanged" : "created" });
    } catch (error) {
      const cloud = toCloudError(error, "mns", "CreateQueue");
      if (cloud.code !== "QueueAlreadyExist") throw cloud;
      try {
        await client.setQueueAttributes(spec.name, spec.attributes);
      } catch (update) {
        throw update instanceof CloudError ? update : toCloudError(update, "mns", "SetQueueAttributes");
      }
      outcomes.push({ name: spec.name, outcome: "updated" });
    }
  }
  return outcomes;
}
