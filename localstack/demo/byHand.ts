/**
 * The manual cutover Alibaba's pages describe, scripted literally as an operator runs it with the
 * official SDKs, for `bench:migration`'s comparison column (`start --by-hand <route>`). It is the
 * baseline the product is measured against, never the product:
 *
 * 1. every host of the route: a file named after the destination UID in `/etc/ilogtail/users/`,
 *    the route's identifier appended to `/etc/ilogtail/user_defined_id`, an agent restart (one
 *    Cloud Assistant command);
 * 2. destination: the custom-identifier machine group, then a wait for every host's heartbeat;
 * 3. the route's Logtail config with the console's defaults (not forced: it joins the
 *    one-owner-per-file contest; no position meta; 1 MB tail), applied to the group;
 * 4. source: the old config removed from its machine group, right after; at that moment T,
 * 5. a copy job of the source logstore by receive time from `backfill.from` to T.
 */
import type Ecs from "@alicloud/ecs20140526";
import * as $Ecs from "@alicloud/ecs20140526";
import * as $Sls from "@alicloud/sls20201230";
import type { Route, RoutesFile } from "../../shared/config/routesSchema";
import type { LocalStack } from "../stack";
import { localSlsEndpoint, operatorEcs, operatorSls, routeOfHost } from "./scenario";

export interface ByHandProgress {
  route: string;
  /** Instance ids the operator migrates (the hosts `tagFleet` would have tagged with the route). */
  hosts: ReadonlySet<string>;
  /** What the operator is doing now, or "done". */
  step: string;
  /** The receive time the copy ends at (the removal of the old config), unix seconds. */
  removedAt?: number;
  error?: string;
}

const POLL_MS = 500;

/** The hosts the operator migrates by hand: those `tagFleet` would tag with the route. */
export function byHandHosts(stack: LocalStack, routes: RoutesFile, routeName: string): Set<string> {
  const hosts = new Set<string>();
  for (const host of stack.fleet.hosts.values())
    if (host.spec.os === "linux" && routeOfHost(routes, host.accountId) === routeName)
      hosts.add(host.instanceId);
  return hosts;
}

/** The account's operator SDK client, or why there is none. */
function asOperator<T>(client: T | undefined, accountId: string): T {
  if (client === undefined) throw new Error(`account ${accountId} has no keys on the local stack`);
  return client;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates something that may exist already (another route of the same project made it). */
async function createTolerant(call: () => Promise<unknown>, exists: string): Promise<void> {
  try {
    await call();
  } catch (error) {
    if ((error as { code?: string }).code !== exists) throw error;
  }
}

/**
 * The host part of the manual procedure as one shell script. The values come from the routes
 * file, whose schema allows only digits (UID) and `[A-Za-z0-9_-]` (identifier).
 */
export function byHandHostScript(destinationUid: string, identifier: string): string {
  if (!/^\d+$/.test(destinationUid) || !/^[A-Za-z0-9_-]+$/.test(identifier))
    throw new Error(
      `refusing to render a host script for UID "${destinationUid}", identifier "${identifier}"`,
    );
  return [
    "set -eu",
    "mkdir -p /etc/ilogtail/users",
    `touch /etc/ilogtail/users/${destinationUid}`,
    "f=/etc/ilogtail/user_defined_id",
    // A last line without its newline would be joined to ours.
    'if [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then echo >>"$f"; fi',
    `echo ${identifier} >>"$f"`,
    "if [ -x /etc/init.d/ilogtaild ]; then /etc/init.d/ilogtaild restart; else systemctl restart ilogtaild; fi",
    "",
  ].join("\n");
}

async function runOnHosts(ecs: Ecs, region: string, ids: readonly string[], script: string): Promise<void> {
  const run = await ecs.runCommand(
    new $Ecs.RunCommandRequest({
      regionId: region,
      name: "manual-cutover",
      type: "RunShellScript",
      commandContent: Buffer.from(script, "utf8").toString("base64"),
      contentEncoding: "Base64",
      timeout: 120,
      instanceId: [...ids],
    }),
  );
  const invokeId = run.body?.invokeId;
  if (!invokeId) throw new Error("RunCommand answered no InvokeId");
  for (;;) {
    await sleep(POLL_MS);
    const results: $Ecs.DescribeInvocationResultsResponseBodyInvocationInvocationResultsInvocationResult[] =
      [];
    let nextToken: string | undefined;
    do {
      const answer = await ecs.describeInvocationResults(
        new $Ecs.DescribeInvocationResultsRequest({
          regionId: region,
          invokeId,
          maxResults: 50,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      const invocation = answer.body?.invocation;
      results.push(...(invocation?.invocationResults?.invocationResult ?? []));
      nextToken = invocation?.nextToken || undefined;
    } while (nextToken);
    if (results.length < ids.length) continue;
    const unfinished = results.filter((r) =>
      ["Pending", "Running", "Scheduled"].includes(r.invocationStatus ?? ""),
    );
    if (unfinished.length > 0) continue;
    const failed = results.filter((r) => r.invocationStatus !== "Success");
    if (failed.length > 0)
      throw new Error(
        `the host command failed on ${failed.map((r) => `${r.instanceId} (${r.invocationStatus}: ${r.errorInfo ?? ""})`).join(", ")}`,
      );
    return;
  }
}

/** Runs the manual procedure for one route; `progress` says where it is (the caller watches it). */
export async function migrateByHand(
  stack: LocalStack,
  routes: RoutesFile,
  progress: ByHandProgress,
): Promise<void> {
  const route: Route | undefined = routes.routes[progress.route];
  const destination = route && routes.destinations[route.destination];
  const group = route?.machineGroup.linux;
  const identifier = route?.identifier.linux;
  const logtail = route?.logtailConfig.linux;
  if (!route || !destination || !group || !identifier || !logtail || !route.backfill)
    throw new Error(`route ${progress.route}: the manual procedure needs a Linux group, config and backfill`);
  const hosts = [...progress.hosts].flatMap((id) => stack.fleet.host(id) ?? []);

  progress.step = "host files and agent restart";
  const byScope = new Map<string, string[]>();
  for (const host of hosts) {
    const key = `${host.accountId}|${host.spec.region}`;
    byScope.set(key, [...(byScope.get(key) ?? []), host.instanceId]);
  }
  for (const [key, ids] of byScope) {
    const [accountId = "", region = ""] = key.split("|");
    const ecs = asOperator(operatorEcs(stack, accountId, region), accountId);
    for (let i = 0; i < ids.length; i += 50)
      await runOnHosts(ecs, region, ids.slice(i, i + 50), byHandHostScript(destination.uid, identifier));
  }

  progress.step = "destination machine group, waiting for heartbeats";
  const central = asOperator(operatorSls(stack, destination.uid, destination.region), destination.uid);
  await createTolerant(
    () =>
      central.createProject(new $Sls.CreateProjectRequest({ projectName: route.project, description: "" })),
    "ProjectAlreadyExist",
  );
  await createTolerant(
    () =>
      central.createLogStore(
        route.project,
        new $Sls.CreateLogStoreRequest({ logstoreName: route.logstore, ttl: 30, shardCount: 2 }),
      ),
    "LogStoreAlreadyExist",
  );
  await createTolerant(
    () =>
      central.createMachineGroup(
        route.project,
        new $Sls.CreateMachineGroupRequest({
          groupName: group,
          machineIdentifyType: "userdefined",
          machineList: [identifier],
          groupType: "",
          groupAttribute: new $Sls.CreateMachineGroupRequestGroupAttribute({
            externalName: "",
            groupTopic: "",
          }),
        }),
      ),
    "MachineGroupAlreadyExist",
  );
  const ips = new Set(hosts.map((host) => host.spec.ip));
  for (;;) {
    const machines = (
      await central.listMachines(route.project, group, new $Sls.ListMachinesRequest({ size: 500 }))
    ).body?.machines;
    const seen = new Set((machines ?? []).map((machine) => machine.ip));
    if ([...ips].every((ip) => seen.has(ip))) break;
    await sleep(POLL_MS);
  }

  progress.step = "destination config applied";
  const endpoint = localSlsEndpoint(stack, destination.region);
  await central.createLogtailPipelineConfig(
    route.project,
    new $Sls.CreateLogtailPipelineConfigRequest({
      configName: logtail.name,
      inputs: [{ Type: "input_file", FilePaths: [...logtail.filePaths] }],
      processors: logtail.processors.map((processor) => ({ ...processor })),
      flushers: [
        {
          Type: "flusher_sls",
          Logstore: route.logstore,
          Region: destination.region,
          Endpoint: endpoint,
          TelemetryType: "logs",
        },
      ],
    }),
  );
  await central.applyConfigToMachineGroup(route.project, group, logtail.name);

  for (const source of route.sources) {
    const { retire, backfill } = source;
    const account = routes.sourceAccounts.find((candidate) => candidate.uid === source.account);
    if (!retire || !backfill || !account) continue;
    const region = account.regions[0] ?? "";
    const sls = asOperator(operatorSls(stack, account.uid, region), account.uid);
    progress.step = "old config removed from its group";
    await sls.removeConfigFromMachineGroup(retire.project, retire.machineGroup, retire.config);
    const removedAt = Math.floor(stack.emulator.now() / 1000);
    progress.removedAt = removedAt;
    progress.step = "history copy";
    const name = `manual-copy-${source.account}`;
    await sls.createETL(
      backfill.project,
      new $Sls.CreateETLRequest({
        name,
        displayName: `manual copy ${progress.route}`,
        description: "",
        configuration: new $Sls.ETLConfiguration({
          script: "*",
          lang: "SPL",
          logstore: backfill.logstore,
          roleArn: backfill.readRoleArn,
          fromTime: Math.floor(Date.parse(route.backfill.from) / 1000),
          toTime: removedAt,
          parameters: {},
          sinks: [
            new $Sls.ETLConfigurationSink({
              name: "destination",
              project: route.project,
              logstore: route.logstore,
              endpoint,
              roleArn: route.backfill.writeRoleArn,
              datasets: ["__UNNAMED__"],
            }),
          ],
        }),
      }),
    );
    for (;;) {
      await sleep(POLL_MS);
      const status = (await sls.getETL(backfill.project, name)).body?.status;
      if (status === "SUCCEEDED") break;
      if (status === "FAILED" || status === "STOPPED") throw new Error(`copy job ${name} ${status}`);
    }
  }
  // The harness, not the operator (who cannot see it), waits until every agent runs the new config
  // and no longer the old one, the hosts writing all along: the counts then include what the
  // procedure does while its changes reach the hosts late, not only before they arrive.
  progress.step = "waiting for the config changes to reach every agent";
  const destinationConfig = `${destination.uid}/${route.project}/${logtail.name}`;
  const retired = route.sources.flatMap((source) =>
    source.retire && source.backfill
      ? [`${source.account}/${source.retire.project}/${source.retire.config}`]
      : [],
  );
  while (
    !hosts.every((host) => {
      const running = stack.fleet.collector.configsOf(host.instanceId);
      return running.includes(destinationConfig) && !retired.some((config) => running.includes(config));
    })
  )
    await sleep(POLL_MS);
  progress.step = "done";
}
