/**
 * GetLogs, GetLogsV2 and GetHistograms over HTTP: lines written through PutLogs by the independent
 * `@alicloud/log` client, read back by the official `@alicloud/sls20201230` (and `@alicloud/log`'s own
 * getLogs / getHistograms), with SLS's index rules and error codes.
 */

import type LogClient from "@alicloud/log";
import * as Sls from "@alicloud/sls20201230";
import { RuntimeOptions } from "@darabonba/typescript";
import { z } from "zod";
import { createSlsService, type SlsService } from "../../emulator/sls";
import { defaultDelimiters } from "../../emulator/sls/queryIndex";
import { type Harness, serveService } from "./serviceHarness";
import { logClient } from "./slsDataPlaneKit";
import { accountA, accountB, permanentKey, slsClient, slsFailure } from "./slsTestKit";

const project = "query-project";
const logstore = "app-logs";
const t0 = 1_767_225_600;

/** SLS's default delimiters, as the emulator knows them. */
const tokens = [...defaultDelimiters];

function textKey(docValue = true) {
  return new Sls.IndexKey({ type: "text", token: tokens, caseSensitive: false, docValue });
}

const index = new Sls.Index({
  line: new Sls.IndexLine({ token: tokens, caseSensitive: false }),
  keys: {
    level: textKey(),
    msg: textKey(),
    status: new Sls.IndexKey({ type: "long", docValue: true }),
    secret: textKey(false),
    "__tag__:__path__": textKey(),
  },
});

const stringRecord = z.record(z.string(), z.string());
const histogram = z.array(
  z.object({ from: z.number(), to: z.number(), count: z.number(), progress: z.literal("Complete") }),
);

/** `@alicloud/log`'s getLogs / getHistograms (plain JS, untyped), called as a user of the package would. */
async function callLogClient(
  client: LogClient,
  method: "getLogs" | "getHistograms",
  from: number,
  to: number,
  data: Record<string, string>,
): Promise<unknown> {
  const fn: unknown = Reflect.get(client, method);
  if (typeof fn !== "function") throw new Error(`@alicloud/log has no ${method}`);
  const result: unknown = await fn.call(
    client,
    project,
    logstore,
    new Date(from * 1000),
    new Date(to * 1000),
    data,
  );
  return result;
}

describe("SLS queries through the SDKs", () => {
  let harness: Harness<SlsService>;
  let sls: Sls.default;

  beforeAll(async () => {
    harness = await serveService(createSlsService, [permanentKey(accountA), permanentKey(accountB)]);
    sls = slsClient(harness.port, accountA);
    await sls.createProject(new Sls.CreateProjectRequest({ projectName: project, description: "" }));
    await sls.createLogStore(
      project,
      new Sls.CreateLogStoreRequest({ logstoreName: logstore, ttl: 30, shardCount: 2 }),
    );
    await sls.createIndex(project, logstore, new Sls.CreateIndexRequest({ body: index }));
    const writer = logClient(harness.port, accountA);
    const post = (
      path: string,
      source: string,
      logs: { offset: number; level: string; status: number; msg: string }[],
    ) =>
      writer.postLogStoreLogs(project, logstore, {
        logs: logs.map((log) => ({
          timestamp: t0 + log.offset,
          content: { level: log.level, status: String(log.status), msg: log.msg, secret: "s3cr3t" },
        })),
        tags: [{ __path__: path }, { __hostname__: "web-1" }],
        topic: "app",
        source,
      });
    await post("/var/log/app.log", "10.0.0.1", [
      { offset: 0, level: "INFO", status: 200, msg: "user login ok" },
      { offset: 10, level: "ERROR", status: 500, msg: "db timeout" },
      { offset: 20, level: "INFO", status: 200, msg: "user logout" },
    ]);
    await post("/var/log/nginx/access.log", "10.0.0.2", [
      { offset: 30, level: "WARN", status: 404, msg: "not found /favicon.ico" },
      { offset: 40, level: "ERROR", status: 502, msg: "upstream reset" },
    ]);
  });

  afterAll(async () => {
    await harness.close();
  });

  function getLogs(query: string, extra: Partial<Sls.GetLogsRequest> = {}) {
    return sls.getLogs(
      project,
      logstore,
      new Sls.GetLogsRequest({ from: t0, to: t0 + 3600, query, ...extra }),
    );
  }

  it("answers a search with the lines as string maps and SLS's headers", async () => {
    const response = await getLogs("level: error");
    const rows = z.array(stringRecord).parse(response.body);
    expect(rows.map((row) => row.msg)).toEqual(["db timeout", "upstream reset"]);
    expect(rows[1]).toMatchObject({
      __time__: String(t0 + 40),
      __source__: "10.0.0.2",
      __topic__: "app",
      level: "ERROR",
      status: "502",
      "__tag__:__path__": "/var/log/nginx/access.log",
      "__tag__:__hostname__": "web-1",
    });
    expect(rows[1]?.["__tag__:__receive_time__"]).toMatch(/^\d+$/);
    expect(response.headers).toMatchObject({
      "x-log-progress": "Complete",
      "x-log-count": "2",
      "x-log-processed-rows": "5",
      "x-log-has-sql": "false",
    });
    const info = z
      .object({ keys: z.array(z.string()) })
      .parse(JSON.parse(response.headers?.["x-log-query-info"] ?? ""));
    expect(info.keys).toContain("__tag__:__path__");
  });

  it("pages with line, offset and reverse, and selects by __time__ in [from, to)", async () => {
    const page = await getLogs("*", { line: 2, offset: 1, reverse: true });
    expect(
      z
        .array(stringRecord)
        .parse(page.body)
        .map((row) => row.status),
    ).toEqual(["404", "200"]);
    const range = await getLogs("*", { from: t0 + 10, to: t0 + 30 });
    expect(
      z
        .array(stringRecord)
        .parse(range.body)
        .map((row) => row.__time__),
    ).toEqual([String(t0 + 10), String(t0 + 20)]);
  });

  it("narrows to a topic", async () => {
    const none = await getLogs("*", { topic: "other" });
    expect(none.body).toEqual([]);
    const all = await getLogs("*", { topic: "app" });
    expect(all.body).toHaveLength(5);
  });

  it("answers SQL rows with x-log-has-sql true", async () => {
    const response = await getLogs(
      '* | select "__tag__:__path__" as path, count(*) as n, max(status) as worst group by path order by n desc',
    );
    expect(response.body).toEqual([
      { __source__: "", __time__: String(t0), path: "/var/log/app.log", n: "3", worst: "500" },
      { __source__: "", __time__: String(t0), path: "/var/log/nginx/access.log", n: "2", worst: "502" },
    ]);
    expect(response.headers?.["x-log-has-sql"]).toBe("true");
    expect(response.headers?.["x-log-agg-query"]).toContain("select");
  });

  it("answers GetLogsV2 as {meta, data}", async () => {
    const response = await sls.getLogsV2(
      project,
      logstore,
      new Sls.GetLogsV2Request({
        from: t0,
        to: t0 + 3600,
        query: "status >= 500 | select count(*) as n",
        line: 100,
      }),
    );
    expect(response.body?.data).toEqual([{ __source__: "", __time__: String(t0), n: "2" }]);
    expect(response.body?.meta).toMatchObject({
      progress: "Complete",
      hasSQL: true,
      count: 1,
      limited: 100,
      keys: ["n"],
      processedRows: 5,
      whereQuery: "status >= 500",
      aggQuery: "select count(*) as n",
    });
    const search = await sls.getLogsV2(
      project,
      logstore,
      new Sls.GetLogsV2Request({ from: t0, to: t0 + 3600, query: "login" }),
    );
    expect(search.body?.data?.map((row) => row.msg)).toEqual(["user login ok"]);
    expect(search.body?.meta?.hasSQL).toBe(false);
  });

  it("compresses GetLogsV2 as the client asks: lz4 (the SDK's default), gzip, deflate, or not at all", async () => {
    const request = () => new Sls.GetLogsV2Request({ from: t0, to: t0 + 3600, query: "status: 404" });
    const byDefault = await sls.getLogsV2(project, logstore, request());
    expect(byDefault.headers?.["x-log-compresstype"]).toBe("lz4");
    expect(byDefault.body?.data?.map((row) => row.msg)).toEqual(["not found /favicon.ico"]);
    for (const acceptEncoding of ["gzip", "deflate", "identity"]) {
      const answer = await sls.getLogsV2WithOptions(
        project,
        logstore,
        request(),
        new Sls.GetLogsV2Headers({ acceptEncoding }),
        new RuntimeOptions({}),
      );
      expect(answer.headers?.["x-log-compresstype"]).toBe(
        acceptEncoding === "identity" ? undefined : acceptEncoding,
      );
      expect(answer.body?.data?.map((row) => row.status)).toEqual(["404"]);
    }
  });

  it("answers GetHistograms with aligned buckets that add up to the matches", async () => {
    const response = await sls.getHistograms(
      project,
      logstore,
      new Sls.GetHistogramsRequest({ from: t0, to: t0 + 60, query: "level: error or level: warn" }),
    );
    const buckets = histogram.parse(response.body);
    expect(buckets).toHaveLength(60);
    expect(buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(3);
    expect(buckets.find((bucket) => bucket.from === t0 + 10)?.count).toBe(1);
    expect(response.headers?.["x-log-progress"]).toBe("Complete");
  });

  it("serves @alicloud/log's getLogs and getHistograms unmodified", async () => {
    const client = logClient(harness.port, accountA);
    const rows = z
      .array(stringRecord)
      .parse(await callLogClient(client, "getLogs", t0, t0 + 3600, { query: "msg: user" }));
    expect(rows.map((row) => row.msg)).toEqual(["user login ok", "user logout"]);
    const counted = z
      .array(stringRecord)
      .parse(await callLogClient(client, "getLogs", t0, t0 + 3600, { query: "* | select count(1) as n" }));
    expect(counted).toEqual([{ __source__: "", __time__: String(t0), n: "5" }]);
    const buckets = histogram.parse(
      await callLogClient(client, "getHistograms", t0, t0 + 3600, { query: "*" }),
    );
    expect(buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(5);
  });

  it("refuses bad queries and parameters with SLS's codes, and keeps serving", async () => {
    const syntax = await slsFailure(getLogs("level: (error"));
    expect(syntax).toMatchObject({ code: "ParameterInvalid", statusCode: 400 });
    expect(syntax.message).toContain("QueryParseError");
    const sqlSyntax = await slsFailure(getLogs("* | select count(* from"));
    expect(sqlSyntax).toMatchObject({ code: "ParameterInvalid", statusCode: 400 });
    const unindexed = await slsFailure(getLogs("region: hangzhou"));
    expect(unindexed.message).toContain("key (region) is not config as key value config");
    const noAnalytics = await slsFailure(getLogs("* | select secret, count(*) group by secret"));
    expect(noAnalytics.message).toContain("Column 'secret' cannot be resolved");
    expect(await slsFailure(getLogs("*", { from: t0, to: t0 }))).toMatchObject({
      code: "InvalidTimeRange",
      statusCode: 400,
    });
    expect(await slsFailure(getLogs("*", { line: 101 }))).toMatchObject({
      code: "InvalidLine",
      statusCode: 400,
    });
    expect(await slsFailure(getLogs("*", { offset: -1 }))).toMatchObject({
      code: "InvalidOffset",
      statusCode: 400,
    });
    const after = await getLogs("*");
    expect(after.body).toHaveLength(5);
  });

  it("refuses queries on a logstore without index config", async () => {
    await sls.createLogStore(
      project,
      new Sls.CreateLogStoreRequest({ logstoreName: "no-index", ttl: 30, shardCount: 1 }),
    );
    const failure = await slsFailure(
      sls.getLogs(project, "no-index", new Sls.GetLogsRequest({ from: t0, to: t0 + 60, query: "*" })),
    );
    expect(failure).toMatchObject({ code: "IndexConfigNotExist", statusCode: 400 });
    expect(failure.message).toContain("logstore without index config");
    const histogramFailure = await slsFailure(
      sls.getHistograms(
        project,
        "no-index",
        new Sls.GetHistogramsRequest({ from: t0, to: t0 + 60, query: "*" }),
      ),
    );
    expect(histogramFailure.code).toBe("IndexConfigNotExist");
  });

  it("keeps another account's logstore out of reach", async () => {
    const other = slsClient(harness.port, accountB);
    const failure = await slsFailure(
      other.getLogs(project, logstore, new Sls.GetLogsRequest({ from: t0, to: t0 + 60, query: "*" })),
    );
    expect(failure).toMatchObject({ code: "Unauthorized", statusCode: 401 });
  });
});
