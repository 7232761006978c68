/**
 * Hostile input against the real pipeline steps on the local stack: route tag values set with the
 * real SDK, events fed to the parser and to the real authorize handler, and poison on the heartbeat
 * queue. The property that matters: whatever comes in, every command Cloud Assistant receives binds
 * only a UID and identifiers taken from the routes file, and no hostile instance is ever touched.
 *
 * Property runs use one fixed seed (fast-check prints it, with the failing path, on a failure), so a
 * run is reproducible: `SEED` below.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { TemporaryCredentials } from "../../emulator/core/accounts";
import type { Invocation } from "../../emulator/ecs/cloudAssistant";
import { handler as authorizeHandler } from "../../functions/authorize/index";
import { CloudError } from "../../shared/adapters/cloudError";
import {
  ACCOUNT_UID,
  CUSTOM_IDENTIFIER,
  INSTANCE_ID,
  REGION_ID,
  ROUTE_NAME,
} from "../../shared/config/patterns";
import { decodeFcEvent } from "../../shared/events/fcEvent";
import { type ParsedInstanceEvent, parseInstanceEvent } from "../../shared/events/instanceEvents";
import { compactScript, withoutSection } from "../../shared/hostscript/hostCommand";
import { type DeadLetterRecord, parseDeadLetter } from "../../shared/messages/deadLetters";
import { type AwaitHeartbeatMessage, encodeMessage } from "../../shared/messages/queueMessages";
import type { ReceivedMessage } from "../../shared/ports/queue";
import { authorizeInstances } from "../../shared/usecases/authorizeInstances";
import { checkHeartbeats, type HeartbeatDeps } from "../../shared/usecases/checkHeartbeats";
import {
  APPLY_QUEUE,
  config,
  DEAD_LETTER_QUEUE,
  HEARTBEAT_QUEUE,
  HUB,
  PAYMENTS,
  type PipelineKit,
  REGION,
  SPOKE,
  startPipelineKit,
} from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

/** Every property below runs from this seed. */
const SEED = 20_260_401;
const UNKNOWN_ACCOUNT = "1999999999999999";
const KEYS = { tagKey: config.tagKey, statusTagKey: config.statusTagKey };

const BATCH = 9;
const hostileIds = (prefix: string) =>
  Array.from({ length: BATCH }, (_, i) => `i-bp1hx${prefix}${String(i).padStart(6, "0")}`);
const HOSTILE: Record<string, string[]> = { [SPOKE]: hostileIds("spoke"), [PAYMENTS]: hostileIds("pay") };
const GOOD: Record<string, { id: string; route: string }> = {
  [SPOKE]: { id: "i-bp1hxspokegood01", route: "app-b-prod" },
  [PAYMENTS]: { id: "i-bp1hxpaygood0001", route: "payments-prod" },
};
const ALL_HOSTILE_IDS = Object.values(HOSTILE).flat();
const GOOD_IDS = new Set(Object.values(GOOD).map((g) => g.id));
const goodOf = (account: string) => {
  const good = GOOD[account];
  if (!good) throw new Error(`no good instance in ${account}`);
  return good;
};
const hostileOf = (account: string) => HOSTILE[account] ?? [];

// ---- what the routes file allows on a host --------------------------------------------------------

const ROUTE_NAMES = Object.keys(config.routes);
const ROUTE_UIDS = new Set(Object.values(config.destinations).map((d) => d.uid));
const ROUTE_IDENTIFIERS = new Set(
  Object.values(config.routes).flatMap((route) => Object.values(route.identifier)),
);
const ROUTE_PATHS = new Set(
  Object.values(config.routes).flatMap((route) =>
    Object.values(route.logtailConfig).flatMap((logtail) => logtail?.filePaths ?? []),
  ),
);

function allowedFor(account: string, value: string): boolean {
  const route = Object.hasOwn(config.routes, value) ? config.routes[value] : undefined;
  return route?.sources.some((source) => source.account === account) === true;
}

/** The status a hostile tag value must leave on an instance of `account` (undefined: untouched). */
function expectedStatus(account: string, value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (!ROUTE_NAME.test(value)) return "failed:InvalidRouteTag";
  const route = Object.hasOwn(config.routes, value) ? config.routes[value] : undefined;
  if (route === undefined) return "failed:UnknownRoute";
  if (!route.sources.some((source) => source.account === account)) return "failed:RouteNotAllowedForAccount";
  throw new Error(`${JSON.stringify(value)} is a route ${account} may use: not a hostile value`);
}

/** The words of the `set -- …` line, decoded as a POSIX shell would: only '…' and \' are allowed. */
function shellWords(line: string): string[] {
  if (line === "" || line.startsWith(" ") || line.endsWith(" "))
    throw new Error(`argument line ${JSON.stringify(line)} has stray spaces`);
  const words: string[] = [];
  for (let i = 0; i < line.length; i++) {
    let word = "";
    let quoted = false;
    while (i < line.length && line[i] !== " ") {
      if (line[i] === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new Error(`unterminated quote in ${JSON.stringify(line)}`);
        word += line.slice(i + 1, end);
        i = end + 1;
        quoted = true;
      } else if (line.startsWith("\\'", i)) {
        word += "'";
        i += 2;
        quoted = true;
      } else {
        throw new Error(`unquoted ${JSON.stringify(line[i])} in the argument line ${JSON.stringify(line)}`);
      }
    }
    if (!quoted) throw new Error(`an empty word in ${JSON.stringify(line)}`);
    words.push(word);
  }
  return words;
}

/**
 * linux.sh as shipped for an action: without the sections that action never runs (inspect's file
 * listing unless it lists files; authorize's and revoke's own code for the other actions; the
 * host's facts for revoke).
 */
function shippedLinux(scripts: { linux: string }, verb: string | undefined, listsFiles: boolean): string {
  const dropped = [
    ...(listsFiles ? [] : ["inspect-files"]),
    ...(verb === "authorize" ? [] : ["authorize-only"]),
    ...(verb === "revoke" ? ["host-facts"] : ["revoke-only"]),
  ];
  return compactScript(dropped.reduce((script, section) => withoutSection(script, section), scripts.linux));
}

/** The host-script arguments of a linux command; checks the rest of the script is the script itself. */
function commandArguments(invocation: Invocation, scripts: { linux: string }): string[] {
  expect(invocation.type).toBe("RunShellScript");
  // Cloud Assistant's own {{parameter}} substitution pastes values unquoted: it must never be used.
  expect(invocation.parameters).toEqual({});
  const script = Buffer.from(invocation.commandContentBase64, "base64").toString("utf8");
  const lines = script.split("\n");
  const argumentLines = lines.filter((line) => line.startsWith("set -- "));
  expect(argumentLines).toHaveLength(1);
  const argumentLine = argumentLines[0] ?? "";
  // Right after the shebang: the arguments are bound before any line of the script runs.
  expect(lines.indexOf(argumentLine)).toBe(lines[0]?.startsWith("#!") ? 1 : 0);
  const words = shellWords(argumentLine.slice("set -- ".length));
  // Nothing but the one argument line differs from the host script as shipped (the file listing
  // only with an inspect that lists files).
  const shipped = shippedLinux(scripts, words[0], words.includes("--path"));
  expect(lines.filter((line) => line !== argumentLine).join("\n")).toBe(shipped);
  return words;
}

/** A command's arguments are a verb, a UID from the routes file and identifiers from the routes file. */
function checkArguments(words: string[], verbs: readonly string[]): void {
  const [verb, ...rest] = words;
  expect(verbs).toContain(verb);
  if (verb === "inspect") {
    // Plain, or listing the routes file's paths: `--since <seconds> (--path <filePath>)...`.
    if (rest.length === 0) return;
    expect(rest.slice(0, 2)).toEqual(["--since", expect.stringMatching(/^[0-9]{1,12}$/)]);
    const pairs = rest.slice(2);
    expect(pairs.length > 0 && pairs.length % 2 === 0).toBe(true);
    for (let i = 0; i < pairs.length; i += 2) {
      expect(pairs[i]).toBe("--path");
      expect(ROUTE_PATHS.has(pairs[i + 1] ?? "")).toBe(true);
    }
    return;
  }
  // authorize --uid U --id I [--adopt] | revoke --uid U --id I [--id I]... [--other-id J]...
  if (verb === "authorize" && rest.length === 5) expect(rest.pop()).toBe("--adopt");
  if (verb === "authorize") expect(rest).toHaveLength(4);
  expect(rest.length >= 4 && rest.length % 2 === 0).toBe(true);
  const firstOther = rest.indexOf("--other-id");
  const idsEnd = firstOther === -1 ? rest.length : firstOther;
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i];
    const value = rest[i + 1] ?? "";
    expect(flag).toBe(i === 0 ? "--uid" : i < idsEnd ? "--id" : "--other-id");
    if (i === 0) {
      expect(value).toMatch(ACCOUNT_UID);
      expect(ROUTE_UIDS.has(value)).toBe(true);
    } else {
      expect(value).toMatch(CUSTOM_IDENTIFIER);
      expect(ROUTE_IDENTIFIERS.has(value)).toBe(true);
    }
  }
}

// ---- hostile route tag values ----------------------------------------------------------------------

const SHELL_PAYLOADS = [
  ";",
  "; reboot",
  "$(reboot)",
  "`reboot`",
  "|",
  "| sh",
  "&",
  "&& curl evil",
  ">",
  "> /etc/passwd",
  "<",
  "< /dev/zero",
  "\n",
  "\nreboot",
  "\r",
  "\r\nreboot",
  "../",
  "../../etc/passwd",
  "'",
  "' '",
  "'\\''",
  '"',
  '"$(id)"',
  "\\",
  "\u0000",
  "\u0007",
  "\u001b[2J",
  "\u007f",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell payload, not a template
  "${IFS}",
  "$HOME",
  "*",
  "?",
  "~",
  "#",
  "!!",
  "{a,b}",
  "\t",
  "' --uid '1999999999999999",
  " --id evil",
  "-rf",
];
const PADDING = [" ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u200b", "\ufeff", "\u3000", "\u2028"];
const CONFUSABLES: Record<string, string[]> = {
  a: ["\u0430", "\u0251", "\uff41"],
  p: ["\u0440", "\u03c1", "\uff50"],
  o: ["\u043e", "\u03bf", "0"],
  e: ["\u0435", "\u0454"],
  r: ["\u0433", "\uff52"],
  d: ["\u0501", "\u217e"],
  b: ["\u042c", "\u0184", "\uff42"],
  y: ["\u0443"],
  m: ["\u043c"],
  n: ["\u043f", "\u0578"],
  t: ["\u0442"],
  s: ["\u0455", "5"],
  "-": ["\u2010", "\u2011", "\u2013", "\u2212", "\u00ad", "_"],
};
const PROTOTYPE_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "tostring",
  "valueOf",
  "valueof",
  "hasOwnProperty",
  "hasownproperty",
  "isprototypeof",
  "__defineGetter__",
];

const routeName = fc.constantFrom(...ROUTE_NAMES);
const controlChar = fc
  .oneof(fc.integer({ min: 0, max: 31 }), fc.constant(127))
  .map((c) => String.fromCharCode(c));

/** Tag values an attacker (or a slip) could set; none of them is a route the account may use. */
function hostileTagValue(account: string): fc.Arbitrary<string> {
  return fc
    .oneof(
      // Shell metacharacters before, inside or after a real route name.
      fc.tuple(routeName, fc.constantFrom(...SHELL_PAYLOADS), fc.nat()).map(([name, payload, at]) => {
        const cut = at % (name.length + 1);
        return name.slice(0, cut) + payload + name.slice(cut);
      }),
      // Look-alikes: one character of a route name swapped for a confusable one.
      fc.tuple(routeName, fc.nat(), fc.nat()).map(([name, at, pick]) => {
        const index = at % name.length;
        const char = name[index] ?? "a";
        const options = CONFUSABLES[char] ?? [String.fromCharCode(char.charCodeAt(0) + 0xfee0)];
        return name.slice(0, index) + (options[pick % options.length] ?? "") + name.slice(index + 1);
      }),
      // Whitespace (and invisible characters) around a route name.
      fc
        .tuple(routeName, fc.constantFrom(...PADDING), fc.constantFrom("start", "end", "both"))
        .map(([name, pad, side]) =>
          side === "start" ? pad + name : side === "end" ? name + pad : pad + name + pad,
        ),
      // Case variants of a route name.
      fc
        .tuple(routeName, fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }))
        .map(([name, upper]) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(""))
        .filter((value) => !ROUTE_NAMES.includes(value)),
      // Route names of the routes file: only those this account's allowlist does not list survive.
      routeName,
      fc.constantFrom(...PROTOTYPE_KEYS),
      // Leading dashes: arguments to the script, not a route.
      fc
        .tuple(fc.constantFrom("-", "--", "--uid ", "--id=", "-- "), fc.oneof(routeName, fc.constant("x")))
        .map(([dash, rest]) => dash + rest),
      // Route-shaped names that are not in the routes file.
      fc.stringMatching(ROUTE_NAME),
      fc
        .tuple(routeName, fc.constantFrom("-x", "2", "-", "prod", "-app-b-prod"))
        .map(([name, tail]) => name + tail),
      fc.constantFrom(
        "..",
        "../app-b-prod",
        "./app-b-prod",
        "/app-b-prod",
        "app-b-prod/../payments-prod",
        "app-b-prod/",
      ),
      fc.string({ unit: controlChar, minLength: 1, maxLength: 12 }),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.string({ maxLength: 40 }),
      // Over the tag API's limit: refused there, with its own error.
      fc.integer({ min: 129, max: 10_240 }).map((n) => "$(reboot);".repeat(Math.ceil(n / 10)).slice(0, n)),
      fc.constant(""),
    )
    .filter((value) => !allowedFor(account, value));
}

const TEN_KB = "x".repeat(10_240);
/** Hand-picked: every case the brief names, plus a few that have bitten other tag-driven systems. */
const TAG_CORPUS: string[] = [
  "; reboot",
  "app-b-prod; reboot",
  "$(reboot)",
  "app-b-prod$(reboot)",
  "`reboot`",
  "app-b-prod | sh",
  "app-b-prod && curl evil",
  "app-b-prod > /etc/passwd",
  "app-b-prod < /dev/zero",
  "app-b-prod\nreboot",
  "app-b-prod\r",
  "app-b-prod\r\n",
  "../app-b-prod",
  "../../etc/passwd",
  "app-b-prod'",
  "app-b-prod' --uid '1999999999999999",
  '"app-b-prod"',
  "'app-b-prod'",
  "app-b-prod\u0000",
  "\u0000",
  "app\u0000-b-prod",
  "\u001b[31mapp-b-prod",
  "\u007f",
  "\u0430pp-b-prod", // Cyrillic а
  "app-b-pr\u043ed", // Cyrillic о
  "app\u2010b\u2010prod", // Unicode hyphens
  "ａｐｐ-ｂ-ｐｒｏｄ", // fullwidth
  "app-b-prod\u200b", // zero-width space
  "\ufeffapp-b-prod",
  "APP-B-PROD",
  "App-b-prod",
  TEN_KB,
  `$(reboot)${TEN_KB}`,
  "a".repeat(63), // the longest route name: route-shaped, but no such route
  "a".repeat(128), // the tag API's own limit: accepted, and not a route name
  "a".repeat(129),
  "",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "-app-b-prod",
  "--uid",
  "-",
  " app-b-prod",
  "app-b-prod ",
  " app-b-prod ",
  "\tapp-b-prod",
  "app-b-prod\n",
  "payments-prod\n",
  "app-b-prod-x",
  "app-b-prod,payments-prod",
  "app-b-prod payments-prod",
  "*",
  "app-b-*",
  "aliyun-app-b-prod", // reserved prefix: the tag API refuses it
  "http://evil/app-b-prod",
  "\ud800", // a lone surrogate: the SDK cannot even encode it
  // Route names of the routes file: app-b-prod is not in payments' allowlist.
  "app-b-prod",
  "payments-prod",
];

// ---- hostile events ---------------------------------------------------------------------------------

const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);
const hostileText = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.constantFrom("$(reboot)", "`id`", "; reboot", "../../etc/passwd", "\u0000", "\r\n", "'", "", TEN_KB),
);
const KNOWN_IDS = [...ALL_HOSTILE_IDS, ...GOOD_IDS];
const accountValue = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(SPOKE, PAYMENTS, HUB, UNKNOWN_ACCOUNT) },
  { weight: 1, arbitrary: fc.stringMatching(ACCOUNT_UID) },
  { weight: 1, arbitrary: fc.constantFrom(`${SPOKE}\n`, ` ${SPOKE}`, `${SPOKE}0`, "1700000000000397;id") },
  { weight: 1, arbitrary: fc.constant(Number(SPOKE)) },
  { weight: 1, arbitrary: hostileText },
  { weight: 1, arbitrary: wrongType },
);
const regionValue = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(REGION, "cn-shanghai", "us-west-1") },
  { weight: 1, arbitrary: fc.constantFrom("cn-hangzhou\n", "CN-HANGZHOU", "../cn-hangzhou", "cn-$(id)") },
  { weight: 1, arbitrary: hostileText },
  { weight: 1, arbitrary: wrongType },
);
const orHostile = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 20, arbitrary: good as fc.Arbitrary<unknown> }, hostileText, wrongType);

/**
 * Envelopes of every kind authorize reads, naming instances among `known` (and made-up ones): every
 * field possibly mistyped or hostile, and (a quarter of them) any field missing.
 */
function hostileEvents(known: readonly string[]) {
  const instanceIdValue = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.stringMatching(INSTANCE_ID) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...known, "i-"), fc.constantFrom(...SHELL_PAYLOADS))
        .map(([id, payload]) => id + payload),
    },
    { weight: 1, arbitrary: fc.constantFrom("I-BP1HXSPOKEGOOD01", "i-bp1hxspokegood01 ", "i-abc", TEN_KB) },
    { weight: 1, arbitrary: hostileText },
    { weight: 1, arbitrary: wrongType },
  );
  const idList = fc.oneof(
    fc.array(instanceIdValue, { maxLength: 4 }),
    fc.array(instanceIdValue, { maxLength: 4 }).map((ids) => JSON.stringify(ids)),
    instanceIdValue,
  );
  const data = fc.record(
    {
      eventName: orHostile(
        fc.constantFrom("TagResources", "UntagResources", "AddTags", "RemoveTags", "Stop"),
      ),
      errorCode: fc.oneof({ weight: 6, arbitrary: fc.constantFrom("", null) }, hostileText),
      acsRegion: regionValue,
      regionId: regionValue,
      userId: accountValue,
      userIdentity: fc.oneof(fc.record({ accountId: accountValue }, { requiredKeys: [] }), wrongType),
      requestParameters: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.record(
            {
              ResourceType: orHostile(fc.constantFrom("instance", "INSTANCE", "disk")),
              "ResourceId.1": instanceIdValue,
              "ResourceId.2": instanceIdValue,
              ResourceId: idList,
              InstanceId: idList,
              "Tag.1.Key": orHostile(fc.constantFrom(config.tagKey, config.statusTagKey, "owner")),
              "Tag.1.Value": hostileText,
              TagKey: orHostile(fc.constantFrom(config.tagKey, config.statusTagKey)),
            },
            { requiredKeys: [] },
          ),
        },
        { weight: 1, arbitrary: wrongType },
      ),
      referencedResources: fc.oneof(fc.record({ "ACS::ECS::Instance": idList }), wrongType),
      content: fc.oneof(
        fc.record(
          {
            resourceId: instanceIdValue,
            instanceId: instanceIdValue,
            state: orHostile(fc.constantFrom("Running", "Stopped")),
          },
          { requiredKeys: [] },
        ),
        wrongType,
      ),
      resourceId: instanceIdValue,
      resourceType: orHostile(fc.constantFrom("ACS::ECS::Instance", "ACS::ECS::Disk")),
      configuration: fc.oneof(
        fc
          .array(
            fc.record({ TagKey: fc.constantFrom(config.tagKey, config.statusTagKey), TagValue: hostileText }),
            { maxLength: 2 },
          )
          .map((tags) => JSON.stringify({ Tags: { Tag: tags } })),
        hostileText,
        wrongType,
      ),
      changeType: orHostile(fc.constant("UPDATE")),
      changedKeys: orHostile(fc.constant(["Tags"])),
    },
    { requiredKeys: [] },
  );
  const envelope = {
    specversion: orHostile(fc.constant("1.0")),
    id: orHostile(fc.uuid()),
    source: orHostile(fc.constantFrom("acs.ecs", "acs.config")),
    type: orHostile(
      fc.constantFrom(
        "ecs:ActionTrail:ApiCall",
        "ecs:Instance:StateChange",
        "config:Config:ConfigurationItemChangeNotification",
      ),
    ),
    aliyunaccountid: accountValue,
    aliyunoriginalaccountid: fc.option(accountValue, { nil: undefined }),
    aliyunregionid: regionValue,
    data: fc.oneof({ weight: 20, arbitrary: data }, hostileText, wrongType),
  };
  return fc.oneof(
    { weight: 3, arbitrary: fc.record(envelope) },
    { weight: 1, arbitrary: fc.record(envelope, { requiredKeys: [] }) },
  );
}
const hostileEvent = hostileEvents(KNOWN_IDS);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const firstString = (...values: unknown[]) => values.find((v): v is string => typeof v === "string");

/** What any parse of any input must satisfy. */
function checkParsed(event: unknown, parsed: ParsedInstanceEvent): void {
  expect(["observe", "ignored", "rejected"]).toContain(parsed.kind);
  if (parsed.kind !== "observe") {
    expect(typeof parsed.reason).toBe("string");
    expect(parsed.reason.length).toBeGreaterThan(0);
    if (!isObject(event)) expect(parsed.kind).toBe("rejected");
    return;
  }
  if (!isObject(event)) throw new Error("a non-object event was observed");
  const data = isObject(event.data) ? event.data : {};
  const identity = isObject(data.userIdentity) ? data.userIdentity : {};
  expect(parsed.dedupeKey).toBe(`${String(event.source)}/${String(event.id)}`);
  expect(parsed.instanceIds.length).toBeGreaterThan(0);
  expect(new Set(parsed.instanceIds).size).toBe(parsed.instanceIds.length);
  const text = JSON.stringify(event);
  for (const id of parsed.instanceIds) {
    expect(id).toMatch(INSTANCE_ID);
    expect(text).toContain(`${id}`);
  }
  expect(Number.isInteger(parsed.rejectedIds) && parsed.rejectedIds >= 0).toBe(true);
  // The account is the first one the event's payload names — the instance's ARN, the caller, the
  // sender — and the envelope's only for an event never forwarded (after forwarding it is the
  // hub's); never a fallback past a present but invalid one. A sender other than the account named
  // is refused, so an observed event with a sender names the sender's instances.
  const arn = /^acs:ecs:([a-z0-9-]+):(\d+):instance\/[^/]+$/.exec(
    firstString(event.subject, data.resourceArn) ?? "",
  );
  const forwarded =
    typeof event.aliyunoriginalaccountid === "string" ||
    (typeof event.aliyuneventbusname === "string" && event.aliyuneventbusname !== "default");
  expect(parsed.accountId).toMatch(ACCOUNT_UID);
  expect(parsed.accountId).toBe(
    firstString(
      arn?.[2],
      identity.accountId,
      event.aliyunoriginalaccountid,
      forwarded ? undefined : event.aliyunaccountid,
    ),
  );
  if (typeof event.aliyunoriginalaccountid === "string")
    expect(parsed.accountId).toBe(event.aliyunoriginalaccountid);
  expect(parsed.region).toMatch(REGION_ID);
  expect(parsed.region).toBe(
    firstString(arn?.[1], data.acsRegion, data.regionId, forwarded ? undefined : event.aliyunregionid),
  );
}

let eventCounter = 0;
const EVENT_CORPUS: Array<{ name: string; text: string }> = [
  { name: "not JSON", text: "{not json" },
  { name: "empty", text: "" },
  { name: "null", text: "null" },
  { name: "a number", text: "42" },
  { name: "a string", text: '"ecs:ActionTrail:ApiCall"' },
  { name: "an array of events", text: JSON.stringify([tagEvent([GOOD[SPOKE]?.id])]) },
  { name: "NUL bytes", text: "\u0000\u0000" },
  { name: "10 KB of text", text: TEN_KB },
  { name: "no data", text: JSON.stringify({ ...tagEvent([]), data: undefined }) },
  { name: "data is a string", text: JSON.stringify({ ...tagEvent([]), data: "TagResources" }) },
  {
    name: "instance ids with shell characters",
    text: JSON.stringify(tagEvent(["i-bp1hxspokegood01;reboot", "i-$(reboot)", "`id`", "i-../../x"])),
  },
  {
    name: "a 10 KB instance id",
    text: JSON.stringify(tagEvent([`i-${"a".repeat(10_240)}`])),
  },
  {
    name: "an account not in the routes file",
    text: JSON.stringify(tagEvent([GOOD[SPOKE]?.id], { aliyunoriginalaccountid: UNKNOWN_ACCOUNT })),
  },
  {
    name: "the hub's own account",
    text: JSON.stringify(tagEvent([GOOD[SPOKE]?.id], { aliyunaccountid: HUB })),
  },
  {
    name: "forwarded: names payments, the instance lives in app-b",
    text: JSON.stringify(
      tagEvent([GOOD[SPOKE]?.id], { aliyunaccountid: HUB, aliyunoriginalaccountid: PAYMENTS }),
    ),
  },
  {
    name: "forwarded with an invalid original account",
    text: JSON.stringify(
      tagEvent([GOOD[SPOKE]?.id], { aliyunaccountid: SPOKE, aliyunoriginalaccountid: `${SPOKE};id` }),
    ),
  },
  {
    name: "a region not configured for payments",
    text: JSON.stringify(tagEvent([GOOD[PAYMENTS]?.id], { aliyunaccountid: PAYMENTS }, "cn-shanghai")),
  },
  {
    name: "the hostile instances, named by a well-formed event",
    text: JSON.stringify(tagEvent(hostileOf(SPOKE))),
  },
  {
    name: "a state change with a hostile state",
    text: JSON.stringify({
      id: "state-1",
      source: "acs.ecs",
      type: "ecs:Instance:StateChange",
      aliyunaccountid: SPOKE,
      aliyunregionid: REGION,
      data: { resourceId: "i-bp1hx$(reboot)", state: "Running; reboot" },
    }),
  },
  {
    name: "__proto__ everywhere",
    text: '{"__proto__":{"type":"ecs:Instance:StateChange"},"id":"p","source":"acs.ecs","data":{"__proto__":{"resourceId":"i-bp1hxspokegood01"}}}',
  },
];

function tagEvent(
  ids: Array<string | undefined>,
  accounts: Record<string, string> = { aliyunaccountid: SPOKE },
  region = REGION,
): Record<string, unknown> {
  eventCounter += 1;
  return {
    specversion: "1.0",
    id: `corpus-${eventCounter}`,
    source: "acs.ecs",
    type: "ecs:ActionTrail:ApiCall",
    ...accounts,
    aliyunregionid: region,
    data: {
      eventName: "TagResources",
      acsRegion: region,
      requestParameters: { ResourceType: "instance", ResourceId: ids, "Tag.1.Key": config.tagKey },
    },
  };
}

// ---- hostile queue messages -------------------------------------------------------------------------

interface HostileMessage {
  body: string;
  reason: "MalformedMessage" | "WrongQueue";
}

const MESSAGE_FIELDS = ["v", "type", "accountId", "region", "route", "instanceIds", "authorizedAt", "checks"];
const badString = (pattern: RegExp) =>
  fc
    .oneof(hostileText, fc.constantFrom("1700000000000397\n", "i-bp1hxspokegood01\n", "APP-B-PROD"))
    .filter((s) => !pattern.test(s));
const notNonNegativeInt = fc.oneof(
  fc.integer({ max: -1 }),
  fc.double({ noInteger: true }),
  fc.constantFrom("5", true, null, [], {}, 1e300),
);
const MUTATIONS: Record<string, fc.Arbitrary<unknown>> = {
  v: fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constant("1")).filter((v) => v !== 1),
  type: fc
    .oneof(hostileText, wrongType, fc.constantFrom("apply", "watch-copy-job", "AWAIT-HEARTBEAT"))
    .filter((t) => t !== "await-heartbeat"),
  accountId: fc.oneof(badString(ACCOUNT_UID), wrongType, fc.constant(Number(SPOKE))),
  region: fc.oneof(badString(REGION_ID), wrongType),
  route: fc.oneof(badString(ROUTE_NAME), wrongType),
  instanceIds: fc.oneof(
    wrongType.filter((v) => !Array.isArray(v)),
    fc.constant([]),
    fc.constant(Array.from({ length: 101 }, (_, i) => `i-bp1hx${String(i).padStart(8, "0")}`)),
    fc
      .tuple(fc.array(fc.constantFrom(...KNOWN_IDS), { maxLength: 3 }), badString(INSTANCE_ID))
      .map(([ids, bad]) => [...ids, bad]),
    fc.array(wrongType, { minLength: 1, maxLength: 3 }),
  ),
  authorizedAt: notNonNegativeInt,
  checks: fc.oneof(notNonNegativeInt, fc.integer({ min: 10_001 })),
};

/** The heartbeat check of the good app-b instance: what every hostile message is a variation of. */
function validHeartbeatMessage(now: number): AwaitHeartbeatMessage {
  return {
    v: 1,
    type: "await-heartbeat",
    accountId: SPOKE,
    region: REGION,
    route: goodOf(SPOKE).route,
    instanceIds: [goodOf(SPOKE).id],
    authorizedAt: now,
    checks: 0,
  };
}

function hostileMessage(now: number): fc.Arbitrary<HostileMessage> {
  const base = validHeartbeatMessage(now);
  const malformed = (body: string): HostileMessage => ({ body, reason: "MalformedMessage" });
  return fc.oneof(
    // Not a message at all (too short to be a valid one by accident).
    fc.string({ maxLength: 90 }).map(malformed),
    fc.string({ unit: "binary", maxLength: 90 }).map(malformed),
    fc
      .jsonValue({ maxDepth: 2 })
      .filter((v) => !isObject(v))
      .map((v) => malformed(JSON.stringify(v))),
    fc.constant(malformed(JSON.stringify([base]))),
    // One field missing.
    fc.constantFrom(...MESSAGE_FIELDS).map((field) => {
      const { [field]: _dropped, ...rest } = base as Record<string, unknown>;
      return malformed(JSON.stringify(rest));
    }),
    // One field mistyped or failing its pattern.
    fc
      .constantFrom(...MESSAGE_FIELDS)
      .chain((field) =>
        (MUTATIONS[field] ?? fc.constant(null)).map((value) =>
          malformed(JSON.stringify({ ...base, [field]: value })),
        ),
      ),
    // One field too many (the message schema is strict).
    fc
      .tuple(
        fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "command")),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .filter(([key]) => !MESSAGE_FIELDS.includes(key))
      .map(([key, value]) => {
        const text = JSON.stringify(base);
        return malformed(`{${JSON.stringify(key)}:${JSON.stringify(value) ?? "null"},${text.slice(1)}`);
      }),
    // A 10 KB field (printable: its dead-letter record stays within one MNS message).
    fc
      .constantFrom("accountId", "region", "route", "type")
      .map((field) => malformed(JSON.stringify({ ...base, [field]: `${TEN_KB}$(reboot)` }))),
    // Well-formed messages of the other queues: they belong elsewhere.
    fc.constantFrom(
      {
        body: encodeMessage({
          v: 1,
          type: "apply",
          accountId: SPOKE,
          region: REGION,
          route: "app-b-prod",
          instanceIds: [goodOf(SPOKE).id],
        }),
        reason: "WrongQueue" as const,
      },
      {
        body: encodeMessage({
          v: 1,
          type: "watch-copy-job",
          accountId: SPOKE,
          region: REGION,
          route: "app-b-prod",
          checks: 0,
        }),
        reason: "WrongQueue" as const,
      },
    ),
  );
}

function messageCorpus(now: number): HostileMessage[] {
  const base = validHeartbeatMessage(now);
  const text = JSON.stringify(base);
  const malformed = (body: string): HostileMessage => ({ body, reason: "MalformedMessage" });
  return [
    malformed(""),
    malformed("not json"),
    malformed("null"),
    malformed("[]"),
    malformed(`[${text}]`),
    malformed(`${text}${text}`),
    malformed(text.slice(0, -1)),
    malformed("\u0000".repeat(100)),
    malformed("\ud800"),
    malformed(JSON.stringify({ ...base, instanceIds: ["i-$(reboot)"] })),
    malformed(JSON.stringify({ ...base, instanceIds: [`${goodOf(SPOKE).id}; reboot`] })),
    malformed(JSON.stringify({ ...base, instanceIds: [`${goodOf(SPOKE).id}\n`] })),
    malformed(JSON.stringify({ ...base, accountId: `${SPOKE}\n` })),
    malformed(JSON.stringify({ ...base, route: "app-b-prod'; reboot; '" })),
    malformed(JSON.stringify({ ...base, route: "\u0430pp-b-prod" })),
    malformed(JSON.stringify({ ...base, route: "__proto__" })),
    malformed(JSON.stringify({ ...base, region: "../../etc" })),
    malformed(JSON.stringify({ ...base, v: 2 })),
    malformed(JSON.stringify({ ...base, checks: 10_001 })),
    malformed(JSON.stringify({ ...base, authorizedAt: -1 })),
    malformed(text.replace('"checks":0', '"checks":1e400')),
    malformed(`{"__proto__":{"route":"app-b-prod"},${text.slice(1)}`),
    malformed(JSON.stringify({ ...base, command: "reboot" })),
    malformed(JSON.stringify({ ...base, uid: "1999999999999999", identifier: "evil" })),
    malformed(JSON.stringify({ ...base, route: TEN_KB })),
  ];
}

// ---- the suite ---------------------------------------------------------------------------------------

describeRequiring(sandboxRequirement(), "hostile input never reaches a host unvalidated", () => {
  let kit: PipelineKit;
  let issuedSpy: jest.SpiedFunction<(typeof kit.stack.emulator.accounts)["issueRoleCredentials"]> | undefined;
  const issued = (): TemporaryCredentials[] =>
    (issuedSpy?.mock.results ?? []).flatMap((r) => (r.type === "return" ? [r.value] : []));
  let workDir: string;
  let logFile: string;
  /** Every dead-letter body read off the queue, for the secrets check. */
  const deadLetterBodies: string[] = [];

  const scopes = [SPOKE, PAYMENTS, HUB, UNKNOWN_ACCOUNT].flatMap((account) =>
    [REGION, "cn-shanghai", "us-west-1"].map((region) => ({ account, region })),
  );
  const allInvocations = () =>
    scopes.flatMap(({ account, region }) => kit.stack.emulator.ecs.invocationsIn(account, region));
  const invocationIds = () => new Set(allInvocations().map((i) => i.invokeId));
  const newInvocations = (before: Set<string>) => allInvocations().filter((i) => !before.has(i.invokeId));

  /** Every command since `before` binds only routes-file values and runs only on the good instances. */
  const checkCommandsSince = (before: Set<string>, verbs: readonly string[] = ["authorize", "revoke"]) => {
    const fresh = newInvocations(before);
    for (const invocation of fresh) {
      for (const result of invocation.results) expect(GOOD_IDS.has(result.instanceId)).toBe(true);
      checkArguments(commandArguments(invocation, kit.deps.scripts), verbs);
    }
    return fresh;
  };

  /** No hostile instance was ever sent a command or had its host changed. */
  const expectHostileHostsUntouched = () => {
    for (const id of ALL_HOSTILE_IDS) {
      expect({ id, invocations: kit.stack.emulator.ecs.getInstance(id)?.invocationCount }).toEqual({
        id,
        invocations: 0,
      });
      const host = kit.stack.fleet.host(id);
      expect({ id, identifiers: host?.identifierFile(), uids: host?.uidFiles() }).toEqual({
        id,
        identifiers: undefined,
        uids: [],
      });
    }
  };

  const drain = async (queue: string): Promise<ReceivedMessage[]> => {
    const port = kit.adapters.queue();
    const all: ReceivedMessage[] = [];
    for (;;) {
      const got = await port.receive(queue, 16, 0);
      if (got.length === 0) return all;
      all.push(...got);
      await port.delete(
        queue,
        got.map((m) => m.receiptHandle),
      );
    }
  };
  const drainDeadLetters = async (): Promise<DeadLetterRecord[]> => {
    const bodies = (await drain(DEAD_LETTER_QUEUE)).map((m) => m.body);
    deadLetterBodies.push(...bodies);
    return bodies.map((body) => {
      const record = parseDeadLetter(body);
      if (!record) throw new Error(`not a dead-letter record: ${body.slice(0, 200)}`);
      return record;
    });
  };
  const queueDepth = (queue: string) => {
    const q = kit.stack.emulator.mns.getQueue(HUB, REGION, queue);
    return { active: q.activeMessages, inactive: q.inactiveMessages, delayed: q.delayMessages };
  };

  beforeAll(async () => {
    const tags = (route: string) => ({ [config.tagKey]: route });
    kit = await startPipelineKit([
      ...hostileOf(SPOKE).map((id) => ({ account: "app-b", region: REGION, id })),
      { account: "app-b", region: REGION, id: goodOf(SPOKE).id, tags: tags(goodOf(SPOKE).route) },
      ...hostileOf(PAYMENTS).map((id) => ({ account: "payments", region: REGION, id })),
      { account: "payments", region: REGION, id: goodOf(PAYMENTS).id, tags: tags(goodOf(PAYMENTS).route) },
    ]);
    // Every STS credential the emulator hands out (called through: the spy only records them).
    issuedSpy = jest.spyOn(kit.stack.emulator.accounts, "issueRoleCredentials");
    workDir = mkdtempSync(join(tmpdir(), "ltx-hostile-"));
    logFile = join(workDir, "functions.log");
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await kit?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  // ---- 0. the oracle itself ----

  describe("the command check used throughout (so that it cannot pass vacuously)", () => {
    const route = config.routes["app-b-prod"];
    const uid = config.destinations[route?.destination ?? ""]?.uid ?? "";
    const identifier = route?.identifier.linux ?? "";
    const invocation = (argumentLine: string, extra: Partial<Invocation> = {}): Invocation => {
      const body = shippedLinux(kit.deps.scripts, "authorize", false);
      const newline = body.indexOf("\n");
      const script = `${body.slice(0, newline + 1)}${argumentLine}\n${body.slice(newline + 1)}`;
      return {
        ...(kit.stack.emulator.ecs.invocationsIn(SPOKE, REGION)[0] as Invocation),
        type: "RunShellScript",
        parameters: {},
        commandContentBase64: Buffer.from(script, "utf8").toString("base64"),
        ...extra,
      };
    };
    const check = (inv: Invocation) => checkArguments(commandArguments(inv, kit.deps.scripts), ["authorize"]);

    beforeAll(async () => {
      // One real command, to borrow the shape of an invocation record from.
      await authorizeInstances(
        { ...kit.deps, heartbeatQueue: HEARTBEAT_QUEUE },
        { accountId: SPOKE, region: REGION, instanceIds: [goodOf(SPOKE).id] },
      );
    });

    test("the real command of a correctly tagged instance passes", () => {
      const [real] = kit.stack.emulator.ecs.invocationsIn(SPOKE, REGION);
      if (!real) throw new Error("no command ran");
      expect(commandArguments(real, kit.deps.scripts)).toEqual([
        "authorize",
        "--uid",
        uid,
        "--id",
        identifier,
      ]);
      check(real);
    });

    test.each<{ name: string; line: string; extra?: Partial<Invocation> }>([
      {
        name: "a quote breaking out of its word",
        line: `set -- 'authorize' '--uid' '${uid}' '--id' '${identifier}'\\'';reboot;'`,
      },
      { name: "an unquoted word", line: `set -- 'authorize' '--uid' '${uid}' '--id' ${identifier}` },
      {
        name: "an identifier not in the routes file",
        line: `set -- 'authorize' '--uid' '${uid}' '--id' 'team-x-web'`,
      },
      {
        name: "a UID not in the routes file",
        line: `set -- 'authorize' '--uid' '${UNKNOWN_ACCOUNT}' '--id' '${identifier}'`,
      },
      {
        name: "an extra argument",
        line: `set -- 'authorize' '--uid' '${uid}' '--id' '${identifier}' '--id' '${identifier}'`,
      },
      {
        name: "a newline inside a word",
        line: `set -- 'authorize' '--uid' '${uid}' '--id' '${identifier}\nreboot'`,
      },
      { name: "an unknown verb", line: `set -- 'inspect' '--uid' '${uid}' '--id' '${identifier}'` },
      {
        name: "Cloud Assistant parameters",
        line: `set -- 'authorize' '--uid' '${uid}' '--id' '${identifier}'`,
        extra: { parameters: { a: "b" } },
      },
    ])("a command with $name fails it", ({ line, extra }) => {
      expect(() => check(invocation(line, extra))).toThrow();
    });

    test("a command with one more script line fails it", () => {
      const inv = invocation(`set -- 'authorize' '--uid' '${uid}' '--id' '${identifier}'\nreboot`);
      expect(() => check(inv)).toThrow();
    });
  });

  // ---- 1. route tag values ----

  describe("hostile route tag values", () => {
    /** What each corpus value did, by `account|value`. */
    const observed = new Map<string, { status: string | undefined; refusedByTagApi?: string }>();

    /** Sets the values on a batch's hostile instances (one per instance) and authorizes the batch once. */
    const runBatch = async (account: string, values: readonly string[]) => {
      const ids = hostileOf(account).slice(0, values.length);
      const good = goodOf(account);
      const ecs = kit.deps.ecs({ accountId: account, region: REGION });
      // A clean start: no route tag, no status, on every reused hostile instance.
      await ecs.untagInstances(hostileOf(account), [config.tagKey, config.statusTagKey]);
      const refused = new Map<string, unknown>();
      for (const [i, id] of ids.entries()) {
        try {
          await ecs.tagInstances([id], { [config.tagKey]: values[i] ?? "" });
        } catch (error) {
          refused.set(id, error);
        }
      }
      // RunCommand is idempotent per attempt key, which carries the clock: a new run, a new command.
      kit.stack.emulator.advanceClock(1_000);
      const before = invocationIds();
      const firstLog = kit.logs.length;

      const outcome = await authorizeInstances(
        { ...kit.deps, heartbeatQueue: HEARTBEAT_QUEUE },
        { accountId: account, region: REGION, instanceIds: [...ids, good.id] },
      );

      for (const [i, id] of ids.entries()) {
        const value = values[i] ?? "";
        const error = refused.get(id);
        const stored = kit.stack.emulator.ecs.getInstance(id)?.tags.get(config.tagKey);
        if (error !== undefined) {
          // Refused by the tag API itself: a clear error, and the instance stays untagged.
          expect(error).toBeInstanceOf(CloudError);
          const code = (error as CloudError).code;
          if (code === "InvalidTagValue.Malformed") {
            expect(value.length > 128 || /^(aliyun|acs:)|https?:\/\//i.test(value)).toBe(true);
          } else {
            expect((error as Error).message).toMatch(/URI malformed/);
          }
          expect(stored).toBeUndefined();
        } else {
          expect(JSON.stringify(stored)).toBe(JSON.stringify(value));
        }
        const expected = expectedStatus(account, stored);
        expect({ value, status: kit.status(id) }).toEqual({ value, status: expected });
        if (expected !== undefined) {
          expect(kit.logs.slice(firstLog)).toContainEqual(
            expect.objectContaining({
              outcome: "refused",
              instanceIds: [id],
              reason: expected.slice("failed:".length),
            }),
          );
        }
        observed.set(`${account}|${value}`, {
          status: kit.status(id),
          ...(error === undefined ? {} : { refusedByTagApi: String((error as CloudError).code) }),
        });
      }
      expect(kit.status(good.id)).toBe("authorized");
      expect(outcome.statuses.get(good.id)).toBe("authorized");
      const commands = checkCommandsSince(before);
      // The good instance was onboarded by a real command in this very run.
      expect(commands.some((c) => c.results.some((r) => r.instanceId === good.id))).toBe(true);
    };

    test("generated: 34 batches of 9 hostile values (306), each beside a correctly tagged instance", async () => {
      const batch = fc.constantFrom(SPOKE, PAYMENTS).chain((account) =>
        fc.record({
          account: fc.constant(account),
          values: fc.array(hostileTagValue(account), { minLength: BATCH, maxLength: BATCH }),
        }),
      );
      await fc.assert(
        fc.asyncProperty(batch, async ({ account, values }) => {
          await runBatch(account, values);
        }),
        { numRuns: 34, seed: SEED },
      );
      expectHostileHostsUntouched();
    }, 120_000);

    test("the hand-picked corpus, on both accounts", async () => {
      for (const account of [SPOKE, PAYMENTS]) {
        const values = TAG_CORPUS.filter((value) => !allowedFor(account, value));
        for (let i = 0; i < values.length; i += BATCH) await runBatch(account, values.slice(i, i + BATCH));
      }
      expectHostileHostsUntouched();
    }, 60_000);

    test.each<{
      account: "app-b" | "payments";
      label: string;
      value: string;
      status: string;
      refused?: string;
    }>([
      { account: "app-b", label: "$(reboot)", value: "$(reboot)", status: "failed:InvalidRouteTag" },
      {
        account: "app-b",
        label: "a newline and a command",
        value: "app-b-prod\nreboot",
        status: "failed:InvalidRouteTag",
      },
      { account: "app-b", label: "a Cyrillic а", value: "\u0430pp-b-prod", status: "failed:InvalidRouteTag" },
      {
        account: "app-b",
        label: "fullwidth letters",
        value: "ａｐｐ-ｂ-ｐｒｏｄ",
        status: "failed:InvalidRouteTag",
      },
      { account: "app-b", label: "a leading space", value: " app-b-prod", status: "failed:InvalidRouteTag" },
      { account: "app-b", label: "a trailing space", value: "app-b-prod ", status: "failed:InvalidRouteTag" },
      { account: "app-b", label: "upper case", value: "APP-B-PROD", status: "failed:InvalidRouteTag" },
      { account: "app-b", label: "a leading dash", value: "-app-b-prod", status: "failed:InvalidRouteTag" },
      { account: "app-b", label: "__proto__", value: "__proto__", status: "failed:InvalidRouteTag" },
      { account: "app-b", label: "constructor", value: "constructor", status: "failed:UnknownRoute" },
      { account: "app-b", label: "prototype", value: "prototype", status: "failed:UnknownRoute" },
      { account: "app-b", label: "a NUL", value: "app-b-prod\u0000", status: "failed:InvalidRouteTag" },
      { account: "app-b", label: "../", value: "../app-b-prod", status: "failed:InvalidRouteTag" },
      { account: "app-b", label: "128 letters", value: "a".repeat(128), status: "failed:InvalidRouteTag" },
      { account: "app-b", label: "63 letters", value: "a".repeat(63), status: "failed:UnknownRoute" },
      { account: "app-b", label: "the empty string", value: "", status: "untouched" },
      {
        account: "app-b",
        label: "10 KB",
        value: TEN_KB,
        status: "untouched",
        refused: "InvalidTagValue.Malformed",
      },
      {
        account: "app-b",
        label: "the aliyun prefix",
        value: "aliyun-app-b-prod",
        status: "untouched",
        refused: "InvalidTagValue.Malformed",
      },
      {
        account: "app-b",
        label: "a lone surrogate",
        value: "\ud800",
        status: "untouched",
        refused: "UnknownError",
      },
      {
        account: "payments",
        label: "app-b-prod, a route not listing payments",
        value: "app-b-prod",
        status: "failed:RouteNotAllowedForAccount",
      },
      { account: "payments", label: "constructor", value: "constructor", status: "failed:UnknownRoute" },
      {
        account: "payments",
        label: "a trailing newline",
        value: "payments-prod\n",
        status: "failed:InvalidRouteTag",
      },
    ])("corpus: on $account, $label → $status", ({ account, value, status, refused }) => {
      expect(observed.get(`${account === "app-b" ? SPOKE : PAYMENTS}|${value}`)).toEqual({
        status: status === "untouched" ? undefined : status,
        ...(refused === undefined ? {} : { refusedByTagApi: refused }),
      });
    });
  });

  // ---- 2. events ----

  describe("hostile events", () => {
    const keepEnv: Record<string, string | undefined> = {};
    const ENV = {
      LOGTAIL_XACCT_ROUTES_FILE: join(__dirname, "../../config/routes.example.yaml"),
      LOGTAIL_XACCT_ENDPOINTS_FILE: "",
      LOGTAIL_XACCT_LOG_FILE: "",
    };
    const functionLog = () =>
      existsSync(logFile)
        ? readFileSync(logFile, "utf8")
            .split("\n")
            .filter((line) => line !== "")
        : [];
    const calls = () => kit.stack.emulator.metrics().totalCalls;
    let handled = 0;

    beforeAll(async () => {
      const endpointsFile = join(workDir, "endpoints.json");
      writeFileSync(endpointsFile, JSON.stringify(kit.stack.emulator.endpoints), { mode: 0o600 });
      ENV.LOGTAIL_XACCT_ENDPOINTS_FILE = endpointsFile;
      ENV.LOGTAIL_XACCT_LOG_FILE = logFile;
      for (const [name, value] of Object.entries(ENV)) {
        keepEnv[name] = process.env[name];
        process.env[name] = value;
      }
      await drainDeadLetters();
    });

    afterAll(() => {
      for (const [name, value] of Object.entries(keepEnv)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    /** FC's context: the hub's key stands in for the function role's credentials. */
    const fcContext = () => {
      const hub = kit.stack.emulator.endpoints.accounts.find((a) => a.id === HUB);
      if (!hub) throw new Error("no hub key");
      handled += 1;
      return {
        requestId: `hostile-${handled}`,
        credentials: { accessKeyId: hub.accessKeyId, accessKeySecret: hub.accessKeySecret },
      };
    };

    /** Runs the real handler on raw bytes and checks what it did against what the parser says. */
    const throughHandler = async (text: string) => {
      const decoded = decodeFcEvent(Buffer.from(text, "utf8"));
      const parsed: ParsedInstanceEvent = decoded.ok
        ? parseInstanceEvent(decoded.value, KEYS)
        : { kind: "rejected", reason: decoded.reason };
      const before = invocationIds();
      const callsBefore = calls();
      const logBefore = functionLog().length;
      const deadBefore = queueDepth(DEAD_LETTER_QUEUE).active;

      const result = await authorizeHandler(Buffer.from(text, "utf8"), fcContext());

      const lines = functionLog()
        .slice(logBefore)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      checkCommandsSince(before);
      if (parsed.kind === "observe") {
        expect(result).toBe("done");
        const account = config.sourceAccounts.find((a) => a.uid === parsed.accountId);
        if (!account?.regions.includes(parsed.region)) {
          // Refused before any cloud call: no role to reach it.
          expect(calls()).toBe(callsBefore);
          expect(lines).toContainEqual(
            expect.objectContaining({
              outcome: "refused",
              reason: account ? "RegionNotConfigured" : "AccountNotConfigured",
            }),
          );
        }
      } else {
        expect(result).toBe(parsed.kind);
        expect(lines).toContainEqual(expect.objectContaining({ outcome: parsed.kind }));
        if (parsed.kind === "rejected") {
          expect(queueDepth(DEAD_LETTER_QUEUE).active).toBe(deadBefore + 1);
          const [record] = await drainDeadLetters();
          expect(record).toMatchObject({
            function: "authorize",
            source: "event",
            reason: "MalformedEvent",
            original: Buffer.from(text, "utf8").toString("utf8"),
          });
          expect(record?.detail?.length).toBeGreaterThan(0);
        } else {
          expect(calls()).toBe(callsBefore);
        }
      }
      return { parsed, result };
    };

    test("generated: arbitrary JSON and 500 malformed envelopes never throw and observe only valid ids", () => {
      const anyJson = fc.oneof(fc.jsonValue(), fc.anything(), fc.array(hostileEvent, { maxLength: 2 }));
      fc.assert(
        fc.property(anyJson, (value) => {
          checkParsed(value, parseInstanceEvent(value, KEYS));
        }),
        { numRuns: 300, seed: SEED },
      );
      let observed = 0;
      fc.assert(
        fc.property(hostileEvent, (event) => {
          const parsed = parseInstanceEvent(event, KEYS);
          checkParsed(event, parsed);
          if (parsed.kind === "observe") observed += 1;
        }),
        { numRuns: 500, seed: SEED },
      );
      // The generator reaches the interesting branch, not only the early rejections.
      expect(observed).toBeGreaterThan(40);
    });

    test("generated: any bytes decode to JSON or to a reason, never a throw", () => {
      const bytes = fc.oneof(
        fc.string({ unit: "binary", maxLength: 200 }).map((s) => Buffer.from(s, "utf8")),
        fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
        fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? "null", "utf8")),
        hostileEvent.map((e) => Buffer.from(JSON.stringify(e).slice(0, 50), "utf8")),
      );
      fc.assert(
        fc.property(bytes, (buffer) => {
          const decoded = decodeFcEvent(buffer);
          let parses = true;
          try {
            JSON.parse(buffer.toString("utf8"));
          } catch {
            parses = false;
          }
          expect(decoded.ok).toBe(parses);
          if (!decoded.ok) expect(decoded.reason.length).toBeGreaterThan(0);
          else checkParsed(decoded.value, parseInstanceEvent(decoded.value, KEYS));
        }),
        { numRuns: 300, seed: SEED },
      );
    });

    test("generated: an event claiming an account not in the routes file makes no cloud call", async () => {
      const foreign = fc
        .tuple(
          hostileEvent,
          fc.constantFrom(UNKNOWN_ACCOUNT, HUB, "1000000000000001"),
          fc.constantFrom(...KNOWN_IDS),
        )
        .map(([event, account, id]) => ({
          ...event,
          id: "foreign",
          source: "acs.ecs",
          type: "ecs:Instance:StateChange",
          // As a forwarded state change arrives: the instance's ARN names its account and region.
          subject: `acs:ecs:${REGION}:${account}:instance/${id}`,
          aliyunoriginalaccountid: account,
          aliyunregionid: REGION,
          data: { resourceId: id, state: "Running" },
        }));
      await fc.assert(
        fc.asyncProperty(foreign, async (event) => {
          const parsed = parseInstanceEvent(event, KEYS);
          if (parsed.kind !== "observe") throw new Error(`not observed: ${JSON.stringify(parsed)}`);
          const before = calls();
          await authorizeInstances(
            { ...kit.deps, heartbeatQueue: HEARTBEAT_QUEUE },
            { accountId: parsed.accountId, region: parsed.region, instanceIds: parsed.instanceIds },
          );
          expect(calls()).toBe(before);
          expect(kit.logs.at(-1)).toMatchObject({
            outcome: "refused",
            reason: "AccountNotConfigured",
            accountId: event.aliyunoriginalaccountid,
          });
        }),
        { numRuns: 60, seed: SEED },
      );
    });

    test("generated: 40 hostile events through the real authorize handler", async () => {
      let sequence = 0;
      const kinds = new Set<string>();
      // Naming the hostile instances (and made-up ones): a command on the good one costs the
      // handler's 5 s first result poll, so that path has its own test below.
      await fc.assert(
        fc.asyncProperty(hostileEvents(ALL_HOSTILE_IDS), async (event) => {
          sequence += 1;
          // Unique ids: the handler drops duplicates, and each run must reach the step.
          const unique = typeof event.id === "string" ? { ...event, id: `${event.id}#${sequence}` } : event;
          const { parsed } = await throughHandler(JSON.stringify(unique));
          kinds.add(parsed.kind);
        }),
        { numRuns: 40, seed: SEED },
      );
      expect([...kinds].sort()).toEqual(["ignored", "observe", "rejected"]);
      expectHostileHostsUntouched();
    }, 60_000);

    test.each(EVENT_CORPUS.map((c) => [c.name, c.text] as const))(
      "corpus through the handler: %s",
      async (_name, text) => {
        await throughHandler(text);
      },
    );

    test("a well-formed tag event for the correctly tagged instance: the real command, routes-file values only", async () => {
      const good = goodOf(SPOKE);
      kit.stack.emulator.advanceClock(1_000);
      const before = invocationIds();

      const { parsed, result } = await throughHandler(
        JSON.stringify(tagEvent([good.id, ...hostileOf(SPOKE)])),
      );

      expect(parsed).toMatchObject({ kind: "observe", accountId: SPOKE });
      expect(result).toBe("done");
      // throughHandler checked every command's arguments; here: there was one, on the good host.
      expect(newInvocations(before).flatMap((i) => i.results.map((r) => r.instanceId))).toContain(good.id);
      expect(kit.status(good.id)).toBe("authorized");
      expectHostileHostsUntouched();
    }, 30_000);

    test("a forwarded event whose account differs from the instance's runs nothing and writes nothing", async () => {
      const good = goodOf(SPOKE);
      const statusBefore = kit.status(good.id);
      const before = invocationIds();
      const text = JSON.stringify(
        tagEvent([good.id], { aliyunaccountid: HUB, aliyunoriginalaccountid: PAYMENTS }),
      );

      const { parsed } = await throughHandler(text);

      expect(parsed).toMatchObject({ kind: "observe", accountId: PAYMENTS, instanceIds: [good.id] });
      expect(newInvocations(before)).toEqual([]);
      expect(kit.status(good.id)).toBe(statusBefore);
      expect(functionLog().map((line) => JSON.parse(line))).toContainEqual(
        expect.objectContaining({ accountId: PAYMENTS, reason: "InstanceReleased", instanceIds: [good.id] }),
      );
    });

    test("an event for an account not in the routes file: AccountNotConfigured, no cloud call", async () => {
      const before = calls();
      const { parsed, result } = await throughHandler(
        JSON.stringify(tagEvent([goodOf(SPOKE).id], { aliyunoriginalaccountid: UNKNOWN_ACCOUNT })),
      );
      expect(parsed).toMatchObject({ kind: "observe", accountId: UNKNOWN_ACCOUNT });
      expect(result).toBe("done");
      expect(calls()).toBe(before);
      expectHostileHostsUntouched();
    });

    describe("a malformed event whose dead-letter record outgrows an MNS message", () => {
      /**
       * Found by this suite (fixed: `deadLetterBody` now bounds the encoded record, not the
       * original's characters): an event that is 10,240 NUL bytes is not JSON, so the handler
       * dead-letters it, and each NUL escapes to six characters — the record used to exceed 64 KB
       * Base64, the send threw MessageTooLarge and the invocation failed instead of returning
       * "rejected".
       */
      const seen: { threw?: string; result?: string } = {};

      test("reproduce: an event of 10,240 NUL bytes", async () => {
        const before = invocationIds();
        try {
          seen.result = await authorizeHandler(Buffer.from("\u0000".repeat(10_240), "utf8"), fcContext());
        } catch (error) {
          seen.threw = error instanceof Error ? error.message : String(error);
        }
        expect(newInvocations(before)).toEqual([]);
        await drainDeadLetters();
      });

      test("the event is dead-lettered and the invocation returns rejected", () => {
        expect(seen.threw).toBeUndefined();
        expect(seen.result).toBe("rejected");
      });
    });
  });

  // ---- 3. queue messages ----

  describe("hostile heartbeat-queue messages", () => {
    let deps: HeartbeatDeps;

    beforeAll(async () => {
      deps = {
        ...kit.deps,
        sls: (scope) => kit.adapters.sls(scope),
        heartbeatQueue: HEARTBEAT_QUEUE,
        applyQueue: APPLY_QUEUE,
        maxRounds: 50,
      };
      // What the earlier parts queued is not this part's business.
      await drain(HEARTBEAT_QUEUE);
      await drain(APPLY_QUEUE);
      await drainDeadLetters();
      // One real check first: it makes the route's machine group, so the good host's agent can
      // heartbeat into it and the valid message below is handled the healthy way.
      await kit.deps.queue.send(HEARTBEAT_QUEUE, [validHeartbeat()]);
      await checkHeartbeats(deps);
      kit.stack.emulator.advanceClock(60_000);
      await drain(APPLY_QUEUE);
      // Its look for lines is due by now: not part of what the tests below send.
      await drain(HEARTBEAT_QUEUE);
    });

    const validHeartbeat = () => encodeMessage(validHeartbeatMessage(kit.stack.emulator.now()));

    /** Sends the hostile messages with one valid one among them and checks the step's handling. */
    const runMessages = async (hostile: readonly HostileMessage[], validAt: number) => {
      const valid = validHeartbeat();
      const bodies = hostile.map((h) => h.body);
      const at = validAt % (bodies.length + 1);
      bodies.splice(at, 0, valid);
      const before = invocationIds();
      const firstLog = kit.logs.length;
      const messageIds = await kit.deps.queue.send(HEARTBEAT_QUEUE, bodies);
      const delayedBefore = queueDepth(HEARTBEAT_QUEUE).delayed;

      const outcome = await checkHeartbeats(deps);

      expect(outcome.messages).toBe(bodies.length);
      // The valid one was handled: its host heartbeats, so it goes on to apply (which binds the
      // config), and one look for its lines waits on the queue.
      expect(outcome).toMatchObject({ healthy: 1, waiting: 0, awaitingLines: 1, diagnosed: 0 });
      expect(queueDepth(HEARTBEAT_QUEUE)).toEqual({ active: 0, inactive: 0, delayed: delayedBefore + 1 });
      const applied = (await drain(APPLY_QUEUE)).map((m) => JSON.parse(m.body) as unknown);
      expect(applied).toEqual([
        expect.objectContaining({ type: "apply", accountId: SPOKE, instanceIds: [goodOf(SPOKE).id] }),
      ]);
      // Nothing ran on any host for any of them.
      expect(newInvocations(before)).toEqual([]);
      const records = await drainDeadLetters();
      expect(records).toHaveLength(hostile.length);
      const byMessageId = new Map(records.map((r) => [r.messageId, r]));
      const hostileIds = messageIds.filter((_, i) => i !== at);
      for (const [i, message] of hostile.entries()) {
        const record = byMessageId.get(hostileIds[i]);
        expect({ body: message.body, record }).toEqual({
          body: message.body,
          record: expect.objectContaining({
            source: HEARTBEAT_QUEUE,
            reason: message.reason,
            original: Buffer.from(message.body, "utf8").toString("utf8"),
            truncated: false,
          }),
        });
        expect(record?.detail?.length).toBeGreaterThan(0);
      }
      expect(records.map((r) => r.original)).not.toContain(valid);
      const refusals = kit.logs
        .slice(firstLog)
        .filter((line) => line.action === "heartbeat" && line.outcome === "refused");
      expect(refusals).toHaveLength(hostile.length);
    };

    test("generated: 8 batches of 16 hostile messages (128), each with one valid message", async () => {
      const now = kit.stack.emulator.now();
      await fc.assert(
        fc.asyncProperty(
          fc.array(hostileMessage(now), { minLength: 16, maxLength: 16 }),
          fc.nat(),
          async (hostile, validAt) => {
            await runMessages(hostile, validAt);
          },
        ),
        { numRuns: 8, seed: SEED },
      );
      expectHostileHostsUntouched();
    }, 60_000);

    test("the hand-picked corpus", async () => {
      await runMessages(messageCorpus(kit.stack.emulator.now()), 7);
    }, 30_000);

    describe("poison the step cannot dead-letter blocks its whole batch", () => {
      /**
       * Found by this suite, now fixed (records bounded by encoded size; messages outside the routes
       * file refused up front). Minimal input was: a heartbeat-queue message whose body is 10,240 NUL
       * characters (13,656 bytes Base64, well under MNS's 64 KB). Its dead-letter record escapes each
       * NUL as `\u0000` (6 characters), so the record is ~61 KB of JSON, ~82 KB Base64, and the
       * dead-letter send throws MessageTooLarge; `deadLetterBody` bounds `original` by characters,
       * not by the record's encoded size. checkHeartbeats throws before deleting anything: the
       * poison and the valid messages received with it came back after every visibility timeout.
       * The same happens for a plain ASCII body of 49,000 characters (the envelope pushes it over 64 KB
       * Base64), and for a well-formed await-heartbeat message naming an account the routes file
       * does not have (AssumeRole's AccountNotConfigured escapes the step instead of a refusal).
       */
      const cases: Array<[string, () => string]> = [
        ["10 KB of NUL characters", () => "\u0000".repeat(10_240)],
        ["49,000 characters of ASCII", () => "a".repeat(49_000)],
        [
          "a well-formed message for an account not in the routes file",
          () =>
            JSON.stringify({
              v: 1,
              type: "await-heartbeat",
              accountId: UNKNOWN_ACCOUNT,
              region: REGION,
              route: "app-b-prod",
              instanceIds: [goodOf(SPOKE).id],
              authorizedAt: kit.stack.emulator.now(),
              checks: 0,
            }),
        ],
      ];
      const seen = new Map<
        string,
        { error?: string; left: ReturnType<typeof queueDepth>; outcome?: unknown; records: number }
      >();

      test.each(cases)("reproduce: %s", async (name, poison) => {
        await kit.deps.queue.send(HEARTBEAT_QUEUE, [poison(), validHeartbeat()]);
        const delayedBefore = queueDepth(HEARTBEAT_QUEUE).delayed;
        const before = invocationIds();
        let error: string | undefined;
        let outcome: unknown;
        try {
          outcome = await checkHeartbeats(deps);
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
        }
        seen.set(name, {
          ...(error === undefined ? {} : { error }),
          outcome,
          // The valid host's look for its lines is expected; anything else left is not.
          left: {
            ...queueDepth(HEARTBEAT_QUEUE),
            delayed: queueDepth(HEARTBEAT_QUEUE).delayed - delayedBefore - 1,
          },
          records: (await drainDeadLetters()).length,
        });
        // Whatever happened, nothing ran on a host.
        expect(newInvocations(before)).toEqual([]);
        // Clean up for what follows: past the visibility timeout, take everything off the queues.
        kit.stack.emulator.advanceClock(31_000);
        await drain(HEARTBEAT_QUEUE);
        await drain(APPLY_QUEUE);
        await drainDeadLetters();
      });

      test.each(cases)("%s is refused and the valid message beside it handled", (name) => {
        const result = seen.get(name);
        expect(result).toBeDefined();
        expect(result?.error).toBeUndefined();
        expect(result?.left).toEqual({ active: 0, inactive: 0, delayed: 0 });
        expect(result?.outcome).toMatchObject({ messages: 2, healthy: 1 });
      });
    });
  });

  // ---- 4. secrets ----

  test("no log line and no dead-letter record carries an AccessKeySecret or SecurityToken", () => {
    const seeded = kit.stack.emulator.accounts.seededKeys().map((k) => k.accessKeySecret);
    const temporary = issued().flatMap((c) => [c.accessKeySecret, c.securityToken]);
    const secrets = [...new Set([...seeded, ...temporary])];
    expect(seeded.length).toBeGreaterThanOrEqual(3);
    // The spokes were reached through AssumeRole: their credentials are among those looked for.
    expect(issued().length).toBeGreaterThanOrEqual(2);
    const texts = [
      ...kit.logs.map((line) => JSON.stringify(line)),
      ...(existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n") : []),
      ...deadLetterBodies,
    ];
    expect(texts.length).toBeGreaterThan(500);
    const leaks = texts.flatMap((text) =>
      secrets
        .filter((secret) => text.includes(secret))
        .map((secret) => ({ secret: secret.slice(0, 6), text })),
    );
    expect(leaks).toEqual([]);
  });
});
