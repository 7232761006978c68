import { mnsErrors } from "./errors";
import { parseXml, type XmlElement } from "./xml";

export const mnsOperations = [
  "CreateQueue",
  "SetQueueAttributes",
  "GetQueueAttributes",
  "DeleteQueue",
  "ListQueue",
  "SendMessage",
  "BatchSendMessage",
  "ReceiveMessage",
  "BatchReceiveMessage",
  "PeekMessage",
  "BatchPeekMessage",
  "DeleteMessage",
  "BatchDeleteMessage",
  "ChangeMessageVisibility",
] as const;

export type MnsOperation = (typeof mnsOperations)[number];

export interface MnsTarget {
  accountId: string;
  region: string;
}

const hostPattern = /^([^.]+)\.mns\.([^.]+)\.localhost$/;

export function isMnsHost(host: string): boolean {
  return hostPattern.test(host);
}

/** `<accountId>.mns.<region>.localhost`; `-internal`/`-internal-vpc` region suffixes are aliases. */
export function parseMnsHost(host: string): MnsTarget {
  const match = hostPattern.exec(host);
  if (match === null) throw mnsErrors.invalidRequestUrl();
  const [, accountId = "", region = ""] = match;
  return { accountId, region: region.replace(/-internal(-vpc)?$/, "") };
}

export interface MnsRoute {
  operation: MnsOperation;
  queueName: string | undefined;
  /** The parsed XML body, for operations that take one. */
  document: XmlElement | undefined;
}

/** Which operation a request is: by method, path, query and, for sends, the body's root element. */
export function routeMnsRequest(
  method: string,
  path: string,
  query: ReadonlyMap<string, string>,
  body: Buffer,
): MnsRoute {
  const segments = path.split("/").filter((segment) => segment !== "");
  const [collection, queueName, messages, ...rest] = segments;
  if (collection !== "queues" || rest.length > 0) throw mnsErrors.invalidRequestUrl();
  const document = body.length > 0 ? parseXml(body.toString("utf8")) : undefined;
  const route = (operation: MnsOperation): MnsRoute => ({ operation, queueName, document });

  if (queueName === undefined) {
    if (method === "GET") return route("ListQueue");
    throw mnsErrors.invalidRequestUrl();
  }
  if (messages === undefined) {
    if (method === "PUT")
      return route(query.get("metaoverride") === "true" ? "SetQueueAttributes" : "CreateQueue");
    if (method === "GET") return route("GetQueueAttributes");
    if (method === "DELETE") return route("DeleteQueue");
    throw mnsErrors.invalidRequestUrl();
  }
  if (messages !== "messages") throw mnsErrors.invalidRequestUrl();
  const batch = query.has("numOfMessages");
  switch (method) {
    case "POST":
      return route(document?.name === "Messages" ? "BatchSendMessage" : "SendMessage");
    case "GET":
      if (query.get("peekonly") === "true") return route(batch ? "BatchPeekMessage" : "PeekMessage");
      return route(batch ? "BatchReceiveMessage" : "ReceiveMessage");
    case "DELETE":
      return route(
        query.has("ReceiptHandle") || document === undefined ? "DeleteMessage" : "BatchDeleteMessage",
      );
    case "PUT":
      return route("ChangeMessageVisibility");
    default:
      throw mnsErrors.invalidRequestUrl();
  }
}
