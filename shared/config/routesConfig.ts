/**
 * Reading the routes file: YAML → schema → cross-reference checks. Every problem is reported with
 * the path of the value (`routes.app-b-prod.machineGroup.linux`) and, when the YAML has it, the
 * line, so an operator can fix the file without guessing.
 */
import { readFileSync } from "node:fs";
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { ROUTE_NAME, roleArnAccount } from "./patterns";

const EXTERNAL_ID_REQUIRED =
  "is required: a secret of 16 or more characters the role's trust policy checks (generate one with `openssl rand -hex 16`)";

import { OPERATING_SYSTEMS, type RoutesFile, routesFileSchema } from "./routesSchema";

export interface ConfigIssue {
  /** Dotted path of the offending value, `""` for the whole file. */
  path: string;
  message: string;
  line?: number;
}

export class RoutesConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(
      `${source}: ${issues.length} problem${issues.length === 1 ? "" : "s"}\n${issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`,
    );
    this.name = "RoutesConfigError";
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.path === "" ? "(file)" : issue.path;
  return `${where}: ${issue.message}${issue.line === undefined ? "" : ` (line ${issue.line})`}`;
}

export type ParseResult = { ok: true; config: RoutesFile } | { ok: false; issues: ConfigIssue[] };

type PathSegment = string | number;

function dotted(path: readonly PathSegment[]): string {
  return path
    .map((segment, i) => (typeof segment === "number" ? `[${segment}]` : i === 0 ? segment : `.${segment}`))
    .join("");
}

/** Parses and validates routes YAML. Never throws for bad input: it returns every issue it finds. */
export function parseRoutesConfig(text: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((error) => {
        const line = lineCounter.linePos(error.pos[0]).line;
        if (error.code === "DUPLICATE_KEY") {
          const found = pathAtOffset(doc.contents, error.pos[0]);
          return {
            path: found ? dotted(found.path) : "",
            line,
            message: `duplicate key${found ? ` "${found.key}"` : ""}: each ${found?.path[0] === "routes" && found.path.length === 2 ? "route" : "key"} may appear once`,
          };
        }
        return { path: "", line, message: `not valid YAML: ${error.message.split("\n")[0]}` };
      }),
    };
  }
  const lineOf = (path: readonly PathSegment[]): number | undefined => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const raw: unknown = doc.toJS();
  const parsed = routesFileSchema.safeParse(raw);
  if (!parsed.success) {
    const isMissing = (path: readonly PathSegment[]) => doc.getIn(path) === undefined && !doc.hasIn(path);
    return { ok: false, issues: parsed.error.issues.map((issue) => toConfigIssue(issue, lineOf, isMissing)) };
  }
  const issues = checkRoutesConfig(parsed.data).map((issue) => ({
    ...issue,
    line: lineOf(issue.pathSegments),
  }));
  if (issues.length > 0) return { ok: false, issues: issues.map(({ pathSegments: _, ...rest }) => rest) };
  return { ok: true, config: parsed.data };
}

function toConfigIssue(
  issue: z.core.$ZodIssue,
  lineOf: (path: readonly PathSegment[]) => number | undefined,
  isMissing: (path: readonly PathSegment[]) => boolean,
): ConfigIssue {
  const path = issue.path.filter((segment): segment is PathSegment => typeof segment !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys;
    const first = keys[0];
    return {
      path: dotted(first === undefined ? path : [...path, first]),
      line: lineOf(first === undefined ? path : [...path, first]),
      message: `unknown key${keys.length === 1 ? "" : "s"} ${keys.map((k) => `"${k}"`).join(", ")}`,
    };
  }
  let message = issue.message;
  if (issue.code === "invalid_type" && isMissing(path)) message = "is required";
  return { path: dotted(path), line: lineOf(path), message };
}

interface CheckedIssue extends ConfigIssue {
  pathSegments: PathSegment[];
}

/**
 * Cross-reference rules the schema alone cannot express. Exported for tests and for callers that
 * build a config in code.
 */
export function checkRoutesConfig(config: RoutesFile): CheckedIssue[] {
  const issues: CheckedIssue[] = [];
  const add = (pathSegments: PathSegment[], message: string) =>
    issues.push({ pathSegments, path: dotted(pathSegments), message });

  if (config.tagKey === config.statusTagKey) add(["statusTagKey"], "must differ from tagKey");

  const sourceByUid = new Map<string, number>();
  config.sourceAccounts.forEach((account, i) => {
    const earlier = sourceByUid.get(account.uid);
    if (earlier !== undefined)
      add(
        ["sourceAccounts", i, "uid"],
        `duplicate source account ${account.uid} (also sourceAccounts[${earlier}])`,
      );
    else sourceByUid.set(account.uid, i);
    if (account.externalId === undefined) {
      add(["sourceAccounts", i, "externalId"], EXTERNAL_ID_REQUIRED);
    }
    if (roleArnAccount(account.roleArn) !== account.uid) {
      add(
        ["sourceAccounts", i, "roleArn"],
        `must be a role of account ${account.uid}, the account the hub assumes it in`,
      );
    }
    const seen = new Set<string>();
    account.regions.forEach((region, j) => {
      if (seen.has(region)) add(["sourceAccounts", i, "regions", j], `duplicate region ${region}`);
      seen.add(region);
    });
  });

  for (const [name, destination] of Object.entries(config.destinations)) {
    if (!ROUTE_NAME.test(name))
      add(["destinations", name], "destination names are 1-63 of lowercase letters, digits and '-'");
    if (destination.uid !== config.hub.accountId && destination.roleArn === undefined) {
      add(
        ["destinations", name, "roleArn"],
        `is required: destination ${destination.uid} is not the hub account ${config.hub.accountId}`,
      );
    }
    if (destination.roleArn !== undefined && roleArnAccount(destination.roleArn) !== destination.uid) {
      add(["destinations", name, "roleArn"], `must be a role of the destination account ${destination.uid}`);
    }
    if (destination.roleArn !== undefined && destination.externalId === undefined) {
      add(
        ["destinations", name, "externalId"],
        `is required with roleArn: ${EXTERNAL_ID_REQUIRED.replace("is required: ", "")}`,
      );
    }
  }

  // Identifiers decide which machine group a host joins: one identifier in two routes would put a
  // host into another route's group (or another destination's) without its tag saying so.
  const identifierOwner = new Map<string, { route: string; destinationUid: string | undefined }>();
  const groupOwner = new Map<string, string>();
  const configOwner = new Map<string, string>();
  // A write role is trusted by the log service of each source account of every route that names it,
  // and may write every one of those routes' logstores: shared, it lets one route's source write
  // into another route's destination.
  const writeRoleOwner = new Map<string, string>();

  for (const [name, route] of Object.entries(config.routes)) {
    const at = (...rest: PathSegment[]): PathSegment[] => ["routes", name, ...rest];
    if (!ROUTE_NAME.test(name)) {
      add(
        at(),
        "route names are the tag value: 1-63 of lowercase letters, digits and '-', starting and ending with a letter or digit",
      );
    }
    const destination = config.destinations[route.destination];
    if (!destination) {
      const known = Object.keys(config.destinations);
      add(
        at("destination"),
        `unknown destination "${route.destination}" (known: ${known.length > 0 ? known.join(", ") : "none"})`,
      );
    } else if (route.network === "intranet") {
      // Every host of the route ships to the destination: from another region, only over the internet.
      for (const source of route.sources) {
        const account = config.sourceAccounts.find((a) => a.uid === source.account);
        const away = account?.regions.filter((region) => region !== destination.region) ?? [];
        if (account && away.length > 0)
          add(
            at("network"),
            `source account ${account.name} (${account.uid}) has instances in ${away.join(", ")} and the destination is in ${destination.region}: intranet endpoints do not cross regions; set network: internet, with its hosts' agents installed for ${destination.region} (the internet install)`,
          );
      }
    }

    for (const os of OPERATING_SYSTEMS) {
      const present = [route.machineGroup[os], route.identifier[os], route.logtailConfig[os]].map(
        (v) => v !== undefined,
      );
      if (present.some(Boolean) && !present.every(Boolean)) {
        add(at(), `${os} needs all of machineGroup.${os}, identifier.${os} and logtailConfig.${os}`);
      }
    }
    const { linux: linuxId, windows: windowsId } = route.identifier;
    if (linuxId !== undefined && linuxId === windowsId) {
      add(
        at("identifier", "windows"),
        "must differ from identifier.linux: a machine group cannot mix Linux and Windows",
      );
    }
    if (route.machineGroup.linux !== undefined && route.machineGroup.linux === route.machineGroup.windows) {
      add(
        at("machineGroup", "windows"),
        "must differ from machineGroup.linux: a machine group cannot mix Linux and Windows",
      );
    }
    if (route.logtailConfig.linux && route.logtailConfig.linux.name === route.logtailConfig.windows?.name) {
      add(at("logtailConfig", "windows", "name"), "must differ from logtailConfig.linux.name");
    }

    for (const os of OPERATING_SYSTEMS) {
      const id = route.identifier[os];
      if (id !== undefined) {
        const owner = identifierOwner.get(id);
        if (owner && owner.destinationUid !== destination?.uid) {
          add(
            at("identifier", os),
            `identifier "${id}" is already used by route ${owner.route}, which sends to another destination`,
          );
        } else if (owner) {
          add(at("identifier", os), `identifier "${id}" is already used by route ${owner.route}`);
        } else {
          identifierOwner.set(id, { route: `${name}`, destinationUid: destination?.uid });
        }
      }
      const group = route.machineGroup[os];
      if (group !== undefined && destination) {
        const key = `${destination.uid}/${route.project}/${group}`;
        const owner = groupOwner.get(key);
        if (owner !== undefined && owner !== name)
          add(
            at("machineGroup", os),
            `machine group "${group}" is already used by route ${owner} in project ${route.project}`,
          );
        else groupOwner.set(key, name);
      }
      const logtail = route.logtailConfig[os];
      if (logtail && destination) {
        const key = `${destination.uid}/${route.project}/${logtail.name}`;
        const owner = configOwner.get(key);
        if (owner !== undefined && owner !== name)
          add(
            at("logtailConfig", os, "name"),
            `config "${logtail.name}" is already used by route ${owner} in project ${route.project}`,
          );
        else configOwner.set(key, name);
      }
    }

    const sourceSeen = new Set<string>();
    route.sources.forEach((source, i) => {
      if (!sourceByUid.has(source.account))
        add(at("sources", i, "account"), `account ${source.account} is not in sourceAccounts`);
      if (sourceSeen.has(source.account))
        add(at("sources", i, "account"), `account ${source.account} is listed twice`);
      sourceSeen.add(source.account);
      if (source.backfill) {
        if (roleArnAccount(source.backfill.readRoleArn) !== source.account) {
          add(
            at("sources", i, "backfill", "readRoleArn"),
            `must be a role of the source account ${source.account}`,
          );
        }
        if (!route.backfill)
          add(at("sources", i, "backfill"), "needs the route's backfill (from, writeRoleArn)");
      }
    });
    if (route.backfill) {
      if (destination && roleArnAccount(route.backfill.writeRoleArn) !== destination.uid) {
        add(at("backfill", "writeRoleArn"), `must be a role of the destination account ${destination.uid}`);
      }
      const sharedWith = writeRoleOwner.get(route.backfill.writeRoleArn);
      if (sharedWith !== undefined) {
        add(
          at("backfill", "writeRoleArn"),
          `is also route ${sharedWith}'s write role: each route's sources could then write into the other's logstore; give every route its own write role`,
        );
      } else writeRoleOwner.set(route.backfill.writeRoleArn, name);
      if (
        route.backfill.to !== undefined &&
        Date.parse(route.backfill.to) <= Date.parse(route.backfill.from)
      ) {
        add(at("backfill", "to"), "must be later than backfill.from");
      }
      if (!route.sources.some((source) => source.backfill)) {
        add(at("backfill"), "no source of this route has a backfill (project, logstore, readRoleArn)");
      }
    }
  }
  return issues;
}

/** Reads and validates a routes file; throws RoutesConfigError naming every problem. */
export function loadRoutesConfig(file: string): RoutesFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    // Not `instanceof Error`: errors from Node's fs may come from another realm (test runners).
    const reason =
      typeof error === "object" && error !== null && "code" in error ? String(error.code) : "unreadable";
    throw new RoutesConfigError(file, [{ path: "", message: `cannot read the file (${reason})` }]);
  }
  const result = parseRoutesConfig(text);
  if (!result.ok) throw new RoutesConfigError(file, result.issues);
  return result.config;
}

/** One line: what the file configures. */
export function summarizeRoutesConfig(config: RoutesFile): string {
  const routes = Object.keys(config.routes).length;
  const destinations = Object.keys(config.destinations).length;
  const accounts = config.sourceAccounts.length;
  const accountRegions = config.sourceAccounts.reduce((sum, account) => sum + account.regions.length, 0);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `${plural(routes, "route")}, ${plural(destinations, "destination")}, ${plural(accounts, "source account")} (${plural(accountRegions, "account-region")}), tag key ${config.tagKey}`;
}

/** Finds the map key whose YAML source starts at `offset` (for duplicate-key errors). */
function pathAtOffset(
  node: unknown,
  offset: number,
  path: PathSegment[] = [],
): { path: PathSegment[]; key: string } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) continue;
      const range = isScalar(pair.key) ? pair.key.range : undefined;
      if (range && range[0] <= offset && offset < range[1]) return { path: [...path, key], key };
      const inner = pathAtOffset(pair.value, offset, [...path, key]);
      if (inner) return inner;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const inner = pathAtOffset(item, offset, [...path, i]);
      if (inner) return inner;
    }
  }
  return undefined;
}
