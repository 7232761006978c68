/**
 * Making the hub's queues and setting their attributes (MNS): the deployment's part
 * (shared/deploy/hubQueues.ts). Sending and receiving messages is the pipeline's QueuePort (queue.ts).
 */
import type { QueueScope } from "./queue";

/** Queue attributes as MNS names them: VisibilityTimeout, MessageRetentionPeriod, DlqPolicy, … */
export type QueueAttributes = Readonly<Record<string, string | number>>;

/**
 * `unchanged`: a queue of that name already exists with these attributes. `exists`: one exists with
 * other attributes, and was left as it is.
 */
export type CreateQueueOutcome = "created" | "unchanged" | "exists";

export interface QueueAdminPort {
  readonly scope: QueueScope;
  /** Creates the queue with these attributes, unless one of that name exists (see the outcome). */
  createQueue(name: string, attributes: QueueAttributes): Promise<CreateQueueOutcome>;
  /** Sets the attributes of an existing queue. */
  setQueueAttributes(name: string, attributes: QueueAttributes): Promise<void>;
}
