/**
 * The SLS query engine (search statement, SQL after `|`, index rules, GetLogs paging, histograms) on
 * an in-memory LogRowSource: no server, no storage layer.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { SlsError } from "../../emulator/sls/errors";
import type { LogRow, LogRowSource } from "../../emulator/sls/logRows";
import { compileQuery, runHistogram, runQuery, type SearchPage } from "../../emulator/sls/queryEngine";
import { queryIndexOf } from "../../emulator/sls/queryIndex";
import type { IndexBody } from "../../emulator/sls/schemas";

interface Line {
  time: number;
  source?: string;
  topic?: string;
  fields?: Record<string, string>;
  tags?: Record<string, string>;
}

function rowOf(line: Line): LogRow {
  const entries: [string, string][] = [
    ["__source__", line.source ?? "10.0.0.1"],
    ["__topic__", line.topic ?? ""],
    ...Object.entries(line.fields ?? {}),
    ...Object.entries(line.tags ?? {}).map(([key, value]): [string, string] => [`__tag__:${key}`, value]),
  ];
  const byKey = new Map<string, string>(entries);
  byKey.set("__time__", String(line.time));
  return { time: line.time, get: (key) => byKey.get(key), entries: () => entries };
}

function sourceOf(lines: Line[]): LogRowSource {
  const rows = lines.map(rowOf);
  return { scan: (from, to) => rows.filter((row) => row.time >= from && row.time < to) };
}

const text = (extra: Record<string, unknown> = {}) => ({
  type: "text",
  token: [",", " ", ":", "/", "=", "\n"],
  caseSensitive: false,
  doc_value: true,
  ...extra,
});
const long = { type: "long", doc_value: true };

const fullIndex: IndexBody = {
  line: { token: [",", " ", ":", "/", "=", "\n"], caseSensitive: false },
  keys: {
    level: text(),
    message: text(),
    host: text(),
    status: long,
    latency: { type: "double", doc_value: true },
    method: text({ caseSensitive: true }),
    note: text({ doc_value: false }),
    "__tag__:__path__": text(),
    "__tag__:__hostname__": text(),
  },
};

const lines: Line[] = [
  {
    time: 100,
    topic: "app",
    fields: {
      level: "INFO",
      message: "user login ok",
      host: "web-1",
      status: "200",
      latency: "1.5",
      method: "GET",
      note: "a",
    },
    tags: { __path__: "/var/log/app.log", __hostname__: "web-1" },
  },
  {
    time: 101,
    topic: "app",
    fields: {
      level: "ERROR",
      message: "db timeout after 30s",
      host: "web-2",
      status: "500",
      latency: "30",
      method: "POST",
    },
    tags: { __path__: "/var/log/app.log", __hostname__: "web-2" },
  },
  {
    time: 102,
    source: "10.0.0.2",
    topic: "nginx",
    fields: {
      level: "WARN",
      message: "slow request /api/users",
      host: "web-1",
      status: "404",
      latency: "2",
      method: "get",
    },
    tags: { __path__: "/var/log/nginx/access.log", __hostname__: "web-1" },
  },
  {
    time: 103,
    source: "10.0.0.2",
    topic: "nginx",
    fields: {
      level: "ERROR",
      message: "upstream reset, retrying",
      host: "web-3",
      status: "502",
      latency: "12.25",
    },
    tags: { __path__: "/var/log/nginx/error.log", __hostname__: "web-3" },
  },
  {
    time: 200,
    topic: "app",
    fields: { level: "info", message: "a b c", host: "web-2", status: "200", latency: "0.5", method: "GET" },
    tags: { __path__: "/var/log/app.log", __hostname__: "web-2" },
  },
];

const source = sourceOf(lines);
const page: SearchPage = { line: 100, offset: 0, reverse: false };

function search(query: string, index: IndexBody = fullIndex, from = 0, to = 1000, paging = page) {
  return runQuery(compileQuery(query, queryIndexOf(index)), source, from, to, paging);
}

function times(query: string, index: IndexBody = fullIndex): string[] {
  return search(query, index).rows.map((row) => row.__time__ ?? "");
}

/** SQL rows without the `__source__: ""` and `__time__` (the query's `from`, 0 here) SLS adds to each. */
function sql(query: string, index: IndexBody = fullIndex): Record<string, string>[] {
  return search(query, index).rows.map(({ __source__, __time__, ...columns }) => ({
    ...(__source__ === "" ? {} : { __source__: __source__ ?? "" }),
    ...(__time__ === "0" ? {} : { __time__: __time__ ?? "" }),
    ...columns,
  }));
}

function failure(
  query: string,
  index: IndexBody | "no index" = fullIndex,
): { code: string; message: string } {
  try {
    compileQuery(query, queryIndexOf(index === "no index" ? undefined : index));
  } catch (error) {
    if (error instanceof Error && "code" in error && typeof error.code === "string") {
      return { code: error.code, message: error.message };
    }
    throw error;
  }
  throw new Error(`expected ${query} to fail`);
}

describe("search statement", () => {
  it("matches everything with * or an empty query", () => {
    expect(times("*")).toEqual(["100", "101", "102", "103", "200"]);
    expect(times("")).toHaveLength(5);
    expect(times("   ")).toHaveLength(5);
  });

  it("matches key: value and key:value on a whole token, case-insensitively by default", () => {
    expect(times("level: error")).toEqual(["101", "103"]);
    expect(times("level:ERROR")).toEqual(["101", "103"]);
    expect(times("message: login")).toEqual(["100"]);
    expect(times("message: log")).toEqual([]);
  });

  it("honours a key's caseSensitive", () => {
    expect(times("method: GET")).toEqual(["100", "200"]);
    expect(times("method: get")).toEqual(["102"]);
  });

  it("takes a value with delimiters, quoted or not, as all of its tokens in any order", () => {
    expect(times('message: "login user"')).toEqual(["100"]);
    expect(times('message: "user logout"')).toEqual([]);
    expect(times("host: web-1")).toEqual(["100", "102"]);
  });

  it("treats and / or / not case-insensitively with parentheses and precedence", () => {
    expect(times("level: error and host: web-2")).toEqual(["101"]);
    expect(times("level: error AND host: web-2")).toEqual(["101"]);
    expect(times("level: warn or host: web-3")).toEqual(["102", "103"]);
    expect(times("level: warn OR level: error and host: web-3")).toEqual(["102", "103"]);
    expect(times("(level: warn or level: error) and host: web-3")).toEqual(["103"]);
    expect(times("not level: error")).toEqual(["100", "102", "200"]);
    expect(times("* NOT level: error")).toEqual(["100", "102", "200"]);
    expect(times("level: info not host: web-2")).toEqual(["100"]);
  });

  it("treats juxtaposed conditions as and", () => {
    expect(times("level: error host: web-3")).toEqual(["103"]);
  });

  it("matches bare words over all content fields with a full-text index, not tags or reserved fields", () => {
    expect(times("timeout")).toEqual(["101"]);
    expect(times("TIMEOUT")).toEqual(["101"]);
    expect(times("users")).toEqual(["102"]);
    expect(times("nginx")).toEqual([]);
    expect(times("var")).toEqual([]);
  });

  it("matches nothing by bare words without a full-text index", () => {
    const keysOnly: IndexBody = { keys: { level: text() } };
    expect(times("timeout", keysOnly)).toEqual([]);
    expect(times("level: error", keysOnly)).toEqual(["101", "103"]);
  });

  it("honours a trailing * as a prefix", () => {
    expect(times("message: time*")).toEqual(["101"]);
    expect(times("retry*")).toEqual(["103"]);
    expect(times("message: ime*")).toEqual([]);
  });

  it("searches tags, __topic__ and __source__", () => {
    expect(times("__tag__:__path__: nginx")).toEqual(["102", "103"]);
    expect(times('__tag__:__path__: "/var/log/app.log"')).toEqual(["100", "101", "200"]);
    expect(times("__tag__:__hostname__: web-3")).toEqual(["103"]);
    expect(times("__topic__: nginx")).toEqual(["102", "103"]);
    expect(times("__source__: 10.0.0.2")).toEqual(["102", "103"]);
    expect(times("__source__: 10.0.0")).toEqual([]);
  });

  it("compares long and double keys as numbers, with ranges", () => {
    expect(times("status: 200")).toEqual(["100", "200"]);
    expect(times("status >= 500")).toEqual(["101", "103"]);
    expect(times("status < 300")).toEqual(["100", "200"]);
    expect(times("latency > 2")).toEqual(["101", "103"]);
    expect(times("latency = 2")).toEqual(["102"]);
    expect(times("latency: 1.5")).toEqual(["100"]);
  });

  it("selects by __time__ in [from, to)", () => {
    expect(search("*", fullIndex, 101, 103).rows.map((row) => row.__time__)).toEqual(["101", "102"]);
    expect(search("*", fullIndex, 103, 200).rows.map((row) => row.__time__)).toEqual(["103"]);
  });

  it("pages search results by line and offset, oldest first or newest first with reverse", () => {
    expect(
      search("*", fullIndex, 0, 1000, { line: 2, offset: 1, reverse: false }).rows.map((row) => row.__time__),
    ).toEqual(["101", "102"]);
    expect(
      search("*", fullIndex, 0, 1000, { line: 2, offset: 0, reverse: true }).rows.map((row) => row.__time__),
    ).toEqual(["200", "103"]);
  });

  it("orders lines by __time__ even when the scan is not in time order, keeping ties in scan order", () => {
    const shuffled = sourceOf([
      { time: 5, fields: { status: "1" } },
      { time: 3, fields: { status: "2" } },
      { time: 5, fields: { status: "3" } },
      { time: 4, fields: { status: "4" } },
    ]);
    const statuses = (reverse: boolean) =>
      runQuery(compileQuery("*", queryIndexOf(fullIndex)), shuffled, 0, 10, { ...page, reverse }).rows.map(
        (row) => row.status,
      );
    expect(statuses(false)).toEqual(["2", "4", "1", "3"]);
    expect(statuses(true)).toEqual(["3", "1", "4", "2"]);
  });

  it("shows a line with every field and tag as strings, plus __time__, __source__ and __topic__", () => {
    const [first] = search("status: 404").rows;
    expect(first).toEqual({
      __time__: "102",
      __source__: "10.0.0.2",
      __topic__: "nginx",
      level: "WARN",
      message: "slow request /api/users",
      host: "web-1",
      status: "404",
      latency: "2",
      method: "get",
      "__tag__:__path__": "/var/log/nginx/access.log",
      "__tag__:__hostname__": "web-1",
    });
  });
});

describe("index rules and bad search statements", () => {
  it("refuses every query on a logstore without index config", () => {
    expect(failure("*", "no index")).toEqual({
      code: "IndexConfigNotExist",
      message: "logstore without index config",
    });
  });

  it("refuses key: value on a key without a field index", () => {
    expect(failure("region: hangzhou")).toEqual({
      code: "ParameterInvalid",
      message:
        'key (region) is not config as key value config,if symbol : is in your log,please wrap : with quotation mark "',
    });
    expect(failure("__tag__:__inode__: 5").message).toContain("key (__tag__:__inode__)");
  });

  it("refuses a range on a text key", () => {
    expect(failure("level > 3")).toEqual({
      code: "ParameterInvalid",
      message: "key (level) is not config as numberic column",
    });
  });

  it.each([
    ["(level: error", "<EOF>"],
    ["level: error)", ")"],
    ["level:", "<EOF>"],
    ["level: error and", "<EOF>"],
    ['message: "unterminated', '"'],
    ["or level: error", "or"],
  ])("answers ParameterInvalid for the syntax error in %s", (query, near) => {
    const error = failure(query);
    expect(error.code).toBe("ParameterInvalid");
    expect(error.message).toMatch(
      /^ErrorType:QueryParseError\.ErrorMessage:syntax error error position is from column:\d+ to column:\d+,error near < /,
    );
    expect(error.message).toContain(`error near < ${near} >`);
  });
});

describe("SQL after |", () => {
  it("counts with count(*) and count(1), over the rows the search selected", () => {
    expect(sql("* | select count(*) as n")).toEqual([{ n: "5" }]);
    expect(sql("level: error | SELECT COUNT(1) AS n")).toEqual([{ n: "2" }]);
    expect(sql("level: nothing | select count(*) as n")).toEqual([{ n: "0" }]);
  });

  it("adds __source__ and __time__ to every SQL row, as SLS does", () => {
    expect(search("* | select count(*) as n", fullIndex, 100, 300).rows).toEqual([
      { __source__: "", __time__: "100", n: "5" },
    ]);
  });

  it("groups, orders and limits", () => {
    expect(sql("* | select host, count(*) as pv group by host order by pv desc, host asc")).toEqual([
      { host: "web-1", pv: "2" },
      { host: "web-2", pv: "2" },
      { host: "web-3", pv: "1" },
    ]);
    expect(sql("* | select host, count(*) as pv group by host order by pv desc, host desc limit 1")).toEqual([
      { host: "web-2", pv: "2" },
    ]);
    expect(sql("* | select host, count(*) as pv group by host order by host limit 1, 2")).toEqual([
      { host: "web-2", pv: "2" },
      { host: "web-3", pv: "1" },
    ]);
  });

  it("computes min, max, sum, avg and count(distinct) on numbers", () => {
    expect(
      sql(
        "* | select min(status) as lo, max(status) as hi, sum(status) as total, avg(latency) as mean, count(distinct host) as hosts, count(method) as methods",
      ),
    ).toEqual([{ lo: "200", hi: "502", total: "1806", mean: "9.25", hosts: "3", methods: "4" }]);
  });

  it("types values as Presto does: BIGINT arithmetic stays integer, DOUBLE prints with a fraction", () => {
    expect(
      sql("* | select avg(status) as a, sum(latency) as s, count(*) / 2 as half, count(*) / 2.0 as exact"),
    ).toEqual([{ a: "361.2", s: "46.25", half: "2", exact: "2.5" }]);
    expect(sql("status: 200 | select avg(status) as a, min(latency) * 2 as m")).toEqual([
      { a: "200.0", m: "1.0" },
    ]);
    expect(
      sql("* | select __time__ / 100 * 100 as bucket, count(*) as n group by bucket order by bucket"),
    ).toEqual([
      { bucket: "100", n: "4" },
      { bucket: "200", n: "1" },
    ]);
    expect(sql("* | select __time__ % 100 as r where __time__ = 103")).toEqual([{ r: "3" }]);
  });

  it("names unaliased columns by the column, else _col<n>", () => {
    expect(sql("level: warn | select host, count(*)  group by host")).toEqual([
      { host: "web-1", _col1: "1" },
    ]);
  });

  it("filters with where: comparisons, and / or / not, in, like, is null, between", () => {
    const hosts = (where: string) =>
      sql(`* | select __time__ as t where ${where} order by t`).map((row) => row.t);
    expect(hosts("status = 200")).toEqual(["100", "200"]);
    expect(hosts("status != 200")).toEqual(["101", "102", "103"]);
    expect(hosts("status <> 200")).toEqual(["101", "102", "103"]);
    expect(hosts("status >= 404 and status < 502")).toEqual(["101", "102"]);
    expect(hosts("latency <= 1.5 or level = 'WARN'")).toEqual(["100", "102", "200"]);
    expect(hosts("not (status > 200)")).toEqual(["100", "200"]);
    expect(hosts("host in ('web-1', 'web-3')")).toEqual(["100", "102", "103"]);
    expect(hosts("host not in ('web-1', 'web-3')")).toEqual(["101", "200"]);
    expect(hosts("message like '%time%'")).toEqual(["101"]);
    expect(hosts("message not like '%e%'")).toEqual(["200"]);
    expect(hosts("host like 'web-_'")).toHaveLength(5);
    expect(hosts("method is null")).toEqual(["103"]);
    expect(hosts("method is not null")).toEqual(["100", "101", "102", "200"]);
    expect(hosts("status between 400 and 500")).toEqual(["101", "102"]);
    expect(hosts("__time__ >= 103")).toEqual(["103", "200"]);
  });

  it("compares text as strings and numbers as numbers", () => {
    // level is text: 'ERROR' < 'INFO' < 'WARN' < 'info' as strings.
    expect(sql("* | select count(*) as n where level < 'INFO'")).toEqual([{ n: "2" }]);
    // status is long: 1000 > 502 as numbers (as strings "1000" < "502").
    expect(sql("* | select count(*) as n where status < 1000")).toEqual([{ n: "5" }]);
    // A text column against a number compares numerically where the text is a number.
    expect(sql("* | select count(*) as n where host > 5")).toEqual([{ n: "0" }]);
  });

  it("casts with cast(x as bigint | double | varchar) and try_cast; text that is no number casts to null", () => {
    // level is text: cast to bigint is null for every line, so nothing compares.
    expect(sql("* | select count(*) as n where cast(level as bigint) >= 0")).toEqual([{ n: "0" }]);
    expect(sql("* | select count(*) as n where cast(status as varchar) = '502'")).toEqual([{ n: "1" }]);
    expect(sql("* | select max(try_cast(status as double)) as top")).toEqual([{ top: "502.0" }]);
    expect(() => sql("* | select cast(status as blob) as b")).toThrow(/bigint, double or varchar/);
  });

  it("reads tags, __source__, __topic__ and __time__ as columns", () => {
    expect(
      sql('* | select "__tag__:__path__" as path, count(*) as n group by path order by n desc, path limit 2'),
    ).toEqual([
      { path: "/var/log/app.log", n: "3" },
      { path: "/var/log/nginx/access.log", n: "1" },
    ]);
    expect(
      sql("* | select __source__, __topic__, count(*) as n group by __source__, __topic__ order by n desc"),
    ).toEqual([
      { __source__: "10.0.0.1", __topic__: "app", n: "3" },
      { __source__: "10.0.0.2", __topic__: "nginx", n: "2" },
    ]);
    expect(sql("* | select max(__time__) - min(__time__) as span")).toEqual([{ span: "100" }]);
  });

  it("groups by ordinal, by expression and with having", () => {
    expect(sql("* | select __topic__, count(*) as n group by 1 having count(*) > 2")).toEqual([
      { __topic__: "app", n: "3" },
    ]);
    expect(
      sql("* | select status / 100 as class, count(*) as n group by status / 100 order by class"),
    ).toEqual([
      { class: "2", n: "2" },
      { class: "4", n: "1" },
      { class: "5", n: "2" },
    ]);
  });

  it("hashes text with to_hex(md5(to_utf8(x))), in rows and in groups, NULL in and NULL out", () => {
    const digest = (text: string) => createHash("md5").update(text, "utf8").digest("hex").toUpperCase();
    expect(sql("level: error | select to_hex(md5(to_utf8(message))) as h order by h")).toEqual(
      ["db timeout after 30s", "upstream reset, retrying"]
        .map((message) => ({ h: digest(message) }))
        .sort((a, b) => (a.h < b.h ? -1 : 1)),
    );
    const grouped = sql(
      "* | select to_hex(md5(to_utf8(host))) as h, count(*) as n group by to_hex(md5(to_utf8(host)))",
    );
    expect(grouped).toHaveLength(3);
    expect(grouped).toContainEqual({ h: digest("web-1"), n: "2" });
    expect(sql("* | select to_hex(md5(to_utf8(null))) as h limit 1")).toEqual([{ h: "null" }]);
    // SLS shows a VARBINARY result as Base64.
    expect(sql("level: error and host: web-2 | select md5(to_utf8(message)) as b")).toEqual([
      { b: createHash("md5").update("db timeout after 30s").digest("base64") },
    ]);
  });

  it("measures text in characters with length(x) and in bytes with length(to_utf8(x)), as BIGINT", () => {
    expect(
      sql(
        "host: web-2 and level: error | select length(message) as chars, length(to_utf8(message)) + 1 as bytes",
      ),
    ).toEqual([{ chars: "20", bytes: "21" }]);
    expect(sql("* | select length(to_utf8('é')) as bytes, length('é') as chars limit 1")).toEqual([
      { bytes: "2", chars: "1" },
    ]);
  });

  it("refuses a binary function on text and a string function on a number, as Presto does", () => {
    expect(failure("* | select md5(message)").message).toContain(
      "Unexpected parameters (varchar) for function md5. Expected: md5(varbinary)",
    );
    expect(failure("* | select to_utf8(status)").message).toContain(
      "Unexpected parameters (bigint) for function to_utf8. Expected: to_utf8(varchar)",
    );
    expect(failure("* | select to_hex(to_utf8(host), 2)").message).toContain("for function to_hex");
  });

  it("answers plain selects with a default limit of 100 and its own limit otherwise", () => {
    expect(sql("* | select host order by __time__ desc limit 2")).toEqual([
      { host: "web-2" },
      { host: "web-3" },
    ]);
    const many = sourceOf(Array.from({ length: 250 }, (_, i) => ({ time: i, fields: { status: "200" } })));
    const query = (text: string) =>
      runQuery(compileQuery(text, queryIndexOf(fullIndex)), many, 0, 1000, page).rows.length;
    expect(query("* | select status")).toBe(100);
    expect(query("* | select status limit 200")).toBe(200);
    expect(query("* | select __time__ as t, count(*) as n group by t")).toBe(100);
  });

  it("shows NULL as null", () => {
    expect(sql("status: 502 | select max(method) as m")).toEqual([{ m: "null" }]);
  });

  it("runs with select * and from log", () => {
    const [row] = sql("status: 404 | select * from log");
    expect(row?.host).toBe("web-1");
    expect(row?.["__tag__:__path__"]).toBe("/var/log/nginx/access.log");
  });
});

describe("bad SQL and the analytics rule", () => {
  it("refuses a column without analytics (doc_value) or without a field index", () => {
    expect(failure("* | select note")).toEqual({
      code: "ParameterInvalid",
      message: "line 1:9: Column 'note' cannot be resolved;please add the column in the index attribute",
    });
    expect(failure("* | select count(*) where region = 'x'").message).toContain(
      "Column 'region' cannot be resolved",
    );
    expect(failure('* | select "__tag__:__inode__"').message).toContain(
      "Column '__tag__:__inode__' cannot be resolved",
    );
  });

  it("refuses a selected column that is neither grouped nor aggregated", () => {
    expect(failure("* | select host, level, count(*) group by host").message).toContain(
      "Column 'level' not in GROUP BY clause",
    );
  });

  it("refuses sum and avg of text, aggregates in where, unknown functions", () => {
    expect(failure("* | select sum(host)").message).toBe("key (host) is not config as numberic column");
    expect(failure("* | select host where count(*) > 1").message).toContain(
      "WHERE clause cannot contain aggregations",
    );
    expect(failure("* | select frobnicate(host)").message).toContain("Function frobnicate not registered");
    expect(failure("* | select count(max(status))").message).toContain("Cannot nest aggregations");
  });

  it.each([
    ["* | selec count(*)", "selec"],
    ["* | select count(*) group host", "host"],
    ["* | select count(* ", "<EOF>"],
    ["* | select host where", "<EOF>"],
    ["* | select 'unterminated", "'unterminated"],
    ["* | select host limit x", "x"],
  ])("answers ParameterInvalid for %s", (query, near) => {
    const error = failure(query);
    expect(error.code).toBe("ParameterInvalid");
    expect(error.message).toMatch(/^line 1:\d+: mismatched input '/);
    expect(error.message).toContain(`'${near}'`);
  });

  it("refuses SQL without a search statement before it", () => {
    expect(failure("select count(*)")).toEqual({
      code: "ParameterInvalid",
      message: "sql query must follow search query,please read syntex doc",
    });
  });
});

describe("histograms", () => {
  it("counts the search's matches per aligned bucket over [from, to)", () => {
    const buckets = runHistogram(
      compileQuery("level: error or level: info", queryIndexOf(fullIndex)),
      source,
      90,
      210,
    );
    expect(buckets.length).toBeLessThanOrEqual(60);
    expect(buckets[0]?.from).toBe(90);
    expect(buckets.at(-1)?.to).toBe(210);
    expect(buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(4);
    for (const [position, bucket] of buckets.entries()) {
      expect(bucket.progress).toBe("Complete");
      if (position > 0) expect(bucket.from).toBe(buckets[position - 1]?.to);
    }
    expect(buckets.find((bucket) => bucket.from <= 101 && 101 < bucket.to)?.count).toBe(2);
  });

  it("uses one-second buckets for a short range and wider ones for a day", () => {
    const query = compileQuery("*", queryIndexOf(fullIndex));
    expect(runHistogram(query, source, 100, 104).map((bucket) => bucket.count)).toEqual([1, 1, 1, 1]);
    const day = runHistogram(query, source, 0, 86400);
    expect(day).toHaveLength(48);
    expect(day[0]).toEqual({ from: 0, to: 1800, count: 5, progress: "Complete" });
  });
});

describe("index configs as clients send them", () => {
  it("takes docValue (the official Node SDK's spelling inside keys) like doc_value", () => {
    const camel: IndexBody = { keys: { status: { type: "long", docValue: true } } };
    expect(sql("* | select count(*) as n where status = 200", camel)).toEqual([{ n: "2" }]);
    const off: IndexBody = { keys: { status: { type: "long", docValue: false } } };
    expect(failure("* | select status", off).message).toContain("Column 'status' cannot be resolved");
  });
});

describe("hostile queries", () => {
  /** Fixed, so a failure names a reproducible case (fast-check prints the seed and path). */
  const seed = 13_013;
  const pieces = [
    "level",
    "status",
    "host",
    "__tag__",
    ":",
    "__path__",
    "(",
    ")",
    '"',
    "'",
    "and",
    "OR",
    "not",
    "|",
    "select",
    "SELECT",
    "count(*)",
    "count",
    "distinct",
    "*",
    ",",
    "where",
    "group by",
    "order by",
    "limit",
    "=",
    "<>",
    ">=",
    "<",
    "in",
    "like",
    "is null",
    "between",
    "1",
    "-2.5",
    "1e400",
    "'%x_'",
    "error",
    "\\",
    "as",
    "desc",
    "from log",
    "max(",
    "sum(status)",
    "avg(host)",
    "\u65e5\u5fd7",
    "\n",
    " ",
  ];
  const queryText = fc.oneof(
    fc.array(fc.constantFrom(...pieces), { maxLength: 24 }).map((parts) => parts.join(" ")),
    fc.array(fc.constantFrom(...pieces), { maxLength: 24 }).map((parts) => parts.join("")),
    fc.string({ maxLength: 60 }),
  );

  it("answers every query with rows or a 400 SlsError, never another exception", () => {
    const index = queryIndexOf(fullIndex);
    fc.assert(
      fc.property(queryText, (text) => {
        try {
          const compiled = compileQuery(text, index);
          runQuery(compiled, source, 0, 1000, page);
          runHistogram(compiled, source, 0, 1000);
        } catch (error) {
          if (!(error instanceof SlsError) || error.status !== 400) throw error;
        }
      }),
      { numRuns: 2_000, seed },
    );
  });

  it("refuses deeply nested queries with ParameterInvalid instead of overflowing the stack", () => {
    const depth = 100_000;
    expect(failure(`${"(".repeat(depth)}level: error${")".repeat(depth)}`).code).toBe("ParameterInvalid");
    expect(failure(`* | select count(*) where ${"(".repeat(depth)}status = 1${")".repeat(depth)}`).code).toBe(
      "ParameterInvalid",
    );
    expect(failure(`${"not ".repeat(depth)}level: error`).code).toBe("ParameterInvalid");
  });

  it("runs long flat chains within the token bound and refuses longer ones", () => {
    const chain = (count: number) => Array.from({ length: count }, () => "level: nothing").join(" or ");
    expect(times(`${chain(1_000)} or level: warn`)).toEqual(["102"]);
    const sqlChain = Array.from({ length: 1_000 }, () => "status = 1").join(" or ");
    expect(sql(`* | select count(*) as n where ${sqlChain} or status = 404`)).toEqual([{ n: "1" }]);
    expect(failure(chain(2_000)).message).toContain("too complex");
    expect(failure(`* | select ${Array.from({ length: 3_000 }, () => "1").join(" + ")}`).message).toContain(
      "too complex",
    );
  });
});
