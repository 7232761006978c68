import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import {
  type ConfigIssue,
  formatIssue,
  loadRoutesConfig,
  parseRoutesConfig,
  RoutesConfigError,
  summarizeRoutesConfig,
} from "../../shared/config/routesConfig";

const EXAMPLE = join(__dirname, "../../config/routes.example.yaml");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A small valid routes file as plain data; each test changes one thing. */
function validFile(): { [key: string]: Json } {
  return {
    version: 1,
    hub: { accountId: "1200000000000456", region: "cn-hangzhou" },
    sourceAccounts: [
      {
        uid: "1700000000000397",
        name: "app-b",
        regions: ["cn-hangzhou", "cn-shanghai"],
        roleArn: "acs:ram::1700000000000397:role/logtail-xacct-spoke",
        externalId: "0123456789abcdef0123456789abcdef",
      },
    ],
    destinations: { central: { uid: "1200000000000456", region: "cn-hangzhou" } },
    routes: {
      "app-b-prod": {
        destination: "central",
        // app-b has instances in cn-shanghai; the destination is in cn-hangzhou.
        network: "internet",
        project: "central-logs",
        logstore: "app-b",
        machineGroup: { linux: "app-b-prod-linux", windows: "app-b-prod-windows" },
        identifier: { linux: "app-b-prod-linux", windows: "app-b-prod-windows" },
        logtailConfig: {
          linux: { name: "app-b-prod-linux", filePaths: ["/var/log/app-b/*.log"] },
          windows: { name: "app-b-prod-windows", filePaths: ["C:\\app-b\\logs\\*.log"] },
        },
        sources: [
          {
            account: "1700000000000397",
            retire: { project: "app-b-logs", machineGroup: "app-b-servers", config: "app-b-files" },
            backfill: {
              project: "app-b-logs",
              logstore: "app-b",
              readRoleArn: "acs:ram::1700000000000397:role/etl-read",
            },
          },
        ],
        backfill: { from: "2026-01-01T00:00:00Z", writeRoleArn: "acs:ram::1200000000000456:role/etl-write" },
      },
    },
  };
}

/** Sets a value at a dotted path (`routes.app-b-prod.machineGroup.linux`); `undefined` deletes it. */
function withValue(path: string, value: Json | undefined): string {
  const file = validFile();
  const keys = path.split(".");
  const last = keys.pop();
  let node: Json = file;
  for (const key of keys) {
    if (node === null || typeof node !== "object") throw new Error(`bad test path ${path}`);
    const next: Json | undefined = Array.isArray(node) ? node[Number(key)] : node[key];
    if (next === undefined) throw new Error(`bad test path ${path}`);
    node = next;
  }
  if (last === undefined || node === null || typeof node !== "object")
    throw new Error(`bad test path ${path}`);
  if (Array.isArray(node)) {
    if (value === undefined) node.splice(Number(last), 1);
    else node[Number(last)] = value;
  } else if (value === undefined) {
    delete node[last];
  } else {
    node[last] = value;
  }
  return stringify(file);
}

function issuesOf(yamlText: string): ConfigIssue[] {
  const result = parseRoutesConfig(yamlText);
  return result.ok ? [] : result.issues;
}

function expectIssue(yamlText: string, path: string, message: RegExp): void {
  const issues = issuesOf(yamlText);
  expect(issues.map(formatIssue)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  expect(issues.map((issue) => issue.path)).toContain(path);
}

describe("routes config: accepted", () => {
  test("the shipped example is valid and summarized in one line", () => {
    const config = loadRoutesConfig(EXAMPLE);

    expect(summarizeRoutesConfig(config)).toBe(
      "2 routes, 1 destination, 2 source accounts (3 account-regions), tag key logtail-xacct-route",
    );
  });

  test("a route whose sources are all in the destination's region may use the intranet, its default", () => {
    const file = validFile() as {
      sourceAccounts: Array<{ regions: string[] }>;
      routes: Record<string, Json>;
    };
    const [account] = file.sourceAccounts;
    if (account) account.regions = ["cn-hangzhou"];
    delete (file.routes["app-b-prod"] as { [key: string]: Json }).network;

    const result = parseRoutesConfig(stringify(file as { [key: string]: Json }));

    expect(result.ok ? result.config.routes["app-b-prod"]?.network : result.issues).toBe("intranet");
  });

  test("a route across regions on the intranet is refused: its hosts could never reach the destination", () => {
    const result = parseRoutesConfig(withValue("routes.app-b-prod.network", "intranet"));

    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.issues).toEqual([
      expect.objectContaining({
        path: "routes.app-b-prod.network",
        message:
          "source account app-b (1700000000000397) has instances in cn-shanghai and the destination is in cn-hangzhou: intranet endpoints do not cross regions; set network: internet, with its hosts' agents installed for cn-hangzhou (the internet install)",
      }),
    ]);
  });

  test("the minimal file is valid and gets the documented defaults", () => {
    const result = parseRoutesConfig(stringify(validFile()));

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.tagKey).toBe("logtail-xacct-route");
    expect(result.config.statusTagKey).toBe("logtail-xacct-status");
    expect(result.config.routes["app-b-prod"]?.heartbeatTimeoutSeconds).toBe(600);
    expect(result.config.routes["app-b-prod"]?.backfill?.spl).toBe("*");
  });

  test.each<[string, string, Json]>([
    ["a custom tag key", "tagKey", "team/logs-route"],
    ["a Linux-only route", "routes.app-b-prod.machineGroup", { linux: "app-b-prod-linux" }],
    ["a 128-character machine group", "routes.app-b-prod.machineGroup.linux", "g".repeat(128)],
    ["a 3-character machine group", "routes.app-b-prod.machineGroup.linux", "g_1"],
    ["an identifier with dots and underscores", "routes.app-b-prod.identifier.linux", "App.B_prod-1"],
    ["a 128-character identifier", "routes.app-b-prod.identifier.linux", "i".repeat(128)],
    [
      "a destination other than the hub, with its role",
      "destinations.central",
      {
        uid: "1900000000000001",
        region: "cn-beijing",
        roleArn: "acs:ram::1900000000000001:role/logtail-xacct-destination",
        externalId: "fedcba9876543210fedcba9876543210",
      },
    ],
    [
      "an index",
      "routes.app-b-prod.index",
      { fullText: { caseSensitive: true }, keys: { level: { type: "text" } } },
    ],
    ["a heartbeat timeout of one hour", "routes.app-b-prod.heartbeatTimeoutSeconds", 3600],
    [
      "a processor",
      "routes.app-b-prod.logtailConfig.linux.processors",
      [{ Type: "processor_parse_json_native", SourceKey: "content" }],
    ],
  ])("%s", (_name, path, value) => {
    let text = withValue(path, value);
    if (path === "routes.app-b-prod.machineGroup") {
      // A Linux-only route drops every Windows setting together.
      const file = validFile();
      const route = (file.routes as { [key: string]: { [key: string]: Json } })["app-b-prod"];
      if (route) {
        route.machineGroup = { linux: "app-b-prod-linux" };
        route.identifier = { linux: "app-b-prod-linux" };
        route.logtailConfig = { linux: { name: "app-b-prod-linux", filePaths: ["/var/log/*.log"] } };
      }
      text = stringify(file);
    }
    if (path === "destinations.central") {
      text = text.replace(
        "acs:ram::1200000000000456:role/etl-write",
        "acs:ram::1900000000000001:role/etl-write",
      );
    }

    expect(issuesOf(text)).toEqual([]);
  });
});

describe("routes config: rejected with the path and a reason", () => {
  test.each<[string, string, Json | undefined, string, RegExp]>([
    ["unknown top-level key", "routez", {}, "routez", /unknown key "routez"/],
    [
      "unknown route key (typo)",
      "routes.app-b-prod.logStore",
      "x",
      "routes.app-b-prod.logStore",
      /unknown key "logStore"/,
    ],
    [
      "missing required key",
      "routes.app-b-prod.logstore",
      undefined,
      "routes.app-b-prod.logstore",
      /is required/,
    ],
    ["wrong version", "version", 2, "version", /must be 1/],
    [
      "UID as a YAML number",
      "hub.accountId",
      1200000000000456,
      "hub.accountId",
      /must be a string.*quote it/,
    ],
    ["UID of 15 digits", "sourceAccounts.0.uid", "170000000000039", "sourceAccounts[0].uid", /16-digit/],
    [
      "UID with letters",
      "destinations.central.uid",
      "12000000000004x6",
      "destinations.central.uid",
      /16-digit/,
    ],
    ["UID with a sign", "hub.accountId", "+200000000000456", "hub.accountId", /16-digit/],
    [
      "machine group with capitals",
      "routes.app-b-prod.machineGroup.linux",
      "App-B",
      "routes.app-b-prod.machineGroup.linux",
      /3-128 of lowercase/,
    ],
    [
      "machine group too short",
      "routes.app-b-prod.machineGroup.linux",
      "ab",
      "routes.app-b-prod.machineGroup.linux",
      /3-128/,
    ],
    [
      "machine group too long",
      "routes.app-b-prod.machineGroup.linux",
      "g".repeat(129),
      "routes.app-b-prod.machineGroup.linux",
      /3-128/,
    ],
    [
      "machine group with a dot",
      "routes.app-b-prod.machineGroup.linux",
      "app.b",
      "routes.app-b-prod.machineGroup.linux",
      /3-128/,
    ],
    [
      "identifier with a space",
      "routes.app-b-prod.identifier.linux",
      "app b",
      "routes.app-b-prod.identifier.linux",
      /no spaces, control or shell/,
    ],
    [
      "identifier with a trailing newline",
      "routes.app-b-prod.identifier.linux",
      "app-b\n",
      "routes.app-b-prod.identifier.linux",
      /no spaces/,
    ],
    [
      "identifier with CR",
      "routes.app-b-prod.identifier.linux",
      "app-b\r",
      "routes.app-b-prod.identifier.linux",
      /no spaces/,
    ],
    [
      "identifier with a tab",
      "routes.app-b-prod.identifier.linux",
      "app\tb",
      "routes.app-b-prod.identifier.linux",
      /no spaces/,
    ],
    [
      "identifier with $()",
      "routes.app-b-prod.identifier.linux",
      "$(reboot)",
      "routes.app-b-prod.identifier.linux",
      /shell/,
    ],
    [
      "identifier with a semicolon",
      "routes.app-b-prod.identifier.linux",
      "a;b",
      "routes.app-b-prod.identifier.linux",
      /shell/,
    ],
    [
      "identifier with a backtick",
      "routes.app-b-prod.identifier.linux",
      "a`b`",
      "routes.app-b-prod.identifier.linux",
      /shell/,
    ],
    [
      "identifier with a quote",
      "routes.app-b-prod.identifier.linux",
      "a'b",
      "routes.app-b-prod.identifier.linux",
      /shell/,
    ],
    [
      "identifier with ../",
      "routes.app-b-prod.identifier.linux",
      "../x",
      "routes.app-b-prod.identifier.linux",
      /shell/,
    ],
    [
      "identifier with non-ASCII",
      "routes.app-b-prod.identifier.linux",
      "app-é",
      "routes.app-b-prod.identifier.linux",
      /1-128/,
    ],
    [
      "identifier too long",
      "routes.app-b-prod.identifier.linux",
      "i".repeat(129),
      "routes.app-b-prod.identifier.linux",
      /1-128/,
    ],
    [
      "route with no OS",
      "routes.app-b-prod.machineGroup",
      {},
      "routes.app-b-prod.machineGroup",
      /needs linux, windows or both/,
    ],
    [
      "unknown OS",
      "routes.app-b-prod.identifier.macos",
      "x-mac",
      "routes.app-b-prod.identifier.macos",
      /unknown key "macos"/,
    ],
    [
      "relative Linux path",
      "routes.app-b-prod.logtailConfig.linux.filePaths",
      ["var/log/*.log"],
      "routes.app-b-prod.logtailConfig.linux.filePaths[0]",
      /absolute Linux path/,
    ],
    [
      "Linux path with ..",
      "routes.app-b-prod.logtailConfig.linux.filePaths",
      ["/var/log/../../etc/shadow"],
      "routes.app-b-prod.logtailConfig.linux.filePaths[0]",
      /'\.\.'/,
    ],
    [
      "Windows path without a drive",
      "routes.app-b-prod.logtailConfig.windows.filePaths",
      ["logs\\*.log"],
      "routes.app-b-prod.logtailConfig.windows.filePaths[0]",
      /absolute Windows path/,
    ],
    ["bad project name", "routes.app-b-prod.project", "Central_Logs", "routes.app-b-prod.project", /3-63/],
    ["bad logstore name", "routes.app-b-prod.logstore", "-app", "routes.app-b-prod.logstore", /2-63/],
    ["bad region", "hub.region", "Hangzhou", "hub.region", /region id/],
    [
      "bad role ARN",
      "sourceAccounts.0.roleArn",
      "arn:aws:iam::1:role/x",
      "sourceAccounts[0].roleArn",
      /RAM role ARN/,
    ],
    ["tag key starting with aliyun", "tagKey", "aliyun-route", "tagKey", /not starting with aliyun/],
    ["tag key with a space", "tagKey", "my route", "tagKey", /without spaces/],
    [
      "heartbeat timeout under a minute",
      "routes.app-b-prod.heartbeatTimeoutSeconds",
      10,
      "routes.app-b-prod.heartbeatTimeoutSeconds",
      /60/,
    ],
    [
      "backfill start without a time zone",
      "routes.app-b-prod.backfill.from",
      "2026-01-01 00:00",
      "routes.app-b-prod.backfill.from",
      /ISO-8601/,
    ],
    [
      "SPL over 10 KB",
      "routes.app-b-prod.backfill.spl",
      "*".repeat(10 * 1024 + 1),
      "routes.app-b-prod.backfill.spl",
      /10 KB/,
    ],
    [
      "processor without a type",
      "routes.app-b-prod.logtailConfig.linux.processors",
      [{ SourceKey: "content" }],
      "routes.app-b-prod.logtailConfig.linux.processors[0].Type",
      /required/,
    ],
    ["no source accounts", "sourceAccounts", [], "sourceAccounts", /at least one source account/],
    [
      "route without sources",
      "routes.app-b-prod.sources",
      [],
      "routes.app-b-prod.sources",
      /at least one source account/,
    ],
  ])("%s", (_name, path, value, issuePath, message) => {
    expectIssue(withValue(path, value), issuePath, message);
  });

  test.each<[string, (file: { [key: string]: Json }) => void, string, RegExp]>([
    [
      "route name that is not a valid tag value",
      (file) => {
        const routes = file.routes as { [key: string]: Json };
        routes["App B!"] = routes["app-b-prod"] ?? null;
        delete routes["app-b-prod"];
      },
      "routes.App B!",
      /route names are the tag value/,
    ],
    [
      "a write role shared by two routes",
      (file) => {
        const routes = file.routes as { [key: string]: Json };
        // A second route, like the first but to its own logstore, group and identifier, same write role.
        const copy = JSON.parse(JSON.stringify(route(file))) as { [key: string]: Json };
        copy.logstore = "app-b-staging";
        copy.machineGroup = { linux: "app-b-staging-linux", windows: "app-b-staging-windows" };
        copy.identifier = { linux: "app-b-staging-linux", windows: "app-b-staging-windows" };
        copy.logtailConfig = {
          linux: { name: "app-b-staging-linux", filePaths: ["/var/log/app-b-staging/*.log"] },
          windows: { name: "app-b-staging-windows", filePaths: ["C:\\app-b-staging\\*.log"] },
        };
        routes["app-b-staging"] = copy;
      },
      "routes.app-b-staging.backfill.writeRoleArn",
      /is also route app-b-prod's write role: each route's sources could then write into the other's logstore/,
    ],
    [
      "route to an unknown destination",
      (file) => {
        route(file).destination = "elsewhere";
      },
      "routes.app-b-prod.destination",
      /unknown destination "elsewhere" \(known: central\)/,
    ],
    // Members of every plain object: only the file's own names are destinations.
    ...["constructor", "toString", "__proto__", "hasOwnProperty"].map(
      (name): [string, (file: { [key: string]: Json }) => void, string, RegExp] => [
        `route to ${name}, a member of every plain object, not a destination`,
        (file) => {
          route(file).destination = name;
        },
        "routes.app-b-prod.destination",
        new RegExp(`unknown destination "${name}" \\(known: central\\)`),
      ],
    ),
    [
      "OS settings that do not line up",
      (file) => {
        route(file).identifier = { linux: "app-b-prod-linux" };
      },
      "routes.app-b-prod",
      /windows needs all of machineGroup.windows, identifier.windows and logtailConfig.windows/,
    ],
    [
      "the same identifier for Linux and Windows",
      (file) => {
        route(file).identifier = { linux: "app-b", windows: "app-b" };
      },
      "routes.app-b-prod.identifier.windows",
      /cannot mix Linux and Windows/,
    ],
    [
      "the same machine group for Linux and Windows",
      (file) => {
        route(file).machineGroup = { linux: "app-b", windows: "app-b" };
      },
      "routes.app-b-prod.machineGroup.windows",
      /cannot mix Linux and Windows/,
    ],
    [
      "an identifier shared by two destinations",
      (file) => {
        (file.destinations as { [key: string]: Json }).audit = {
          uid: "1900000000000001",
          region: "cn-hangzhou",
          roleArn: "acs:ram::1900000000000001:role/ltx",
          externalId: "fedcba9876543210fedcba9876543210",
        };
        const copy = structuredClone(route(file));
        copy.destination = "audit";
        copy.project = "audit-logs";
        copy.backfill = null;
        delete copy.backfill;
        copy.sources = [{ account: "1700000000000397" }];
        (file.routes as { [key: string]: Json })["app-b-audit"] = copy;
      },
      "routes.app-b-audit.identifier.linux",
      /identifier "app-b-prod-linux" is already used by route app-b-prod, which sends to another destination/,
    ],
    [
      "an identifier shared by two routes of one destination",
      (file) => {
        const copy = structuredClone(route(file));
        copy.machineGroup = { linux: "other-linux", windows: "other-windows" };
        copy.logtailConfig = {
          linux: { name: "other-linux", filePaths: ["/var/log/x.log"] },
          windows: { name: "other-windows", filePaths: ["C:\\x.log"] },
        };
        (file.routes as { [key: string]: Json })["app-b-copy"] = copy;
      },
      "routes.app-b-copy.identifier.linux",
      /already used by route app-b-prod \(line \d+\)$/,
    ],
    [
      "a machine group shared by two routes in one project",
      (file) => {
        const copy = structuredClone(route(file));
        copy.identifier = { linux: "other-linux", windows: "other-windows" };
        copy.logtailConfig = {
          linux: { name: "other-linux", filePaths: ["/var/log/x.log"] },
          windows: { name: "other-windows", filePaths: ["C:\\x.log"] },
        };
        (file.routes as { [key: string]: Json })["app-b-copy"] = copy;
      },
      "routes.app-b-copy.machineGroup.linux",
      /machine group "app-b-prod-linux" is already used by route app-b-prod/,
    ],
    [
      "a source account listed twice",
      (file) => {
        const accounts = file.sourceAccounts as Json[];
        accounts.push(structuredClone(accounts[0] ?? null));
      },
      "sourceAccounts[1].uid",
      /duplicate source account 1700000000000397/,
    ],
    [
      "a spoke role in another account",
      (file) => {
        const accounts = file.sourceAccounts as { [key: string]: Json }[];
        if (accounts[0]) accounts[0].roleArn = "acs:ram::1800000000000512:role/x";
      },
      "sourceAccounts[0].roleArn",
      /must be a role of account 1700000000000397/,
    ],
    [
      "a route source that is not a source account",
      (file) => {
        route(file).sources = [{ account: "1800000000000512" }];
        delete route(file).backfill;
      },
      "routes.app-b-prod.sources[0].account",
      /account 1800000000000512 is not in sourceAccounts/,
    ],
    [
      "a read role outside the source account",
      (file) => {
        const sources = route(file).sources as { [key: string]: { [key: string]: Json } }[];
        const backfill = sources[0]?.backfill;
        if (backfill) backfill.readRoleArn = "acs:ram::1200000000000456:role/etl-read";
      },
      "routes.app-b-prod.sources[0].backfill.readRoleArn",
      /must be a role of the source account 1700000000000397/,
    ],
    [
      "a write role outside the destination account",
      (file) => {
        const backfill = route(file).backfill as { [key: string]: Json };
        backfill.writeRoleArn = "acs:ram::1700000000000397:role/etl-write";
      },
      "routes.app-b-prod.backfill.writeRoleArn",
      /must be a role of the destination account 1200000000000456/,
    ],
    [
      "a source backfill without the route's backfill",
      (file) => {
        delete route(file).backfill;
      },
      "routes.app-b-prod.sources[0].backfill",
      /needs the route's backfill/,
    ],
    [
      "a backfill that ends before it starts",
      (file) => {
        const backfill = route(file).backfill as { [key: string]: Json };
        backfill.to = "2025-12-31T00:00:00Z";
      },
      "routes.app-b-prod.backfill.to",
      /later than backfill.from/,
    ],
    [
      "a destination outside the hub without a role",
      (file) => {
        (file.destinations as { [key: string]: Json }).central = {
          uid: "1900000000000001",
          region: "cn-hangzhou",
        };
      },
      "destinations.central.roleArn",
      /is required: destination 1900000000000001 is not the hub account/,
    ],
    [
      "a source account without an ExternalId",
      (file) => {
        const [account] = file.sourceAccounts as Array<{ [key: string]: Json }>;
        if (account) delete account.externalId;
      },
      "sourceAccounts[0].externalId",
      /is required: a secret of 16 or more characters/,
    ],
    [
      "a guessable ExternalId",
      (file) => {
        const [account] = file.sourceAccounts as Array<{ [key: string]: Json }>;
        if (account) account.externalId = "logtail-xacct";
      },
      "sourceAccounts[0].externalId",
      /must be 16 to 1224/,
    ],
    [
      "a destination role without an ExternalId",
      (file) => {
        (file.destinations as { [key: string]: Json }).central = {
          uid: "1900000000000001",
          region: "cn-hangzhou",
          roleArn: "acs:ram::1900000000000001:role/logtail-xacct-destination",
        };
      },
      "destinations.central.externalId",
      /is required with roleArn/,
    ],
    [
      "the status tag key equal to the route tag key",
      (file) => {
        file.tagKey = "route";
        file.statusTagKey = "route";
      },
      "statusTagKey",
      /must differ from tagKey/,
    ],
  ])("%s", (_name, change, issuePath, message) => {
    const file = validFile();
    change(file);

    expectIssue(stringify(file), issuePath, message);
  });

  test("a duplicate route name is reported with its line", () => {
    const text = readFileSync(EXAMPLE, "utf8").replace("  payments-prod:", "  app-b-prod:");

    const issues = issuesOf(text);

    expect(issues).toHaveLength(1);
    expect(formatIssue(issues[0] ?? { path: "", message: "" })).toMatch(
      /^routes\.app-b-prod: duplicate key "app-b-prod": each route may appear once \(line \d+\)$/,
    );
  });

  test("YAML that does not parse is reported with its line", () => {
    const issues = issuesOf("version: 1\nroutes: [unclosed\n");

    expect(issues[0]?.message).toMatch(/^not valid YAML/);
    expect(issues[0]?.line).toBeGreaterThan(0);
  });

  test("every problem of a file is reported at once, each with the line of the value", () => {
    const text = readFileSync(EXAMPLE, "utf8")
      .replace(
        "linux: app-b-prod-linux\n      windows: app-b-prod-windows\n    identifier",
        "linux: App_B\n      windows: app-b-prod-windows\n    identifier",
      )
      .replace("heartbeatTimeoutSeconds: 600", "heartbeatTimeoutSecond: 600");

    const issues = issuesOf(text);

    expect(issues.map(formatIssue)).toEqual([
      expect.stringMatching(/^routes\.app-b-prod\.machineGroup\.linux: must be 3-128.* \(line \d+\)$/),
      expect.stringMatching(/^routes\.app-b-prod\.heartbeatTimeoutSecond: unknown key.* \(line \d+\)$/),
    ]);
    const lines = text.split("\n");
    const machineGroupLine = issues[0]?.line ?? 0;
    expect(lines[machineGroupLine - 1]).toContain("App_B");
  });

  test("an unreadable file is a RoutesConfigError naming the file", () => {
    expect(() => loadRoutesConfig("/nonexistent/routes.yaml")).toThrow(RoutesConfigError);
    expect(() => loadRoutesConfig("/nonexistent/routes.yaml")).toThrow(
      /\/nonexistent\/routes.yaml.*cannot read the file \(ENOENT\)/s,
    );
  });
});

function route(file: { [key: string]: Json }): { [key: string]: Json } {
  const routes = file.routes as { [key: string]: { [key: string]: Json } };
  const found = routes["app-b-prod"];
  if (!found) throw new Error("the test file has no app-b-prod route");
  return found;
}
