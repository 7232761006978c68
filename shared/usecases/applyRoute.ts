/**
 * The apply step, per route: make the destination ready (logstore, index, machine group and
 * Logtail pipeline config per OS, the config bound to the group), mark the heartbeating instances
 * whose lines are in the logstore `collecting`, and — when every running instance the source account has on this route collects —
 * cut over: retire the source's old config binding (if the route asks) and create the cross-account
 * copy job in the source project (once: its name is derived from route and account, so a second
 * create finds it and changes nothing).
 */
import { OPERATING_SYSTEMS, type OperatingSystem, type RoutesFile } from "../config/routesSchema";
import {
  copyPartName,
  handoverCopyScripts,
  hostsExcludedIn,
  hostsOfCopyScript,
  laterRoundCopyScripts,
  MAX_COPY_PARTS,
  routeCopyJobName,
} from "../domain/copyJob";

import { resolveRoute, scopeRefusal } from "../domain/routeResolution";
import { formatStatus } from "../domain/status";
import { type ApplyMessage, encodeMessage, type WatchCopyJobMessage } from "../messages/queueMessages";
import { pendingCutoverSteps, readyForCutover } from "../planner/decide";
import {
  DESTINATION_HANDOVER_INPUT,
  DESTINATION_INPUT,
  type DestinationStartVerdict,
  decideHandover,
  destinationMayStart,
  factsOfHosts,
  type HandoverTiming,
  type HandoverVerdict,
  HOLE_SETTLE_SECONDS,
  laterRoundHosts,
  mayRetireSourceGroup,
  sourceGroupUncollected,
} from "../planner/handover";
import { heartbeatingMachine } from "../planner/heartbeating";
import type { InstanceRecord } from "../ports/ecs";
import { errorCode, errorMessage, isRetryable } from "../ports/errors";
import { keyedLog } from "../ports/log";
import type { EtlJob, EtlJobSpec, SlsPort } from "../ports/sls";
import { deliveringSources } from "./delivery";
import { readyDigest, readyRecently, rememberReady } from "./destinationReady";
import { listGroup } from "./groupListings";
import {
  handoverSources,
  locateSourceConfig,
  observeDestinationHosts,
  observeDestinationReads,
  observeHandover,
  POSITION_INDEX_KEYS,
  prepareHandoverSources,
} from "./handover";
import type { StepDeps } from "./stepDeps";

/**
 * How far back apply looks for an instance's lines, beyond the route's delivery timeout: apply
 * does not know when the host was authorized, and any recent line read by the route's config
 * proves it reads.
 */
const LINES_LOOKBACK_SECONDS = 3_600;

export type ApplyDeps = Pick<
  StepDeps,
  | "config"
  | "queue"
  | "applyQueue"
  | "ecs"
  | "sls"
  | "slsDataEndpoint"
  | "now"
  | "log"
  | "freshSeconds"
  | "snapshots"
>;

export interface ApplyOutcome {
  /**
   * Why nothing could be done, when the message can never succeed: its route is gone, or its
   * account, region or route is outside the routes file (a forged or stale message).
   */
  refused?: string;
  refusedDetail?: string;
  collecting: string[];
  cutover: { retired: boolean; backfillJob?: string } | undefined;
}

export async function applyRoute(deps: ApplyDeps, message: ApplyMessage): Promise<ApplyOutcome> {
  const { config } = deps;
  const base = { accountId: message.accountId, region: message.region, route: message.route };
  const log = keyedLog(deps.log, base);
  // The same scope check as authorize and heartbeat: no role is assumed and no destination is
  // touched for an account, region or route the routes file does not pair.
  const refusal = scopeRefusal(config, message, message.route);
  const route = refusal ? undefined : config.routes[message.route];
  const destination = route ? config.destinations[route.destination] : undefined;
  if (refusal || !route || !destination) {
    const reason = refusal?.reason ?? "UnknownRoute";
    const detail = refusal?.detail ?? `route ${message.route} has no destination`;
    log({
      action: "apply",
      outcome: "refused",
      instanceIds: message.instanceIds,
      reason,
      detail,
    });
    return { refused: reason, refusedDetail: detail, collecting: [], cutover: undefined };
  }
  const ecs = deps.ecs({ accountId: message.accountId, region: message.region });
  const instances = (await ecs.describeInstances({ instanceIds: message.instanceIds })).filter(
    (i) => routeOf(config, i) === message.route && i.status === "Running",
  );
  const sls = deps.sls({ accountId: destination.uid, region: destination.region, project: route.project });
  const endpoint = deps.slsDataEndpoint(destination.region, route.network);

  const handover = handoverSources(config, route);
  const osInUse = OPERATING_SYSTEMS.filter((os) => instances.some((i) => i.os === os));
  const scope = { accountId: destination.uid, region: destination.region, project: route.project };
  // What a full pass makes for each OS: an apply that finds it made and bound within the minute
  // (usecases/destinationReady.ts) does not make it again.
  const digests = new Map(
    osInUse.map((os) => [
      os,
      readyDigest({
        project: route.project,
        logstore: route.logstore,
        index: route.index,
        handover: handover.length > 0,
        group: route.machineGroup[os],
        identifier: route.identifier[os],
        config: route.logtailConfig[os],
        endpoint,
      }),
    ]),
  );
  const ready = new Set<OperatingSystem>();
  for (const os of osInUse)
    if (await readyRecently(deps, scope, message.route, os, digests.get(os) ?? "")) ready.add(os);
  if (ready.size < osInUse.length || osInUse.length === 0) {
    await sls.ensureProject();
    await sls.ensureLogstore(route.logstore);
    await sls.ensureIndex(route.logstore, route.index);
    if (handover.length > 0) await sls.ensureIndexKeys(route.logstore, POSITION_INDEX_KEYS);
  }
  // Heartbeating instances, by the IP their agent reports: collecting once their lines arrive.
  const heartbeating = new Map<string, string>();
  let gate: DestinationStartVerdict | undefined;
  for (const os of osInUse) {
    const group = route.machineGroup[os];
    const identifier = route.identifier[os];
    const logtail = route.logtailConfig[os];
    if (!group || !identifier || !logtail) continue;
    if (!ready.has(os)) {
      await sls.ensureMachineGroup(group, [identifier]);
      await sls.ensurePipelineConfig({
        name: logtail.name,
        filePaths: logtail.filePaths,
        processors: logtail.processors,
        logstore: route.logstore,
        endpoint,
        inputOptions: handover.length > 0 ? DESTINATION_HANDOVER_INPUT : DESTINATION_INPUT,
      });
      // Once bound, the destination config reaches every host of the group: not before the
      // source configs ship position meta on those hosts.
      if (handover.length > 0 && !(await sls.appliedConfigs(group))?.includes(logtail.name)) {
        gate ??= destinationMayStart(
          await prepareHandoverSources(deps, handover, message.region),
          deps.now() / 1000,
          route.handover.configPropagationSeconds,
        );
        if (!gate.start) continue;
      }
      await sls.applyConfig(group, logtail.name);
      await rememberReady(deps, scope, message.route, os, digests.get(os) ?? "");
    }
    // The heartbeat timer that sent this message listed the group moments ago: its listing serves.
    const listing = await listGroup(deps, scope, group);
    const listedAtSeconds = (listing?.listedAt ?? deps.now()) / 1000;
    for (const instance of instances.filter((i) => i.os === os)) {
      const machine = heartbeatingMachine(
        listing?.machines ?? [],
        instance,
        identifier,
        listedAtSeconds,
        deps.freshSeconds ?? 180,
      );
      if (machine) heartbeating.set(instance.instanceId, machine.ip);
    }
  }
  if (gate !== undefined && !gate.start) {
    const delaySeconds = Math.min(Math.max(gate.waitSeconds, 10), 900);
    log({
      action: "apply",
      outcome: "skipped",
      instanceIds: message.instanceIds,
      reason: gate.reason,
      detail: `the destination config waits ${gate.waitSeconds} s for the source configs' position meta to reach the hosts; looking again in ${delaySeconds} s`,
    });
    await deps.queue.send(deps.applyQueue, [encodeMessage(message)], { delaySeconds });
    return { collecting: [], cutover: undefined };
  }
  if (gate?.start && gate.missingSources > 0) {
    log({
      action: "apply",
      outcome: "ok",
      reason: "SourceConfigMissing",
      detail: `${gate.missingSources} source configs to hand over are not in their projects: they read nothing, so the destination starts; check the route's retire settings`,
    });
  }
  // A heartbeat says the host can be reached; lines say the route's config reads on it. Who
  // collected keeps collecting while it heartbeats (an idle host sends nothing); the others need
  // lines, found with one query for the whole message.
  const alreadyCollecting = (i: InstanceRecord) => i.tags[config.statusTagKey] === "collecting";
  const needLines = instances.filter((i) => heartbeating.has(i.instanceId) && !alreadyCollecting(i));
  const delivering =
    needLines.length === 0
      ? new Set<string>()
      : await deliveringSources(
          sls,
          route.logstore,
          new Set(needLines.map((i) => heartbeating.get(i.instanceId) ?? "")),
          deps.now() / 1000 - route.deliveryTimeoutSeconds - LINES_LOOKBACK_SECONDS,
          deps.now() / 1000,
        );
  const members = new Set(
    instances
      .filter((i) => {
        const ip = heartbeating.get(i.instanceId);
        return ip !== undefined && (alreadyCollecting(i) || delivering.has(ip));
      })
      .map((i) => i.instanceId),
  );
  const collecting = [...members];
  const toWrite = instances.filter((i) => members.has(i.instanceId) && !alreadyCollecting(i));
  if (toWrite.length > 0) {
    await ecs.tagInstances(
      toWrite.map((i) => i.instanceId),
      { [config.statusTagKey]: formatStatus({ stage: "collecting" }) },
    );
  }
  log({
    action: "apply",
    outcome: "ok",
    instanceIds: collecting,
    detail: `config bound for ${osInUse.join(", ") || "no OS"}`,
  });

  let cutover: ApplyOutcome["cutover"];
  try {
    cutover = await maybeCutover(deps, message, collecting);
  } catch (error) {
    // A retry cannot fix a missing source project or a refused role: say so and let reconcile try
    // again once the routes file or the account is fixed, instead of redelivering forever.
    if (isRetryable(error)) throw error;
    log({
      action: "cutover",
      outcome: "failed",
      reason: errorCode(error) ?? "CutoverFailed",
      detail: errorMessage(error),
    });
  }
  return { collecting, cutover };
}

function routeOf(config: RoutesFile, instance: InstanceRecord): string | undefined {
  const resolution = resolveRoute(config, instance, instance.tags[config.tagKey]);
  return resolution.kind === "route" ? resolution.name : undefined;
}

/**
 * Cut over a source account once all its running instances on the route collect (counted across
 * every region configured for the account).
 */
async function maybeCutover(
  deps: ApplyDeps,
  message: ApplyMessage,
  justCollecting: readonly string[],
): Promise<ApplyOutcome["cutover"]> {
  const { config } = deps;
  const route = config.routes[message.route];
  const source = route?.sources.find((s) => s.account === message.accountId);
  const account = config.sourceAccounts.find((a) => a.uid === message.accountId);
  const destination = route ? config.destinations[route.destination] : undefined;
  if (!route || !source || !account || !destination || (!source.retire && !source.backfill)) return undefined;
  const cutoverLog = keyedLog(deps.log, {
    accountId: account.uid,
    region: message.region,
    route: message.route,
  });

  // Observe the cutover first: once it is done (binding gone, job there) nothing below runs and
  // the route's instances need not be listed again.
  // The source project is in one of the account's regions: the one where the handed-over config
  // is (this message's region first), else the region the instances report from.
  const handoverSource = handoverSources(config, route).find(
    (candidate) => candidate.account.uid === account.uid,
  );
  const located =
    handoverSource && (await locateSourceConfig(deps, account, handoverSource.source, message.region));
  const sourceRegion = located?.region ?? message.region;
  const retireSls = source.retire
    ? deps.sls({ accountId: account.uid, region: sourceRegion, project: source.retire.project })
    : undefined;
  const backfillSls = source.backfill
    ? deps.sls({ accountId: account.uid, region: sourceRegion, project: source.backfill.project })
    : undefined;
  const bindingPresent =
    source.retire && retireSls
      ? ((await retireSls.appliedConfigs(source.retire.machineGroup))?.includes(source.retire.config) ??
        false)
      : false;
  const backfillJob =
    route.backfill && source.backfill ? routeCopyJobName(route, message.route, account.uid) : undefined;
  const existingJob = backfillJob && backfillSls ? await backfillSls.getEtl(backfillJob) : undefined;
  const steps = pendingCutoverSteps({
    retireConfigured: source.retire !== undefined,
    backfillConfigured: backfillJob !== undefined,
    retireBindingPresent: bindingPresent,
    backfillJobExists: existingJob !== undefined,
  });
  const done = { retired: source.retire !== undefined, ...(backfillJob ? { backfillJob } : {}) };
  if (!steps.retire && !steps.createBackfill) return done;

  const { counts, migratedIps } = await observeMigration(deps, account, message.route, justCollecting);
  if (!readyForCutover(counts)) return undefined;

  // The copy first: the source config must keep reading until the copy's range is closed.
  // A source config that does not exist reads nothing beside the route's: its logstore is history
  // only, and a copy by receive time is exact.
  const handover = located !== undefined;
  const fromTime = route.backfill ? Math.floor(Date.parse(route.backfill.from) / 1000) : 0;
  const job =
    route.backfill && source.backfill
      ? {
          displayName: `logtail-xacct copy ${message.route} from ${account.uid}`,
          logstore: source.backfill.logstore,
          roleArn: source.backfill.readRoleArn,
          fromTime,
          sinks: [
            {
              name: "destination",
              project: route.project,
              logstore: route.logstore,
              endpoint: deps.slsDataEndpoint(destination.region, route.network),
              roleArn: route.backfill.writeRoleArn,
            },
          ],
        }
      : undefined;
  const destinationSls = deps.sls({
    accountId: destination.uid,
    region: destination.region,
    project: route.project,
  });
  if (route.backfill && source.backfill && backfillSls && backfillJob && job && steps.createBackfill) {
    if (handover) {
      // Parts are made before the base job; parts without it are what an earlier run left when it
      // stopped midway. Another observation would split the hosts differently and copy some twice.
      const orphan = copyPartName(route, message.route, account.uid, 1);
      if ((await backfillSls.getEtl(orphan)) !== undefined) {
        cutoverLog({
          action: "cutover",
          outcome: "failed",
          reason: "CopyPartsOrphaned",
          detail: `copy part ${orphan} exists without the base job ${backfillJob}: an earlier cutover stopped midway; delete the parts in ${source.backfill.project} and the next run makes the copy again`,
        });
        return undefined;
      }
      const nowSeconds = Math.floor(deps.now() / 1000);
      const until = nowSeconds - route.handover.copyMarginSeconds;
      const { observed, verdict } = await judgeCut(
        { sls: destinationSls, logstore: route.logstore },
        { sls: backfillSls, logstore: source.backfill.logstore },
        { from: fromTime, until },
        migratedIps,
        {
          now: nowSeconds,
          until,
          sourceSilenceSeconds: route.handover.sourceSilenceSeconds,
          checkpointSeconds: route.handover.checkpointSeconds,
        },
      );
      if (verdict.kind === "waiting") {
        await waitForHandover(deps, message, verdict, cutoverLog, "");
        return undefined;
      }
      const parts = handoverCopyScripts(route.backfill.spl, observed.sourceHosts, verdict.exclusions);
      // Parts by host first, the base job last: the base job's existence says the copy is made.
      for (const part of [...parts.slice(1), ...parts.slice(0, 1)]) {
        const name = copyPartName(route, message.route, account.uid, part.part);
        const outcome = await backfillSls.createEtl({
          ...job,
          name,
          displayName: part.part === 0 ? job.displayName : `${job.displayName} (part ${part.part})`,
          script: part.script,
          toTime: until,
        });
        cutoverLog({ action: "create-copy-job", outcome: "ok", detail: `${name}: ${outcome}` });
      }
      cutoverLog({
        action: "cutover",
        outcome: "ok",
        detail: `copy cut at ${new Date(until * 1000).toISOString()}: ${verdict.exclusions.length} files handed over by position, ${observed.sourceHosts.length} source hosts in ${parts.length} copy jobs${repairedHoles(verdict.exclusions)}`,
      });
    } else {
      const toTime = route.backfill.to
        ? Math.floor(Date.parse(route.backfill.to) / 1000)
        : Math.floor(deps.now() / 1000);
      const outcome = await backfillSls.createEtl({
        ...job,
        name: backfillJob,
        script: route.backfill.spl,
        toTime,
      });
      cutoverLog({ action: "create-copy-job", outcome: "ok", detail: `${backfillJob}: ${outcome}` });
    }
    await deps.queue.send(
      deps.applyQueue,
      [
        encodeMessage({
          v: 1,
          type: "watch-copy-job",
          accountId: account.uid,
          region: sourceRegion,
          route: message.route,
          checks: 0,
        }),
      ],
      { delaySeconds: watchDelaySeconds(0) },
    );
  }

  // Hosts migrated since the copy was cut have lines after the cut that only the source holds: a
  // later round copies them before the source config may go.
  if (
    handover &&
    steps.retire &&
    existingJob !== undefined &&
    route.backfill &&
    source.backfill &&
    backfillSls &&
    job
  ) {
    const made = await copyLaterRound(deps, message, {
      firstRound: existingJob,
      job,
      spl: route.backfill.spl,
      destination: { sls: destinationSls, logstore: route.logstore },
      source: { sls: backfillSls, logstore: source.backfill.logstore },
      partName: (part) => copyPartName(route, message.route, account.uid, part),
      migratedIps,
      copyMarginSeconds: route.handover.copyMarginSeconds,
      sourceSilenceSeconds: route.handover.sourceSilenceSeconds,
      checkpointSeconds: route.handover.checkpointSeconds,
      cutoverLog,
    });
    if (!made) return undefined;
  }

  // Unbinding the source config reaches every machine of its group: only when all are migrated.
  if (source.retire && retireSls && steps.retire) {
    const machines = (await retireSls.listMachines(source.retire.machineGroup)) ?? [];
    const decision = mayRetireSourceGroup(machines, migratedIps);
    const where = `${source.retire.project}/${source.retire.machineGroup}/${source.retire.config}`;
    if (decision.retire) {
      await retireSls.removeConfig(source.retire.machineGroup, source.retire.config);
      // An offboarding between the look above and the unbinding may have bound the config again
      // for its hosts (authorize's restore), which the unbinding just undid: look once more, and
      // bind it back if a machine of the group is now collected by nobody.
      const after = await observeMigration(deps, account, message.route, justCollecting);
      const groupIps = ((await retireSls.listMachines(source.retire.machineGroup)) ?? []).map((m) => m.ip);
      const { restore, uncollected } = sourceGroupUncollected(groupIps, after.migratedIps, after.onTheWayIps);
      if (restore) {
        await retireSls.applyConfig(source.retire.machineGroup, source.retire.config);
        cutoverLog({
          action: "retire-source-config",
          outcome: "skipped",
          reason: "SourceGroupNotMigrated",
          detail: `${where} bound again right after its retire: ${uncollected.length} machines of the group left the route meanwhile (${uncollected.slice(0, 5).join(", ")}${uncollected.length > 5 ? ", …" : ""})`,
        });
        return { retired: false, ...(backfillJob ? { backfillJob } : {}) };
      }
      cutoverLog({ action: "retire-source-config", outcome: "ok", detail: where });
    } else {
      cutoverLog({
        action: "retire-source-config",
        outcome: "skipped",
        reason: "SourceGroupNotMigrated",
        detail: `${where} stays bound: ${decision.notMigrated.length} machines of the group are not migrated (${decision.notMigrated.slice(0, 5).join(", ")}${decision.notMigrated.length > 5 ? ", …" : ""})`,
      });
      return { retired: false, ...(backfillJob ? { backfillJob } : {}) };
    }
  }
  return done;
}

/**
 * Who of the account's running instances on the route collects (counted across every region
 * configured for the account): the tags say who, and the instances this run just marked count
 * although their tag write may not be visible yet. The others still tagged are on their way.
 */
async function observeMigration(
  deps: ApplyDeps,
  account: RoutesFile["sourceAccounts"][number],
  route: string,
  justCollecting: readonly string[],
): Promise<{
  counts: { running: number; collecting: number; failed: number };
  migratedIps: Set<string>;
  onTheWayIps: Set<string>;
}> {
  const { config } = deps;
  const collecting = new Set(justCollecting);
  const counts = { running: 0, collecting: 0, failed: 0 };
  const migratedIps = new Set<string>();
  const onTheWayIps = new Set<string>();
  for (const region of account.regions) {
    const tagged = await deps
      .ecs({ accountId: account.uid, region })
      .describeInstances({ tagKey: config.tagKey, tagValue: route });
    for (const instance of tagged) {
      if (instance.status !== "Running") continue;
      counts.running += 1;
      const status = instance.tags[config.statusTagKey] ?? "";
      if (collecting.has(instance.instanceId) || status === "collecting") {
        counts.collecting += 1;
        for (const ip of instance.privateIps) migratedIps.add(ip);
      } else if (status.startsWith("failed:")) counts.failed += 1;
      else for (const ip of instance.privateIps) onTheWayIps.add(ip);
    }
  }
  return { counts, migratedIps, onTheWayIps };
}

interface Logstore {
  sls: SlsPort;
  logstore: string;
}

/**
 * Where each config is in each file, and whether the copy may be cut (planner: decideHandover),
 * judged for `hosts` only when given. The destination's reads (one row per pack) are read only for
 * a cut that is otherwise ready.
 */
async function judgeCut(
  destination: Logstore,
  source: Logstore,
  range: { from: number; until: number; destinationFrom?: number },
  migratedIps: ReadonlySet<string>,
  timing: HandoverTiming,
  hosts?: ReadonlySet<string>,
) {
  const observed = await observeHandover(
    destination.sls,
    destination.logstore,
    source.sls,
    source.logstore,
    range,
  );
  const scoped = (facts: Parameters<typeof decideHandover>[0]) =>
    hosts === undefined ? facts : factsOfHosts(facts, hosts);
  let verdict: HandoverVerdict = decideHandover(scoped({ ...observed, migratedIps }), timing);
  if (verdict.kind === "ready") {
    const destinationReads = await observeDestinationReads(destination.sls, destination.logstore, {
      from: range.destinationFrom ?? range.from,
      until: range.until,
    });
    if (destinationReads !== undefined)
      verdict = decideHandover(scoped({ ...observed, migratedIps, destinationReads }), timing);
  }
  return { observed, verdict };
}

/**
 * A later copy round (README "Exactly-once cutover", step 7): hosts migrated after the first cut
 * (planner: laterRoundHosts) get their source lines received from that cut to a new one, except
 * what the destination read, in parts numbered after those made. True when no host needs one or
 * it is made; false while it waits (the source config must stay bound meanwhile).
 */
async function copyLaterRound(
  deps: ApplyDeps,
  message: ApplyMessage,
  round: {
    /** The first round's base job: its `toTime` is the first cut. */
    firstRound: EtlJob;
    job: {
      displayName: string;
      logstore: string;
      roleArn: string;
      fromTime: number;
      sinks: EtlJobSpec["sinks"];
    };
    spl: string;
    destination: Logstore;
    source: Logstore;
    partName: (part: number) => string;
    migratedIps: ReadonlySet<string>;
    copyMarginSeconds: number;
    sourceSilenceSeconds: number;
    checkpointSeconds: number;
    cutoverLog: ReturnType<typeof keyedLog>;
  },
): Promise<boolean> {
  const firstCut = round.firstRound.toTime;
  // Parts are numbered without gaps. The first round's name the hosts it handed over by position;
  // later rounds' start at the first cut and name every host they took.
  let made = 0;
  const handedOver = new Set<string>();
  for (let part = 1; part <= MAX_COPY_PARTS; part += 1) {
    const existing = await round.source.sls.getEtl(round.partName(part));
    if (existing === undefined) break;
    made = part;
    const named = existing.fromTime >= firstCut ? hostsOfCopyScript : hostsExcludedIn;
    for (const host of named(existing.script)) handedOver.add(host);
  }
  const nowSeconds = Math.floor(deps.now() / 1000);
  const hosts = laterRoundHosts({
    destinationHosts: await observeDestinationHosts(round.destination.sls, round.destination.logstore, {
      from: firstCut,
      until: nowSeconds,
    }),
    handedOver,
    migratedIps: round.migratedIps,
  });
  if (hosts.length === 0) return true;
  const until = nowSeconds - round.copyMarginSeconds;
  // Too soon after the first cut for a range of its own: a later look makes it.
  if (until <= firstCut) return false;
  const names = hosts.map((host) => host.host);
  const { verdict } = await judgeCut(
    round.destination,
    round.source,
    { from: round.job.fromTime, until, destinationFrom: firstCut },
    round.migratedIps,
    {
      now: nowSeconds,
      until,
      sourceSilenceSeconds: round.sourceSilenceSeconds,
      checkpointSeconds: round.checkpointSeconds,
    },
    new Set(names),
  );
  const what = `${hosts.length} hosts migrated after the copy was cut (first: ${names[0]})`;
  if (verdict.kind === "waiting") {
    await waitForHandover(deps, message, verdict, round.cutoverLog, `later copy round for ${what}: `);
    return false;
  }
  const parts = laterRoundCopyScripts(round.spl, names, verdict.exclusions, made + 1);
  for (const part of parts) {
    const name = round.partName(part.part);
    const outcome = await round.source.sls.createEtl({
      ...round.job,
      name,
      displayName: `${round.job.displayName} (part ${part.part}, hosts migrated later)`,
      script: part.script,
      fromTime: firstCut,
      toTime: until,
    });
    round.cutoverLog({ action: "create-copy-job", outcome: "ok", detail: `${name}: ${outcome}` });
  }
  round.cutoverLog({
    action: "cutover",
    outcome: "ok",
    detail: `later copy round from ${new Date(firstCut * 1000).toISOString()} to ${new Date(until * 1000).toISOString()} for ${what}: ${verdict.exclusions.length} files handed over by position, in ${parts.length} copy jobs${repairedHoles(verdict.exclusions)}`,
  });
  return true;
}

/** Logs why a copy round waits and looks again later (then reconcile does). */
async function waitForHandover(
  deps: ApplyDeps,
  message: ApplyMessage,
  verdict: Extract<HandoverVerdict, { kind: "waiting" }>,
  cutoverLog: ReturnType<typeof keyedLog>,
  round: string,
): Promise<void> {
  const checks = message.handoverChecks ?? 0;
  const [behind] = verdict.behind;
  const [unread] = verdict.unread;
  cutoverLog({
    action: "cutover",
    outcome: "skipped",
    reason: "HandoverWaiting",
    detail: `${round}${[
      verdict.behind.length > 0
        ? `the source has not shipped up to the destination's first line in ${verdict.behind.length} files (first: host ${behind?.host} inode ${behind?.inode}, source at ${behind?.sourceAt ?? "nothing"}, destination from ${behind?.destinationFrom})`
        : "",
      verdict.unread.length > 0
        ? `the destination has not read ${verdict.unread.length} files the source is shipping (first: host ${unread?.host} inode ${unread?.inode})`
        : "",
      verdict.metaPending.length > 0
        ? `${verdict.metaPending.length} migrated hosts still ship without position meta (first: ${verdict.metaPending[0]})`
        : "",
      verdict.holesSettling.length > 0
        ? `the destination lost lines of ${verdict.holesSettling.length} files less than ${HOLE_SETTLE_SECONDS} s ago (first: host ${verdict.holesSettling[0]?.host} inode ${verdict.holesSettling[0]?.inode}): waiting for a resent pack before copying them`
        : "",
      verdict.checkpointPending.length > 0
        ? `the destination readers of ${verdict.checkpointPending.length} hosts may have no checkpoint yet (first: ${verdict.checkpointPending[0]}): a crash after the cut would lose their unsent lines`
        : "",
    ]
      .filter((part) => part !== "")
      .join("; ")}`,
  });
  if (checks < MAX_HANDOVER_CHECKS) {
    // This try did not fail: the next one starts with no failed tries.
    const { failedAttempts: _, ...again } = message;
    await deps.queue.send(deps.applyQueue, [encodeMessage({ ...again, handoverChecks: checks + 1 })], {
      delaySeconds: HANDOVER_CHECK_SECONDS,
    });
  }
}

/** A handover waiting for the source is looked at again this often, this many times (then by reconcile). */
const HANDOVER_CHECK_SECONDS = 30;
const MAX_HANDOVER_CHECKS = 120;

/** Still under way: look again after 1, 2, 4, … minutes, at most every 15 minutes. */
const RUNNING_ETL = new Set(["STARTING", "RUNNING", "RESTARTING", "STOPPING"]);
/** Watched this many times (about 2 days at the longest interval), then left to reconcile. */
const MAX_WATCH_CHECKS = 200;

export function watchDelaySeconds(checks: number): number {
  return Math.min(60 * 2 ** Math.min(checks, 10), 900);
}

export type CopyJobReport =
  | "succeeded"
  | "failed"
  | "stopped"
  | "missing"
  | "running"
  | "unwatched"
  | "not-configured";

/**
 * Looks at a route's copy job in a source account and reports it once it ends: `SUCCEEDED` as done,
 * `FAILED` or `STOPPED` with what to do. While it runs, the watch comes back later (delayed message).
 */
export async function watchCopyJob(deps: ApplyDeps, message: WatchCopyJobMessage): Promise<CopyJobReport> {
  const { config } = deps;
  const route = config.routes[message.route];
  const source = route?.sources.find((s) => s.account === message.accountId);
  const log = keyedLog(deps.log, {
    accountId: message.accountId,
    region: message.region,
    route: message.route,
  });
  const refusal = scopeRefusal(config, message, message.route);
  if (refusal) {
    log({
      action: "copy-job",
      outcome: "refused",
      reason: refusal.reason,
      detail: refusal.detail,
    });
    return "not-configured";
  }
  if (!route?.backfill || !source?.backfill) {
    log({ action: "copy-job", outcome: "skipped", reason: "BackfillNotConfigured" });
    return "not-configured";
  }
  const name = routeCopyJobName(route, message.route, message.accountId);
  const where = `${source.backfill.project}/${name}`;
  const job = await deps
    .sls({ accountId: message.accountId, region: message.region, project: source.backfill.project })
    .getEtl(name);
  if (job === undefined) {
    log({
      action: "copy-job",
      outcome: "failed",
      reason: "CopyJobMissing",
      detail: `${where} is gone; reconcile creates it again once the route collects`,
    });
    return "missing";
  }
  const range = `${new Date(job.fromTime * 1000).toISOString()} to ${new Date(job.toTime * 1000).toISOString()}`;
  if (RUNNING_ETL.has(job.status)) {
    if (message.checks + 1 >= MAX_WATCH_CHECKS) {
      log({
        action: "copy-job",
        outcome: "skipped",
        reason: "CopyJobStillRunning",
        detail: where,
      });
      return "unwatched";
    }
    const { failedAttempts: _, ...again } = message;
    await deps.queue.send(deps.applyQueue, [encodeMessage({ ...again, checks: message.checks + 1 })], {
      delaySeconds: watchDelaySeconds(message.checks + 1),
    });
    log({
      action: "copy-job",
      outcome: "ok",
      detail: `${where} ${job.status}: copying ${range}`,
    });
    return "running";
  }
  if (job.status === "SUCCEEDED") {
    log({
      action: "copy-job",
      outcome: "ok",
      detail: `${where} SUCCEEDED: ${source.backfill.logstore} from ${range} copied into ${route.project}/${route.logstore}`,
    });
    return "succeeded";
  }
  const stopped = job.status === "STOPPED";
  log({
    action: "copy-job",
    outcome: "failed",
    reason: stopped ? "CopyJobStopped" : "CopyJobFailed",
    detail: `${where} ${job.status}: check the job's run logs in ${source.backfill.project} and the read and write roles (${source.backfill.readRoleArn}, ${route.backfill.writeRoleArn}); start it again in the console: it resumes from its last save (verify finds what it copies twice); deleting it makes reconcile recreate it and copy the whole range again, doubling what was copied`,
  });
  return stopped ? "stopped" : "failed";
}

/** ", lines the destination lost copied from N holes in M files" when the cut repairs any. */
function repairedHoles(exclusions: ReadonlyArray<{ holes?: readonly unknown[] }>): string {
  const files = exclusions.filter((exclusion) => (exclusion.holes?.length ?? 0) > 0);
  if (files.length === 0) return "";
  const holes = files.reduce((total, exclusion) => total + (exclusion.holes?.length ?? 0), 0);
  return `, lines the destination lost copied from ${holes} holes in ${files.length} files`;
}
