/**
 * SLS data plane, write side: PutLogs through the independent `@alicloud/log` client (plain and lz4),
 * read back through the official `@alicloud/sls20201230` (ListShards, GetCursor) and a signed
 * PullLogs whose protobuf answer protobufjs decodes with the client's own sls.proto, with bad bodies refused whole.
 */
import path from "node:path";
import { deflateSync } from "node:zlib";
import * as Sls from "@alicloud/sls20201230";
import { compressSync, uncompressSync } from "lz4-napi";
import protobuf from "protobufjs";
import { z } from "zod";
import { createSlsService, type SlsService } from "../../emulator/sls";
import { lz4CompressBlock } from "../../emulator/sls/lz4";
import { type Harness, serveService } from "./serviceHarness";
import { encodedGroup, logClient, signedRequest } from "./slsDataPlaneKit";
import { accountA, accountB, permanentKey, region, slsClient, slsFailure } from "./slsTestKit";

const project = "ingest-project";
const logstore = "app-logs";
const protoRoot = protobuf.loadSync(path.join(require.resolve("@alicloud/log"), "..", "lib", "sls.proto"));
const LogGroupList = protoRoot.lookupType("sls.LogGroupList");

const decodedList = z.object({
  logGroupList: z.array(
    z.object({
      Logs: z.array(
        z.object({ Time: z.number(), Contents: z.array(z.object({ Key: z.string(), Value: z.string() })) }),
      ),
      Topic: z.string().optional(),
      Source: z.string().optional(),
      LogTags: z.array(z.object({ Key: z.string(), Value: z.string() })),
    }),
  ),
});

function decodeList(body: Buffer) {
  return decodedList.parse(LogGroupList.toObject(LogGroupList.decode(body), { defaults: true }));
}

const errorBody = z.object({ errorCode: z.string(), errorMessage: z.string() });

describe("SLS data plane: PutLogs and reading by cursor", () => {
  let harness: Harness<SlsService>;
  let sls: Sls.default;

  beforeAll(async () => {
    harness = await serveService(createSlsService, [permanentKey(accountA), permanentKey(accountB)]);
    sls = slsClient(harness.port, accountA);
    await sls.createProject(new Sls.CreateProjectRequest({ projectName: project, description: "" }));
  });

  beforeEach(async () => {
    await sls.createLogStore(
      project,
      new Sls.CreateLogStoreRequest({ logstoreName: logstore, ttl: 7, shardCount: 2 }),
    );
  });

  afterEach(async () => {
    await sls.deleteLogStore(project, logstore);
  });

  afterAll(async () => {
    await harness.close();
  });

  function rows() {
    return harness.service.backend.logRows(accountA.accountId, region, project, logstore);
  }

  it("stores what @alicloud/log posts, stamped with the receive time, and PullLogs returns it", async () => {
    const client = logClient(harness.port, accountA);
    const receivedAt = Math.floor(harness.clock.now() / 1000);

    await client.postLogStoreLogs(project, logstore, {
      logs: [
        { timestamp: 1_767_225_600, content: { level: "INFO", msg: "first" } },
        { timestamp: 1_767_225_601, timestampNsPart: 5, content: { level: "WARN", msg: "second" } },
      ],
      tags: [{ __hostname__: "host-1" }],
      topic: "app",
      source: "10.0.0.7",
    });

    expect(rows().lineCount).toBe(2);
    const shards = await sls.listShards(project, logstore);
    expect(shards.body?.map((shard) => shard.shardID)).toEqual([0, 1]);
    const pulled = [];
    for (const shard of [0, 1]) {
      const cursor = await sls.getCursor(
        project,
        logstore,
        String(shard),
        new Sls.GetCursorRequest({ from: "begin" }),
      );
      const response = await signedRequest(harness.port, accountA, {
        method: "GET",
        project,
        path: `/logstores/${logstore}/shards/${shard}`,
        query: { type: "log", cursor: cursor.body?.cursor ?? "", count: "100" },
        headers: { accept: "application/x-protobuf" },
      });
      expect(response.status).toBe(200);
      pulled.push(...decodeList(response.body).logGroupList);
    }
    expect(pulled).toHaveLength(1);
    const [group] = pulled;
    expect(group?.Topic).toBe("app");
    expect(group?.Source).toBe("10.0.0.7");
    expect(group?.LogTags).toEqual([
      { Key: "__hostname__", Value: "host-1" },
      { Key: "__receive_time__", Value: String(receivedAt) },
    ]);
    expect(group?.Logs.map((log) => [log.Time, log.Contents])).toEqual([
      [
        1_767_225_600,
        [
          { Key: "level", Value: "INFO" },
          { Key: "msg", Value: "first" },
        ],
      ],
      [
        1_767_225_601,
        [
          { Key: "level", Value: "WARN" },
          { Key: "msg", Value: "second" },
        ],
      ],
    ]);
    const second = [...rows().scan(0, 2 ** 32)][1];
    expect(second?.get("__tag__:__receive_time__")).toBe(String(receivedAt));
    expect(second?.get("__time_ns_part__")).toBe("5");
  });

  it("accepts lz4 (ours and lz4-napi's) and deflate bodies signed by @alicloud/log", async () => {
    const client = logClient(harness.port, accountA);
    const raw = encodedGroup(50, 1_767_225_600);
    const post = (body: Buffer, compressType: string) =>
      client._request("POST", project, `/logstores/${logstore}/shards/lb`, {}, body, {
        "content-type": "application/x-protobuf",
        "x-log-bodyrawsize": raw.length,
        "x-log-compresstype": compressType,
      });

    await post(lz4CompressBlock(raw), "lz4");
    await post(compressSync(raw).subarray(4), "lz4");
    await post(deflateSync(raw), "deflate");

    expect(rows().lineCount).toBe(150);
    expect([...rows().scan(0, 2 ** 32)].filter((row) => row.get("seq") === "49")).toHaveLength(3);
  });

  it("routes by hash key and reads a shard in receive order with next cursors, lz4 answers too", async () => {
    for (const [index, key] of [
      "00000000000000000000000000000000",
      "80000000000000000000000000000000",
    ].entries()) {
      const response = await signedRequest(harness.port, accountA, {
        method: "POST",
        project,
        path: `/logstores/${logstore}/shards/route`,
        query: { key },
        headers: { "content-type": "application/x-protobuf" },
        body: encodedGroup(3, 1_767_225_600 + index, `shard${index}`),
      });
      expect(response.status).toBe(200);
    }
    harness.clock.advance(10_000);
    await signedRequest(harness.port, accountA, {
      method: "POST",
      project,
      path: `/logstores/${logstore}/shards/route`,
      query: { key: "0fffffffffffffffffffffffffffffff" },
      headers: { "content-type": "application/x-protobuf" },
      body: encodedGroup(1, 1_767_225_700, "later"),
    });

    const begin = await sls.getCursor(project, logstore, "0", new Sls.GetCursorRequest({ from: "begin" }));
    const pull = (cursor: string) =>
      signedRequest(harness.port, accountA, {
        method: "GET",
        project,
        path: `/logstores/${logstore}/shards/0`,
        query: { type: "log", cursor, count: "1" },
        headers: { accept: "application/x-protobuf", "accept-encoding": "lz4" },
      });
    const first = await pull(begin.body?.cursor ?? "");
    expect(first.headers["x-log-compresstype"]).toBe("lz4");
    expect(first.headers["x-log-count"]).toBe("1");
    const firstRaw = Buffer.from(
      uncompressSync(Buffer.concat([uint32(Number(first.headers["x-log-bodyrawsize"])), first.body])),
    );
    expect(decodeList(firstRaw).logGroupList[0]?.Logs[0]?.Contents[1]?.Value).toMatch(/^shard0 0/);
    const second = await pull(String(first.headers["x-log-cursor"]));
    const secondRaw = Buffer.from(
      uncompressSync(Buffer.concat([uint32(Number(second.headers["x-log-bodyrawsize"])), second.body])),
    );
    expect(decodeList(secondRaw).logGroupList[0]?.Logs[0]?.Contents[1]?.Value).toMatch(/^later 0/);
    const atEnd = await pull(String(second.headers["x-log-cursor"]));
    expect(atEnd.headers["x-log-count"]).toBe("0");
    expect(atEnd.headers["x-log-cursor"]).toBe(second.headers["x-log-cursor"]);

    const byTime = await sls.getCursor(
      project,
      logstore,
      "0",
      new Sls.GetCursorRequest({ from: String(Math.floor(harness.clock.now() / 1000)) }),
    );
    expect(byTime.body?.cursor).toBe(String(first.headers["x-log-cursor"]));
    const end = await sls.getCursor(project, logstore, "0", new Sls.GetCursorRequest({ from: "end" }));
    expect(end.body?.cursor).toBe(String(second.headers["x-log-cursor"]));
  });

  it.each([
    ["a body that is not protobuf", {}, Buffer.from([0x0a, 0xff, 0xff, 0x01]), 400, "PostBodyInvalid"],
    ["a Log without its required Time", {}, Buffer.from([0x0a, 0x00]), 400, "PostBodyInvalid"],
    [
      "an unknown compress type",
      { "x-log-compresstype": "snappy" },
      encodedGroup(2, 1),
      400,
      "ParameterInvalid",
    ],
    [
      "lz4 that is not lz4",
      { "x-log-compresstype": "lz4", "x-log-bodyrawsize": "100" },
      Buffer.from([0xf0, 0x01]),
      400,
      "PostBodyInvalid",
    ],
    [
      "deflate that is not deflate",
      { "x-log-compresstype": "deflate" },
      Buffer.from("nope"),
      400,
      "PostBodyInvalid",
    ],
    [
      "a raw size that does not match",
      { "x-log-bodyrawsize": "3" },
      encodedGroup(2, 1),
      400,
      "PostBodyInvalid",
    ],
    [
      "a raw size over 10 MB",
      { "x-log-bodyrawsize": String(11 * 1024 * 1024) },
      encodedGroup(2, 1),
      400,
      "PostBodyTooLarge",
    ],
  ])("refuses %s whole and keeps serving", async (_title, headers, body, status, code) => {
    const signedHeaders: Record<string, string> = { "content-type": "application/x-protobuf", ...headers };
    const response = await signedRequest(harness.port, accountA, {
      method: "POST",
      project,
      path: `/logstores/${logstore}/shards/lb`,
      headers: signedHeaders,
      body,
    });

    expect(response.status).toBe(status);
    expect(errorBody.parse(JSON.parse(response.body.toString("utf8"))).errorCode).toBe(code);
    expect(rows().lineCount).toBe(0);
    await logClient(harness.port, accountA).postLogStoreLogs(project, logstore, {
      logs: [{ timestamp: 1, content: { msg: "still serving" } }],
    });
    expect(rows().lineCount).toBe(1);
  });

  it("refuses a group with more logs than the limit", async () => {
    harness.service.backend.configure({ putLogsMaxLogs: 10 });
    try {
      const response = await signedRequest(harness.port, accountA, {
        method: "POST",
        project,
        path: `/logstores/${logstore}/shards/lb`,
        headers: { "content-type": "application/x-protobuf" },
        body: encodedGroup(11, 1),
      });
      expect(response.status).toBe(400);
      expect(errorBody.parse(JSON.parse(response.body.toString("utf8"))).errorCode).toBe("PostBodyTooLarge");
      expect(rows().lineCount).toBe(0);
    } finally {
      harness.service.backend.configure({ putLogsMaxLogs: 40_960 });
    }
  });

  it("refuses a body that is not the one signed", async () => {
    const response = await signedRequest(harness.port, accountA, {
      method: "POST",
      project,
      path: `/logstores/${logstore}/shards/lb`,
      headers: { "content-type": "application/x-protobuf", "content-md5": "0".repeat(32) },
      body: encodedGroup(1, 1),
    });
    expect(response.status).toBe(401);
    expect(errorBody.parse(JSON.parse(response.body.toString("utf8"))).errorCode).toBe("SignatureNotMatch");
    expect(rows().lineCount).toBe(0);
  });

  it("the official SDK signing v4 reads shards and cursors too", async () => {
    const v4 = slsClient(harness.port, { ...accountA, signatureVersion: "v4" });
    await logClient(harness.port, accountA).postLogStoreLogs(project, logstore, {
      logs: [{ timestamp: 1, content: { msg: "v4" } }],
    });

    const shards = await v4.listShards(project, logstore);
    const cursors = await Promise.all(
      ["0", "1"].map((shard) =>
        v4.getCursor(project, logstore, shard, new Sls.GetCursorRequest({ from: "end" })),
      ),
    );

    expect(shards.body).toHaveLength(2);
    expect(cursors.map((cursor) => cursor.body?.cursor).sort()).toEqual(
      [Buffer.from("0").toString("base64"), Buffer.from("1").toString("base64")].sort(),
    );
  });

  it("another account's key cannot write or read the logstore", async () => {
    const other = logClient(harness.port, accountB);
    await expect(
      other.postLogStoreLogs(project, logstore, { logs: [{ timestamp: 1, content: { msg: "intruder" } }] }),
    ).rejects.toMatchObject({ code: "Unauthorized" });
    const failure = await slsFailure(
      slsClient(harness.port, accountB).getCursor(
        project,
        logstore,
        "0",
        new Sls.GetCursorRequest({ from: "begin" }),
      ),
    );
    expect([failure.code, failure.statusCode]).toEqual(["Unauthorized", 401]);
    expect(rows().lineCount).toBe(0);
  });

  it("answers bad shards and cursors with SLS's codes", async () => {
    const shard = await slsFailure(
      sls.getCursor(project, logstore, "7", new Sls.GetCursorRequest({ from: "begin" })),
    );
    expect([shard.code, shard.statusCode]).toEqual(["ShardNotExist", 404]);
    const pull = (cursor: string) =>
      signedRequest(harness.port, accountA, {
        method: "GET",
        project,
        path: `/logstores/${logstore}/shards/0`,
        query: { type: "log", cursor, count: "10" },
        headers: { accept: "application/x-protobuf" },
      });
    for (const cursor of ["bm90LWEtY3Vyc29y", Buffer.from("5").toString("base64"), "%%%"]) {
      const response = await pull(cursor);
      expect(response.status).toBe(400);
      expect(errorBody.parse(JSON.parse(response.body.toString("utf8"))).errorCode).toBe("InvalidCursor");
    }
    const from = await slsFailure(
      sls.getCursor(project, logstore, "0", new Sls.GetCursorRequest({ from: "soon" })),
    );
    expect(from.code).toBe("ParameterInvalid");
  });

  it("a PutLogs fault injected by the core stores nothing", async () => {
    harness.queueAdmissions({ kind: "fault", status: 503, code: "ServiceUnavailable", message: "injected" });
    await expect(
      logClient(harness.port, accountA).postLogStoreLogs(project, logstore, {
        logs: [{ timestamp: 1, content: { a: "b" } }],
      }),
    ).rejects.toMatchObject({ code: "ServiceUnavailable" });
    expect(harness.admissions.at(-1)?.operation).toBe("PutLogs");
    expect(rows().lineCount).toBe(0);
  });
});

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value, 0);
  return buffer;
}
