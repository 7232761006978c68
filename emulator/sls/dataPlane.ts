/**
 * The data plane's wire side: PutLogs bodies (compression, raw size, protobuf LogGroup, limits),
 * shard and cursor parameters, and PullLogs answers (a protobuf LogGroupList, optionally compressed). State lives in LogStore (logStore.ts) behind the backend.
 */
import { deflateSync, inflateSync } from "node:zlib";
import type { SlsBackend } from "./backend";
import { slsErrors } from "./errors";
import {
  decodeLogGroup,
  encodeLogGroupList,
  type LogGroupColumns,
  type LogGroupSlice,
  ProtobufFormatError,
} from "./logGroupCodec";
import type { StoredGroup } from "./logStore";
import { receiveTimeTag } from "./logStore";
import { Lz4FormatError, lz4CompressBlock, lz4DecompressBlock } from "./lz4";
import type { Handler, OperationInput } from "./operations";

export interface PutLogsLimits {
  maxRawBytes: number;
  maxLogsPerGroup: number;
}

export interface PutLogsBody {
  columns: LogGroupColumns;
  rawSize: number;
}

/** Decompresses and decodes a PutLogs body; every defect is an SlsError, nothing is stored. */
export function parsePutLogsBody(
  headers: Readonly<Record<string, string>>,
  body: Buffer,
  limits: PutLogsLimits,
  intern: { key: (text: string) => string; value: (text: string) => string },
): PutLogsBody {
  const compressType = (headers["x-log-compresstype"] ?? "").trim().toLowerCase();
  const declared = headers["x-log-bodyrawsize"];
  const declaredSize = declared === undefined ? undefined : parseRawSize(declared, body.length);
  if (declaredSize !== undefined && declaredSize > limits.maxRawBytes) {
    throw slsErrors.postBodyTooLarge("body raw size", declaredSize, limits.maxRawBytes);
  }
  const raw = decompress(compressType, body, declaredSize, limits.maxRawBytes);
  if (declared !== undefined && raw.length !== declaredSize)
    throw slsErrors.bodyRawSizeInvalid(declared, raw.length);
  if (raw.length > limits.maxRawBytes) {
    throw slsErrors.postBodyTooLarge("body raw size", raw.length, limits.maxRawBytes);
  }
  let columns: LogGroupColumns;
  try {
    columns = decodeLogGroup(raw, intern.key, intern.value);
  } catch (error) {
    if (error instanceof ProtobufFormatError) throw slsErrors.postBodyNotLogGroup(error.message);
    throw error;
  }
  if (columns.times.length > limits.maxLogsPerGroup) {
    throw slsErrors.postBodyTooLarge("log count", columns.times.length, limits.maxLogsPerGroup);
  }
  return { columns, rawSize: raw.length };
}

function parseRawSize(declared: string, bodyLength: number): number {
  if (!/^\d{1,15}$/.test(declared.trim())) throw slsErrors.bodyRawSizeInvalid(declared, bodyLength);
  return Number(declared.trim());
}

function decompress(
  type: string,
  body: Buffer,
  declaredSize: number | undefined,
  maxRawBytes: number,
): Buffer {
  if (type === "") return body;
  if (type === "lz4") {
    if (declaredSize === undefined) throw slsErrors.bodyNotDecompressed(type, "x-log-bodyrawsize is missing");
    try {
      return lz4DecompressBlock(body, declaredSize);
    } catch (error) {
      if (error instanceof Lz4FormatError) throw slsErrors.bodyNotDecompressed(type, error.message);
      throw error;
    }
  }
  if (type === "deflate") {
    try {
      return inflateSync(body, { maxOutputLength: maxRawBytes + 1 });
    } catch (error) {
      throw slsErrors.bodyNotDecompressed(type, error instanceof Error ? error.message : String(error));
    }
  }
  throw slsErrors.compressTypeUnsupported(type);
}

// ---- cursors --------------------------------------------------------------------------------------

/** Cursors are opaque base64 like the real service's (which wraps a decimal number too). */
export function encodeCursor(sequence: number): string {
  return Buffer.from(String(sequence)).toString("base64");
}

export function decodeCursor(cursor: string): number {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(cursor)) throw slsErrors.invalidCursor(cursor);
  const text = Buffer.from(cursor, "base64").toString("latin1");
  if (!/^\d{1,15}$/.test(text) || encodeCursor(Number(text)) !== cursor)
    throw slsErrors.invalidCursor(cursor);
  return Number(text);
}

// ---- PullLogs answers -------------------------------------------------------------------------------

type Encoding = "lz4" | "deflate" | undefined;

/** The first encoding we serve among those the client accepts (SLS clients send one). */
function chooseEncoding(acceptEncoding: string | undefined): Encoding {
  const offered = (acceptEncoding ?? "")
    .split(",")
    .map((part) => part.split(";")[0]?.trim().toLowerCase() ?? "");
  if (offered.includes("lz4")) return "lz4";
  if (offered.includes("deflate")) return "deflate";
  return undefined;
}

function slices(groups: readonly StoredGroup[]): LogGroupSlice[] {
  return groups.map((group) => ({
    group: group.columns,
    extraTags: [receiveTimeTag, String(group.receiveTime)],
  }));
}

// ---- handlers ---------------------------------------------------------------------------------------

const maxPullCount = 1000;

function shardParam(input: OperationInput, backend: SlsBackend): number {
  const raw = input.params.shard ?? "";
  const store = backend.logStore(input.scope, input.project, input.params.logstore ?? "");
  const id = /^\d{1,6}$/.test(raw) ? Number(raw) : -1;
  if (!store.hasShard(id)) throw slsErrors.shardNotExist(raw);
  return id;
}

function requiredQuery(input: OperationInput, name: string): string {
  const value = input.query.get(name);
  if (value === undefined || value === "") throw slsErrors.parameterInvalid(`${name} is required`);
  return value;
}

export const dataPlaneHandlers = {
  PutLogs: (backend, input) => {
    const logstore = input.params.logstore ?? "";
    const store = backend.logStore(input.scope, input.project, logstore);
    const parsed = parsePutLogsBody(input.headers, input.rawBody, backend.putLogsLimits, {
      key: store.internKey,
      value: store.internValue,
    });
    const hashKey = input.query.get("key");
    const shard =
      input.params.route === "route" && hashKey !== undefined ? store.shardForKey(hashKey) : undefined;
    if (parsed.columns.times.length > 0) store.append(parsed.columns, parsed.rawSize, shard);
    return undefined;
  },
  ListShards: (backend, input) => ({
    json: backend.logStore(input.scope, input.project, input.params.logstore ?? "").listShards(),
  }),
  GetCursor: (backend, input) => {
    const shard = shardParam(input, backend);
    const from = requiredQuery(input, "from");
    const position = from === "begin" || from === "end" ? from : Number(from);
    if (typeof position === "number" && !(Number.isInteger(position) && position >= 0)) {
      throw slsErrors.parameterInvalid(`from must be begin, end or a Unix time in seconds, got ${from}`);
    }
    const store = backend.logStore(input.scope, input.project, input.params.logstore ?? "");
    return { json: { cursor: encodeCursor(store.cursorSequence(shard, position)) } };
  },
  PullLogs: (backend, input) => {
    const shard = shardParam(input, backend);
    const store = backend.logStore(input.scope, input.project, input.params.logstore ?? "");
    const cursorText = requiredQuery(input, "cursor");
    const cursor = decodeCursor(cursorText);
    if (!store.isReadable(shard, cursor)) throw slsErrors.invalidCursor(cursorText);
    const countText = requiredQuery(input, "count");
    const count = Number(countText);
    if (!Number.isInteger(count) || count < 1 || count > maxPullCount) {
      throw slsErrors.parameterInvalid(
        `count must be an integer between 1 and ${maxPullCount}, got ${countText}`,
      );
    }
    const endText = input.query.get("end_cursor");
    const end = endText === undefined || endText === "" ? undefined : decodeCursor(endText);
    const groups = store.read(shard, cursor, count, end);
    const headers = {
      "x-log-cursor": encodeCursor(cursor + groups.length),
      "x-log-count": String(groups.length),
    };
    const raw = encodeLogGroupList(slices(groups));
    const encoding = chooseEncoding(input.headers["accept-encoding"]);
    const body = encoding === "lz4" ? lz4CompressBlock(raw) : encoding === "deflate" ? deflateSync(raw) : raw;
    return {
      binary: body,
      headers: {
        ...headers,
        "content-type": "application/x-protobuf",
        "x-log-bodyrawsize": String(raw.length),
        ...(encoding === undefined ? {} : { "x-log-compresstype": encoding }),
      },
    };
  },
} satisfies Record<string, Handler>;
