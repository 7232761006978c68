import {
  attributeRanges,
  type DeadLetterPolicy,
  defaultQueueAttributes,
  type MessageView,
  type MnsBackend,
  type QueueAttributes,
  type QueueSummary,
  type SendInput,
} from "./backend";
import { mnsErrors } from "./errors";
import type { MnsOperation } from "./routing";
import { child, childText, node, type XmlElement, type XmlNode } from "./xml";

export interface MnsInput {
  accountId: string;
  region: string;
  queueName: string | undefined;
  query: ReadonlyMap<string, string>;
  headers: Readonly<Record<string, string>>;
  document: XmlElement | undefined;
  /** `http://<host>/queues/<name>` as the client addressed us. */
  queueUrl: (name: string) => string;
}

/** What to send back; the index wraps it with request-id headers. */
export type MnsResult =
  | { status: number; root: string; children: XmlNode[] }
  | { status: number; headers?: Record<string, string> };

type Handler = (backend: MnsBackend, input: MnsInput) => MnsResult | Promise<MnsResult>;

const maxBatch = 16;
const queueNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/;

export const mnsHandlers: Record<MnsOperation, Handler> = {
  CreateQueue: (backend, input) => {
    const name = queueName(input, true);
    const attributes = parseQueueAttributes(input.document, "Queue", defaultQueueAttributes);
    const { created } = backend.createQueue(input.accountId, input.region, name, attributes);
    return created ? { status: 201, headers: { location: input.queueUrl(name) } } : { status: 204 };
  },
  SetQueueAttributes: (backend, input) => {
    const name = queueName(input);
    const current = backend.getQueue(input.accountId, input.region, name).attributes;
    const attributes = parseQueueAttributes(input.document, "Queue", current);
    backend.setQueueAttributes(input.accountId, input.region, name, attributes);
    return { status: 204 };
  },
  GetQueueAttributes: (backend, input) => ({
    status: 200,
    root: "Queue",
    children: queueNodes(backend.getQueue(input.accountId, input.region, queueName(input))),
  }),
  DeleteQueue: (backend, input) => {
    backend.deleteQueue(input.accountId, input.region, queueName(input));
    return { status: 204 };
  },
  ListQueue: (backend, input) => {
    const limit = integerInRange(input.headers["x-mns-ret-number"], "x-mns-ret-number", 1, 1000) ?? 1000;
    const withMeta = input.headers["x-mns-with-meta"] === "true";
    const page = backend.listQueues(input.accountId, input.region, {
      prefix: input.headers["x-mns-prefix"] ?? "",
      marker: input.headers["x-mns-marker"] ?? "",
      limit,
    });
    const queues = page.queues.map((queue) =>
      node("Queue", [node("QueueURL", input.queueUrl(queue.name)), ...(withMeta ? queueNodes(queue) : [])]),
    );
    const marker = page.nextMarker === undefined ? [] : [node("NextMarker", page.nextMarker)];
    return { status: 200, root: "Queues", children: [...queues, ...marker] };
  },

  SendMessage: (backend, input) => {
    const message = parseSendInput(requireDocument(input, "Message"));
    const [sent] = backend.send(input.accountId, input.region, queueName(input), [message]);
    if (sent === undefined) throw mnsErrors.internal();
    return { status: 201, root: "Message", children: sentNodes(sent) };
  },
  BatchSendMessage: (backend, input) => {
    const messages = requireDocument(input, "Messages").children.filter((item) => item.name === "Message");
    if (messages.length < 1 || messages.length > maxBatch) {
      throw mnsErrors.invalidArgument(`The count of message list should between 1 and ${maxBatch}.`);
    }
    const sent = backend.send(input.accountId, input.region, queueName(input), messages.map(parseSendInput));
    return { status: 201, root: "Messages", children: sent.map((item) => node("Message", sentNodes(item))) };
  },
  ReceiveMessage: async (backend, input) => {
    const [received] = await backend.receive(
      input.accountId,
      input.region,
      queueName(input),
      1,
      waitSeconds(input),
    );
    if (received === undefined) throw mnsErrors.messageNotExist();
    return { status: 200, root: "Message", children: messageNodes(received) };
  },
  BatchReceiveMessage: async (backend, input) => {
    const received = await backend.receive(
      input.accountId,
      input.region,
      queueName(input),
      batchSize(input),
      waitSeconds(input),
    );
    return {
      status: 200,
      root: "Messages",
      children: received.map((item) => node("Message", messageNodes(item))),
    };
  },
  PeekMessage: (backend, input) => {
    const [peeked] = backend.peek(input.accountId, input.region, queueName(input), 1);
    if (peeked === undefined) throw mnsErrors.messageNotExist();
    return { status: 200, root: "Message", children: messageNodes(peeked) };
  },
  BatchPeekMessage: (backend, input) => {
    const peeked = backend.peek(input.accountId, input.region, queueName(input), batchSize(input));
    return {
      status: 200,
      root: "Messages",
      children: peeked.map((item) => node("Message", messageNodes(item))),
    };
  },
  DeleteMessage: (backend, input) => {
    const receiptHandle = input.query.get("ReceiptHandle") ?? input.query.get("receiptHandle");
    if (receiptHandle === undefined || receiptHandle === "") throw mnsErrors.missingReceiptHandle();
    backend.deleteMessage(input.accountId, input.region, queueName(input), receiptHandle);
    return { status: 204 };
  },
  BatchDeleteMessage: (backend, input) => {
    const handles = requireDocument(input, "ReceiptHandles")
      .children.filter((item) => item.name === "ReceiptHandle")
      .map((item) => item.text.trim());
    if (handles.length < 1 || handles.length > maxBatch) {
      throw mnsErrors.invalidArgument(`The count of receipt handle list should between 1 and ${maxBatch}.`);
    }
    const failures = backend.deleteMessages(input.accountId, input.region, queueName(input), handles);
    if (failures.length === 0) return { status: 204 };
    return {
      status: 404,
      root: "Errors",
      children: failures.map((failure) =>
        node("Error", [
          node("ErrorCode", failure.code),
          node("ErrorMessage", failure.message),
          node("ReceiptHandle", failure.receiptHandle),
        ]),
      ),
    };
  },
  ChangeMessageVisibility: (backend, input) => {
    const receiptHandle = input.query.get("receiptHandle") ?? input.query.get("ReceiptHandle");
    if (receiptHandle === undefined || receiptHandle === "") throw mnsErrors.missingReceiptHandle();
    const rawTimeout = input.query.get("visibilityTimeout") ?? input.query.get("VisibilityTimeout");
    if (rawTimeout === undefined || rawTimeout === "") throw mnsErrors.missingVisibilityTimeout();
    const visibilityTimeout = integerInRange(
      rawTimeout,
      "VisibilityTimeout",
      0,
      attributeRanges.VisibilityTimeout[1],
    );
    const changed = backend.changeVisibility(
      input.accountId,
      input.region,
      queueName(input),
      receiptHandle,
      visibilityTimeout ?? 0,
    );
    return {
      status: 200,
      root: "ChangeVisibility",
      children: [
        node("ReceiptHandle", changed.receiptHandle),
        node("NextVisibleTime", changed.nextVisibleTime),
      ],
    };
  },
};

function queueName(input: MnsInput, validate = false): string {
  const name = input.queueName;
  if (name === undefined) throw mnsErrors.invalidRequestUrl();
  if (validate) {
    if (name.length < 1 || name.length > 256) throw mnsErrors.queueNameLength();
    if (!queueNamePattern.test(name)) throw mnsErrors.invalidQueueName();
  }
  return name;
}

function requireDocument(input: MnsInput, root: string): XmlElement {
  if (input.document === undefined || input.document.name !== root) throw mnsErrors.invalidXml(root);
  return input.document;
}

function integerInRange(
  raw: string | undefined,
  element: string,
  low: number,
  high: number,
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw.trim());
  if (raw.trim() === "" || !Number.isInteger(value)) throw mnsErrors.invalidXml(element);
  if (value < low || value > high) throw mnsErrors.outOfRange(element, low, high);
  return value;
}

function ranged(element: XmlElement, name: keyof typeof attributeRanges): number | undefined {
  const [low, high] = attributeRanges[name];
  return integerInRange(childText(element, name), name, low, high);
}

function waitSeconds(input: MnsInput): number | undefined {
  const [low, high] = attributeRanges.waitseconds;
  return integerInRange(input.query.get("waitseconds"), "waitseconds", low, high);
}

function batchSize(input: MnsInput): number {
  const [low, high] = attributeRanges.numOfMessages;
  return integerInRange(input.query.get("numOfMessages"), "numOfMessages", low, high) ?? high;
}

const queueElements = new Set([
  "DelaySeconds",
  "MaximumMessageSize",
  "MessageRetentionPeriod",
  "VisibilityTimeout",
  "PollingWaitSeconds",
  "LoggingEnabled",
  "DlqPolicy",
]);

/** Reads the attributes present in a `<Queue>` document over `base`; no document keeps `base`. */
export function parseQueueAttributes(
  document: XmlElement | undefined,
  root: string,
  base: QueueAttributes,
): QueueAttributes {
  if (document === undefined) return base;
  if (document.name !== root) throw mnsErrors.invalidXml(document.name);
  for (const element of document.children) {
    if (!queueElements.has(element.name)) throw mnsErrors.invalidXml(element.name);
  }
  const dlqElement = child(document, "DlqPolicy");
  return {
    delaySeconds: ranged(document, "DelaySeconds") ?? base.delaySeconds,
    maximumMessageSize: ranged(document, "MaximumMessageSize") ?? base.maximumMessageSize,
    messageRetentionPeriod: ranged(document, "MessageRetentionPeriod") ?? base.messageRetentionPeriod,
    visibilityTimeout: ranged(document, "VisibilityTimeout") ?? base.visibilityTimeout,
    pollingWaitSeconds: ranged(document, "PollingWaitSeconds") ?? base.pollingWaitSeconds,
    loggingEnabled:
      parseBoolean(childText(document, "LoggingEnabled"), "LoggingEnabled") ?? base.loggingEnabled,
    dlqPolicy: dlqElement === undefined ? base.dlqPolicy : parseDeadLetterPolicy(dlqElement),
  };
}

function parseBoolean(raw: string | undefined, element: string): boolean | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim().toLowerCase();
  if (value === "true") return true;
  if (value === "false") return false;
  throw mnsErrors.invalidXml(element);
}

/**
 * `<DlqPolicy><Enabled>true</Enabled><DeadLetterTargetQueue>q</DeadLetterTargetQueue>
 * <MaxReceiveCount>3</MaxReceiveCount></DlqPolicy>`, or the same fields as a JSON text (the shape the
 * MNS OpenAPI uses). An empty element removes the policy.
 */
function parseDeadLetterPolicy(element: XmlElement): DeadLetterPolicy | undefined {
  let fields: XmlElement = element;
  const text = element.text.trim();
  if (element.children.length === 0 && text.startsWith("{")) fields = jsonAsElement(text);
  if (fields.children.length === 0) return undefined;
  const enabled = parseBoolean(childText(fields, "Enabled"), "Enabled") ?? true;
  const target = childText(fields, "DeadLetterTargetQueue")?.trim();
  if (enabled && (target === undefined || target === "")) throw mnsErrors.invalidXml("DeadLetterTargetQueue");
  const [low, high] = attributeRanges.MaxReceiveCount;
  return {
    enabled,
    deadLetterTargetQueue: target ?? "",
    maxReceiveCount: integerInRange(childText(fields, "MaxReceiveCount"), "MaxReceiveCount", low, high) ?? 16,
  };
}

function jsonAsElement(text: string): XmlElement {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw mnsErrors.invalidXml("DlqPolicy");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw mnsErrors.invalidXml("DlqPolicy");
  return {
    name: "DlqPolicy",
    text: "",
    children: Object.entries(parsed).map(([name, value]) => ({ name, text: String(value), children: [] })),
  };
}

function parseSendInput(element: XmlElement): SendInput {
  const body = childText(element, "MessageBody");
  if (body === undefined) throw mnsErrors.invalidXml("MessageBody");
  return {
    body,
    delaySeconds: ranged(element, "DelaySeconds"),
    priority: ranged(element, "Priority"),
  };
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function queueNodes(queue: QueueSummary): XmlNode[] {
  const { attributes } = queue;
  const nodes: XmlNode[] = [
    node("QueueName", queue.name),
    node("CreateTime", seconds(queue.createTime)),
    node("LastModifyTime", seconds(queue.lastModifyTime)),
    node("DelaySeconds", attributes.delaySeconds),
    node("MaximumMessageSize", attributes.maximumMessageSize),
    node("MessageRetentionPeriod", attributes.messageRetentionPeriod),
    node("VisibilityTimeout", attributes.visibilityTimeout),
    node("PollingWaitSeconds", attributes.pollingWaitSeconds),
    node("ActiveMessages", queue.activeMessages),
    node("InactiveMessages", queue.inactiveMessages),
    node("DelayMessages", queue.delayMessages),
    node("LoggingEnabled", attributes.loggingEnabled ? "True" : "False"),
  ];
  if (attributes.dlqPolicy !== undefined) {
    nodes.push(
      node("DlqPolicy", [
        node("Enabled", attributes.dlqPolicy.enabled),
        node("DeadLetterTargetQueue", attributes.dlqPolicy.deadLetterTargetQueue),
        node("MaxReceiveCount", attributes.dlqPolicy.maxReceiveCount),
      ]),
    );
  }
  return nodes;
}

function sentNodes(message: MessageView): XmlNode[] {
  return [node("MessageId", message.messageId), node("MessageBodyMD5", message.bodyMd5)];
}

function messageNodes(message: MessageView): XmlNode[] {
  const nodes: XmlNode[] = [node("MessageId", message.messageId)];
  if (message.receiptHandle !== undefined) nodes.push(node("ReceiptHandle", message.receiptHandle));
  nodes.push(
    node("MessageBodyMD5", message.bodyMd5),
    node("MessageBody", message.body),
    node("EnqueueTime", message.enqueueTime),
    node("NextVisibleTime", message.nextVisibleTime),
  );
  if (message.firstDequeueTime !== undefined) nodes.push(node("FirstDequeueTime", message.firstDequeueTime));
  nodes.push(node("DequeueCount", message.dequeueCount), node("Priority", message.priority));
  return nodes;
}
