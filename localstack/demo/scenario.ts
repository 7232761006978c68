/**
 * The demo scenario on the local stack, as `npm start` plays it: the operator tags every instance
 * of the simulated fleet with a route through the ECS API, then the fleet is judged host by host
 * against the final status its kind in the fleet file implies, and each route's cutover is read
 * from the emulator.
 *
 * It lives beside the local stack, not in cli/commands/, because the CLI is only one of its users:
 * the scale bench tags its fleets with it and the chaos suite tags as the same operator, and a
 * bench or a test must not import a CLI command. cli/commands/start.ts keeps the options, the
 * progress and table output and the exit codes.
 */
import Ecs, * as $Ecs from "@alicloud/ecs20140526";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import Sls from "@alicloud/sls20201230";
import { DELIVERY_TIMEOUT_MS } from "../../emulator/ecs";
import type { LogStore } from "../../emulator/sls/logStore";
import type { RoutesFile } from "../../shared/config/routesSchema";
import { copyPartName, MAX_COPY_PARTS } from "../../shared/domain/copyJob";
import { handsOver } from "../../shared/domain/routeResolution";
import { filePathCovers } from "../agent/collectionRules";
import { majorVersion } from "../agent/logCollector";
import {
  auditDelivery,
  contentsOf,
  type DeliveryAudit,
  type ExpectedFile,
  type StoredLog,
} from "../fleet/deliveryAudit";
import type { LocalStack } from "../stack";

/** The ECS SDK as the account's operator, on the local stack (undefined: the account has no keys). */
export function operatorEcs(stack: LocalStack, accountId: string, region: string): Ecs | undefined {
  const config = operatorConfig(stack, accountId, region, `ecs.${region}.localhost:${stack.emulator.port}`);
  return config && new Ecs(config);
}

/** The SLS endpoint of a region on the local stack (the operator's and the flushers'). */
export function localSlsEndpoint(stack: LocalStack, region: string): string {
  return `${region}.log.localhost:${stack.emulator.port}`;
}

/** The SLS SDK as the account's operator, on the local stack (undefined: the account has no keys). */
export function operatorSls(stack: LocalStack, accountId: string, region: string): Sls | undefined {
  const config = operatorConfig(stack, accountId, region, localSlsEndpoint(stack, region));
  return config && new Sls(config);
}

function operatorConfig(
  stack: LocalStack,
  accountId: string,
  region: string,
  endpoint: string,
): $OpenApiUtil.Config | undefined {
  const keys = stack.emulator.endpoints.accounts.find((a) => a.id === accountId);
  if (!keys) return undefined;
  return new $OpenApiUtil.Config({
    accessKeyId: keys.accessKeyId,
    accessKeySecret: keys.accessKeySecret,
    regionId: region,
    endpoint,
    protocol: "http",
    // The SDK's 3 s default is shorter than the pause a function's first load can put on the
    // in-process emulator on a loaded machine.
    readTimeout: 30_000,
  });
}

/** The route the demo gives a host of this account: the first route its account may use. */
export function routeOfHost(routes: RoutesFile, accountId: string): string | undefined {
  return Object.entries(routes.routes).find(([, r]) => r.sources.some((s) => s.account === accountId))?.[0];
}

/**
 * The operator's part: each instance gets the first route its account may use, by the ECS API;
 * `skip` are instances an operator migrates by hand (byHand.ts).
 */
export async function tagFleet(
  stack: LocalStack,
  routes: RoutesFile,
  skip: ReadonlySet<string> = new Set(),
  /** Only these hosts (default: all but `skip`). */
  only?: ReadonlySet<string>,
): Promise<number> {
  const groups = new Map<string, { route: string; ids: string[] }>();
  for (const host of stack.fleet.hosts.values()) {
    const route = routeOfHost(routes, host.accountId);
    if (!route || skip.has(host.instanceId) || (only !== undefined && !only.has(host.instanceId))) continue;
    const key = `${host.accountId}|${host.spec.region}|${route}`;
    const group = groups.get(key) ?? { route, ids: [] };
    group.ids.push(host.instanceId);
    groups.set(key, group);
  }
  let tagged = 0;
  for (const [key, { route, ids }] of groups) {
    const [accountId = "", region = ""] = key.split("|");
    const ecs = operatorEcs(stack, accountId, region);
    if (!ecs) continue;
    for (let i = 0; i < ids.length; i += 50) {
      await ecs.tagResources(
        new $Ecs.TagResourcesRequest({
          regionId: region,
          resourceType: "instance",
          resourceId: ids.slice(i, i + 50),
          tag: [new $Ecs.TagResourcesRequestTag({ key: routes.tagKey, value: route })],
        }),
      );
      tagged += Math.min(50, ids.length - i);
    }
  }
  return tagged;
}

/** The operator takes the route tag off these instances, by the ECS API (offboarding). */
export async function untagHosts(
  stack: LocalStack,
  routes: RoutesFile,
  ids: ReadonlySet<string>,
): Promise<number> {
  const byScope = new Map<string, string[]>();
  for (const id of ids) {
    const host = stack.fleet.host(id);
    if (host === undefined) continue;
    const key = `${host.accountId}|${host.spec.region}`;
    byScope.set(key, [...(byScope.get(key) ?? []), id]);
  }
  let untagged = 0;
  for (const [key, scoped] of byScope) {
    const [accountId = "", region = ""] = key.split("|");
    const ecs = operatorEcs(stack, accountId, region);
    if (!ecs) continue;
    for (let i = 0; i < scoped.length; i += 50) {
      const batch = scoped.slice(i, i + 50);
      await ecs.untagResources(
        new $Ecs.UntagResourcesRequest({
          regionId: region,
          resourceType: "instance",
          resourceId: batch,
          tagKey: [routes.tagKey],
        }),
      );
      untagged += batch.length;
    }
  }
  return untagged;
}

/**
 * Every instance ever marked `failed:` from now on, to tell a host failed too early from one that
 * truly failed (call it before tagging).
 */
export function trackFailedOnTheWay(stack: LocalStack, routes: RoutesFile): ReadonlySet<string> {
  const failedOnTheWay = new Set<string>();
  stack.emulator.ecs.onTagChange((change) => {
    for (const { instanceId, after } of change.changes)
      if (after[routes.statusTagKey]?.startsWith("failed:")) failedOnTheWay.add(instanceId);
  });
  return failedOnTheWay;
}

/** Where the fleet stands, host by host, against what each host's kind must end as. */
export interface FleetSummary {
  instances: number;
  byStage: Record<string, number>;
  byRoute: Record<string, Record<string, number>>;
  unexpected: Array<{ instanceId: string; status: string; expected: string }>;
  /** Hosts that collect in the end but were marked `failed:` on the way (a host failed too early). */
  failedOnTheWay: number;
}

/**
 * What a host of this kind must end as: healthy Linux hosts collect, the others with the reason
 * their kind in the fleet file implies — a host told to fix the wrong thing is not converged.
 */
export function expectedFinal(stack: LocalStack, instanceId: string, routes: RoutesFile): string {
  const host = stack.fleet.host(instanceId);
  const instance = stack.emulator.ecs.getInstance(instanceId);
  if (!host || !instance) return "(released)";
  if (instance.status !== "Running") return "pending";
  const { spec } = host;
  // The routes file keeps a Windows host of a source that hands over on its own collection.
  const tag = instance.tags.get(routes.tagKey) ?? "";
  const route = Object.hasOwn(routes.routes, tag) ? routes.routes[tag] : undefined;
  if (
    spec.os === "windows" &&
    route?.handover.windows === "keep-source" &&
    handsOver(route, instance.accountId)
  )
    return "failed:HandoverUnverifiedOnWindows";
  // Windows hosts cannot run PowerShell here: Cloud Assistant answers ClientNotResponse.
  if (spec.cloudAssistant === "offline" || spec.os === "windows") return "failed:CloudAssistantOffline";
  // A host slower than the emulated Cloud Assistant's delivery timeout never gets its command.
  if ((spec.commandDelaySeconds ?? 0) * 1000 >= DELIVERY_TIMEOUT_MS) return "failed:CloudAssistantOffline";
  if (spec.agent === "none") return "failed:AgentNotInstalled";
  // The host script refuses Logtail 1.x before changing anything (its configs need 2.x options).
  if (spec.agent === "ilogtail" && majorVersion(host.agentVersion) < 2) return "failed:AgentTooOld";
  if (spec.heartbeat === "blocked") return "failed:NoHeartbeat";
  // Lines earn `collecting`: a host without a log file is diagnosed once its delivery times out.
  if ((spec.logFiles ?? []).length === 0) return "failed:NoMatchingFiles";
  // Untagged by `start` once its source config is retired.
  if (spec.untagAfterRetire) return "revoked";
  return "collecting";
}

/** Every simulated host's status by stage and route, and those not (yet) at their expected final status. */
export function summarize(
  stack: LocalStack,
  routes: RoutesFile,
  failedOnTheWay: ReadonlySet<string>,
): FleetSummary {
  const summary: FleetSummary = { instances: 0, byStage: {}, byRoute: {}, unexpected: [], failedOnTheWay: 0 };
  for (const host of stack.fleet.hosts.values()) {
    const instance = stack.emulator.ecs.getInstance(host.instanceId);
    const status = instance?.tags.get(routes.statusTagKey) ?? "(none)";
    const route = instance?.tags.get(routes.tagKey) ?? "(untagged)";
    summary.instances += 1;
    const stage = status.startsWith("failed:") ? "failed" : status;
    summary.byStage[stage] = (summary.byStage[stage] ?? 0) + 1;
    const perRoute = summary.byRoute[route] ?? {};
    perRoute[status] = (perRoute[status] ?? 0) + 1;
    summary.byRoute[route] = perRoute;
    const expected = expectedFinal(stack, host.instanceId, routes);
    if (status !== expected) summary.unexpected.push({ instanceId: host.instanceId, status, expected });
    if (expected === "collecting" && failedOnTheWay.has(host.instanceId)) summary.failedOnTheWay += 1;
  }
  return summary;
}

/** Where one route source's cutover stands. */
export interface CutoverState {
  route: string;
  sourceAccount: string;
  /** Running instances of the route in that account still on their way (the cutover waits for them). */
  waitingFor: number;
  /** Whether the source's old config is still bound (undefined: the route retires nothing). */
  sourceConfigBound?: boolean;
  /**
   * Machines (IPs) of the retired config's group that no collecting instance of the route has: at
   * 0, with the config still bound, the cutover has a retire left to make.
   */
  groupNotMigrated?: number;
  /**
   * The copy's status, "none" before its base job exists (undefined: the route copies nothing):
   * the first of its jobs (base and parts) that has not succeeded, else SUCCEEDED.
   */
  copyJob?: string;
  /** Copy jobs (base and parts) and the lines they copied so far. */
  copyJobs?: number;
  linesCopied?: number;
  /** Running instances of the route in that account that collect. */
  collecting: number;
}

/** Whether a cutover is over: nobody on the way, and its copy job (if any) has finished copying. */
export function cutoverSettled(state: CutoverState): boolean {
  // Nobody collects (every host failed, e.g. AgentTooOld): there is no cutover to wait for.
  const noCutover = state.collecting === 0 && state.copyJob === "none";
  // A source group whose every machine is migrated must lose the old config (README step 6).
  const retireLeft = state.sourceConfigBound === true && state.groupNotMigrated === 0 && state.collecting > 0;
  return (
    state.waitingFor === 0 &&
    !retireLeft &&
    (state.copyJob === undefined || state.copyJob === "SUCCEEDED" || noCutover)
  );
}

/** The cutover of every route source that retires a config or copies history, read from the emulator. */
export function cutovers(stack: LocalStack, routes: RoutesFile): CutoverState[] {
  const states: CutoverState[] = [];
  for (const [name, route] of Object.entries(routes.routes)) {
    for (const source of route.sources) {
      if (!source.retire && !source.backfill) continue;
      let waitingFor = 0;
      let collecting = 0;
      const collectingIps = new Set<string>();
      for (const host of stack.fleet.hosts.values()) {
        const instance = stack.emulator.ecs.getInstance(host.instanceId);
        if (!instance || instance.accountId !== source.account || instance.status !== "Running") continue;
        if (instance.tags.get(routes.tagKey) !== name) continue;
        // A failed host does not hold the cutover back (planner: readyForCutover).
        const status = instance.tags.get(routes.statusTagKey) ?? "";
        if (status === "collecting") {
          collecting += 1;
          collectingIps.add(instance.privateIpAddress);
        } else if (!status.startsWith("failed:")) waitingFor += 1;
      }
      const region = routes.sourceAccounts.find((a) => a.uid === source.account)?.regions[0] ?? "";
      const scope = { accountId: source.account, region, action: "start" };
      const read = <T>(fn: () => T): T | undefined => {
        try {
          return fn();
        } catch {
          return undefined; // the source project or job does not exist
        }
      };
      const state: CutoverState = { route: name, sourceAccount: source.account, waitingFor, collecting };
      const retire = source.retire;
      if (retire) {
        const bound = read(() =>
          stack.emulator.sls.getAppliedConfigs(scope, retire.project, retire.machineGroup),
        );
        state.sourceConfigBound = bound?.includes(retire.config) ?? false;
        const machines = read(
          () =>
            stack.emulator.sls.listMachines(scope, retire.project, retire.machineGroup, {
              offset: 0,
              size: 100_000,
            }).items,
        );
        if (machines !== undefined)
          state.groupNotMigrated = new Set(
            machines.map((m) => m.ip).filter((ip) => !collectingIps.has(ip)),
          ).size;
      }
      const backfill = source.backfill;
      if (backfill && route.backfill) {
        const sls = stack.emulator.sls;
        const base = read(() =>
          sls.getEtl(scope, backfill.project, copyPartName(route, name, source.account, 0)),
        );
        state.copyJob = base ? sls.etlStatus(base) : "none";
        if (base) {
          const jobs = [base];
          for (let part = 1; part <= MAX_COPY_PARTS; part += 1) {
            const record = read(() =>
              sls.getEtl(scope, backfill.project, copyPartName(route, name, source.account, part)),
            );
            if (record === undefined) break;
            jobs.push(record);
          }
          state.copyJob =
            jobs.map((job) => sls.etlStatus(job)).find((status) => status !== "SUCCEEDED") ?? "SUCCEEDED";
          state.copyJobs = jobs.length;
          state.linesCopied = jobs.reduce((sum, job) => sum + (sls.etlLinesCopied(job) ?? 0), 0);
        }
      }
      states.push(state);
    }
  }
  return states;
}

/** What became of the lines one route's hosts wrote: the ledger against the destination logstore. */
export interface RouteDelivery extends Omit<DeliveryAudit, "files"> {
  route: string;
  /** `<project>/<logstore>` of the destination account. */
  destination: string;
  /** Hosts of the route that collect and write files its config reads (their lines are expected). */
  hosts: number;
  /** Lines written by hosts tagged with the route that do not collect (not expected in the destination). */
  notCollectingLines: number;
  /**
   * Hosts the fleet file offboards once the source config is retired (`untagAfterRetire`): every
   * line they wrote must be in the destination (before) or the source logstore (after); `lost` is
   * in neither.
   */
  offboarded?: { hosts: number; written: number; lost: number };
}

/**
 * Per route, every line its collecting hosts wrote into files its Linux config reads, counted in the
 * destination logstore: once, more than once, missing (read in process, as the ledger is).
 */
export function deliveryByRoute(
  stack: LocalStack,
  routes: RoutesFile,
  /** Per route, hosts an operator migrated by hand (byHand.ts): they collect whatever their tags say. */
  byHand: Readonly<Record<string, ReadonlySet<string>>> = {},
): RouteDelivery[] {
  const { ledger } = stack.fleet;
  const deliveries: RouteDelivery[] = [];
  for (const [name, route] of Object.entries(routes.routes)) {
    const destination = routes.destinations[route.destination];
    if (destination === undefined) continue;
    const filePaths = route.logtailConfig.linux?.filePaths ?? [];
    const expected: ExpectedFile[] = [];
    let hosts = 0;
    let notCollectingLines = 0;
    const handMigrated = byHand[name];
    for (const host of stack.fleet.hosts.values()) {
      const tags = stack.emulator.ecs.getInstance(host.instanceId)?.tags;
      const member = handMigrated ? handMigrated.has(host.instanceId) : tags?.get(routes.tagKey) === name;
      if (!member) continue;
      const files = ledger
        .filesOf(host.instanceId)
        .filter((file) => filePaths.some((filePath) => filePathCovers(filePath, file.path)));
      if (files.length === 0) continue;
      if (!handMigrated && tags?.get(routes.statusTagKey) !== "collecting") {
        for (const file of files) notCollectingLines += file.lines;
        continue;
      }
      hosts += 1;
      for (const file of files) expected.push({ instanceId: file.instanceId, path: file.path });
    }
    // The source logstores the route copies from: where a line missing in the destination may be.
    const sourceLogstores = route.sources.flatMap((source) => {
      const account = routes.sourceAccounts.find((candidate) => candidate.uid === source.account);
      const backfill = source.backfill;
      return backfill && account
        ? account.regions.map((region) => ({
            uid: account.uid,
            region,
            project: backfill.project,
            logstore: backfill.logstore,
          }))
        : [];
    });
    const { files: _files, ...audit } = auditDelivery(
      ledger,
      expected,
      storedContents(stack, destination.uid, destination.region, route.project, route.logstore),
      (function* () {
        for (const { uid, region, project, logstore } of sourceLogstores)
          yield* storedContents(stack, uid, region, project, logstore);
      })(),
    );
    const sourceContents = function* () {
      for (const { uid, region, project, logstore } of sourceLogstores)
        yield* storedContents(stack, uid, region, project, logstore);
    };
    const offboardedFiles: ExpectedFile[] = [];
    let offboardedHosts = 0;
    for (const host of stack.fleet.hosts.values()) {
      if (!host.spec.untagAfterRetire || routeOfHost(routes, host.accountId) !== name) continue;
      const files = ledger
        .filesOf(host.instanceId)
        .filter((file) => filePaths.some((filePath) => filePathCovers(filePath, file.path)));
      if (files.length === 0) continue;
      offboardedHosts += 1;
      for (const file of files) offboardedFiles.push({ instanceId: file.instanceId, path: file.path });
    }
    const offboarded =
      offboardedHosts === 0
        ? undefined
        : auditDelivery(
            ledger,
            offboardedFiles,
            storedContents(stack, destination.uid, destination.region, route.project, route.logstore),
            sourceContents(),
          );
    deliveries.push({
      route: name,
      destination: `${route.project}/${route.logstore}`,
      hosts,
      notCollectingLines,
      ...audit,
      ...(offboarded === undefined
        ? {}
        : {
            offboarded: {
              hosts: offboardedHosts,
              written: offboarded.written,
              lost: offboarded.missing - offboarded.missingButElsewhere,
            },
          }),
    });
  }
  return deliveries;
}

/** Lines stored so far in each route's destination logstore (the progress shows their rate). */
export function storedLinesByRoute(stack: LocalStack, routes: RoutesFile): Record<string, number> {
  const lines: Record<string, number> = {};
  for (const [name, route] of Object.entries(routes.routes)) {
    const destination = routes.destinations[route.destination];
    if (destination === undefined) continue;
    try {
      lines[name] = stack.emulator.sls.logRows(
        destination.uid,
        destination.region,
        route.project,
        route.logstore,
      ).lineCount;
    } catch {
      lines[name] = 0; // the destination logstore does not exist yet
    }
  }
  return lines;
}

/** The `content` of every log stored in a logstore (none when it does not exist). */
function* storedContents(
  stack: LocalStack,
  accountId: string,
  region: string,
  project: string,
  logstore: string,
): Iterable<StoredLog> {
  let store: LogStore;
  try {
    store = stack.emulator.sls.logRows(accountId, region, project, logstore);
  } catch {
    return;
  }
  yield* contentsOf(store);
}

/**
 * The hosts stop writing; resolves once their agents have read and shipped everything (no pack
 * pending and nothing new read for `quietMs` of emulator time), or after `maxWallMs`.
 */
export async function stopWritingAndDrain(
  stack: LocalStack,
  options: { quietMs?: number; maxWallMs?: number } = {},
): Promise<boolean> {
  const quietMs = options.quietMs ?? 5_000;
  const deadline = Date.now() + (options.maxWallMs ?? 30_000);
  stack.fleet.writers.stop();
  let lastRead = -1;
  let quietSince = stack.emulator.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    await stack.fleet.settleCollection();
    const stats = stack.fleet.collector.stats();
    const now = stack.emulator.now();
    if (stats.linesRead !== lastRead || stats.pending > 0) {
      lastRead = stats.linesRead;
      quietSince = now;
    } else if (now - quietSince >= quietMs) {
      return true;
    }
  }
  return false;
}
