/**
 * The operator's commands — status, plan, reconcile, revoke — against a real hub (the default
 * credential chain) or the local stack (`--endpoints-file`). They call the same steps the functions
 * run. Output on stdout is stable to parse (colour only on a terminal); progress goes to stderr.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { MnsQueueAdminAdapter } from "../../shared/adapters/mnsQueueAdminAdapter";
import { INSTANCE_ID } from "../../shared/config/patterns";
import { SNAPSHOT_EXPIRY, snapshotBucketName } from "../../shared/deploy/hubBucket";
import { ensureHubQueues } from "../../shared/deploy/hubQueues";
import { plan, RUN_COMMAND_BATCH } from "../../shared/planner/plan";
import { buildDriftReport } from "../../shared/status/driftReport";
import { buildFleetReport, type FleetReport } from "../../shared/status/fleetReport";
import { applyRoute } from "../../shared/usecases/applyRoute";
import { authorizeInstances } from "../../shared/usecases/authorizeInstances";
import { filterPlan, observeFleet, reconcile } from "../../shared/usecases/reconcile";
import { chunk, groupBy } from "../../shared/util/collections";
import { CliFailure, type CloudSession, checkFilters, describeFailure, openCloud } from "../cloud";
import { EXIT_INVALID_INPUT, EXIT_OK } from "../exitCodes";
import type { CliIo } from "../io";
import { renderHtmlReport } from "../report/htmlReport";
import { progressPrinter, renderDriftText, renderStatusText } from "../report/textReport";

interface CommonOptions {
  config: string;
  endpointsFile?: string;
  json?: boolean;
}

const CONFIG_HELP = "routes file (the allowlist and the accounts to read)";
const ENDPOINTS_HELP = "act on the local stack described by this endpoints file instead of Alibaba Cloud";

export function registerOperatorCommands(program: Command, io: CliIo): void {
  program
    .command("status")
    .description(
      "Per route, account and region: instances by stage, the failed ones with reason and remedy, the copy jobs. Read-only.",
    )
    .requiredOption("--config <file>", CONFIG_HELP)
    .option("--endpoints-file <file>", ENDPOINTS_HELP)
    .option("--json", "print the report as JSON")
    .option("--html <file>", "also write a static HTML report to this file")
    .action((options: CommonOptions & { html?: string }) => run(io, () => status(io, options)));

  program
    .command("plan")
    .description(
      "What reconcile would do now and why (the drift found), with counts per account. Changes nothing.",
    )
    .requiredOption("--config <file>", CONFIG_HELP)
    .option("--endpoints-file <file>", ENDPOINTS_HELP)
    .option("--route <name>", "only this route")
    .option("--account <uid>", "only this source account")
    .option("--json", "print the findings and actions as JSON")
    .action((options: CommonOptions & { route?: string; account?: string }) =>
      run(io, () => planCommand(io, options)),
    );

  program
    .command("reconcile")
    .description("Run the plan now (host commands, destination repairs, status tags), then show the status.")
    .requiredOption("--config <file>", CONFIG_HELP)
    .option("--endpoints-file <file>", ENDPOINTS_HELP)
    .option("--route <name>", "only this route")
    .option("--account <uid>", "only this source account")
    .option("--json", "print the executed actions and the status as JSON")
    .action((options: CommonOptions & { route?: string; account?: string }) =>
      run(io, () => reconcileCommand(io, options)),
    );

  program
    .command("queues")
    .description(
      "Create the hub's queues — heartbeat, apply and the dead-letter queue with its policy — where missing (the deploy's first step).",
    )
    .requiredOption("--config <file>", CONFIG_HELP)
    .option("--endpoints-file <file>", ENDPOINTS_HELP)
    .action((options: CommonOptions) => run(io, () => queuesCommand(io, options)));

  program
    .command("revoke")
    .description("Offboard explicitly: remove the route tag and revoke the hosts now.")
    .requiredOption("--config <file>", CONFIG_HELP)
    .option("--endpoints-file <file>", ENDPOINTS_HELP)
    .option("--instance <id...>", "these instances")
    .option("--route <name>", "every instance tagged with this route")
    .option("--json", "print the outcome as JSON")
    .action((options: CommonOptions & { instance?: string[]; route?: string }) =>
      run(io, () => revokeCommand(io, options)),
    );
}

async function run(io: CliIo, command: () => Promise<number>): Promise<void> {
  try {
    io.setExitCode(await command());
  } catch (error) {
    const failure = describeFailure(error);
    io.err(`logtail-xacct: ${failure.message}\n`);
    io.setExitCode(failure.exitCode);
  }
}

async function readStatus(session: CloudSession, io?: CliIo): Promise<FleetReport> {
  const progress = io ? progressPrinter(io.err, io.stderrIsTty?.() ?? false, "status") : undefined;
  const observed = await observeFleet(session.deps, {
    ...(progress ? { onProgress: (p: Parameters<typeof progress.update>[0]) => progress.update(p) } : {}),
  });
  progress?.done();
  return buildFleetReport(session.config, observed);
}

function printStatus(io: CliIo, report: FleetReport, json: boolean | undefined): void {
  io.out(
    json ? `${JSON.stringify(report, null, 2)}\n` : renderStatusText(report, io.stdoutIsTty?.() ?? false),
  );
}

async function status(io: CliIo, options: CommonOptions & { html?: string }): Promise<number> {
  const session = await openCloud(options);
  const report = await readStatus(session, io);
  printStatus(io, report, options.json);
  if (options.html !== undefined) {
    writeFileSync(options.html, renderHtmlReport(report));
    io.err(`status: HTML report written to ${options.html}\n`);
  }
  return EXIT_OK;
}

async function planCommand(
  io: CliIo,
  options: CommonOptions & { route?: string; account?: string },
): Promise<number> {
  const session = await openCloud(options);
  checkFilters(session.config, options.config, options.route, options.account);
  const progress = progressPrinter(io.err, io.stderrIsTty?.() ?? false, "plan");
  const observed = await observeFleet(session.deps, {
    cloudAssistant: true,
    ...(options.account === undefined ? {} : { accounts: [options.account] }),
    onProgress: (p) => progress.update(p),
  });
  progress.done();
  const result = filterPlan(plan(session.config, observed), observed, session.config.tagKey, options.route);
  const drift = buildDriftReport(session.config, observed, result);
  io.out(
    options.json
      ? `${JSON.stringify(drift, null, 2)}\n`
      : renderDriftText(drift, io.stdoutIsTty?.() ?? false),
  );
  return EXIT_OK;
}

async function reconcileCommand(
  io: CliIo,
  options: CommonOptions & { route?: string; account?: string },
): Promise<number> {
  const session = await openCloud(options);
  checkFilters(session.config, options.config, options.route, options.account);
  const progress = progressPrinter(io.err, io.stderrIsTty?.() ?? false, "reconcile");
  const outcome = await reconcile(session.deps, {
    ...(options.route === undefined ? {} : { route: options.route }),
    ...(options.account === undefined ? {} : { accountId: options.account }),
    onProgress: (p) => progress.update(p),
    applyNow: async (message) => {
      await applyRoute(session.deps, message);
    },
  });
  progress.done();
  const report = await readStatus(session);
  if (options.json) {
    io.out(`${JSON.stringify({ executed: outcome.executed, status: report }, null, 2)}\n`);
  } else {
    const done = Object.entries(outcome.executed)
      .filter(([, n]) => n > 0)
      .map(([type, n]) => `${type} ${n}`);
    io.out(`reconcile: ${done.length > 0 ? done.join(", ") : "nothing to do"} (on ${session.where})\n\n`);
    printStatus(io, report, false);
  }
  return EXIT_OK;
}

async function revokeCommand(
  io: CliIo,
  options: CommonOptions & { instance?: string[]; route?: string },
): Promise<number> {
  const instances = options.instance ?? [];
  if (instances.length > 0 === (options.route !== undefined))
    throw new CliFailure("revoke: give either --instance ID... or --route NAME", EXIT_INVALID_INPUT);
  for (const id of instances)
    if (!INSTANCE_ID.test(id))
      throw new CliFailure(`--instance ${JSON.stringify(id)}: not an ECS instance id`, EXIT_INVALID_INPUT);
  const session = await openCloud(options);
  const { config, deps } = session;
  checkFilters(config, options.config, options.route);

  // Find every instance first: an unknown one stops the command before anything changes.
  const found = new Map<string, { accountId: string; region: string; route: string | undefined }>();
  for (const account of config.sourceAccounts) {
    for (const region of account.regions) {
      const ecs = deps.ecs({ accountId: account.uid, region });
      const records =
        options.route !== undefined
          ? await ecs.describeInstances({ tagKey: config.tagKey, tagValue: options.route })
          : await ecs.describeInstances({ instanceIds: instances });
      for (const record of records)
        found.set(record.instanceId, { accountId: account.uid, region, route: record.tags[config.tagKey] });
    }
  }
  const missing = instances.filter((id) => !found.has(id));
  if (missing.length > 0)
    throw new CliFailure(
      `--instance ${missing.join(" ")}: not found in any account and region of ${options.config}; nothing was changed`,
      EXIT_INVALID_INPUT,
    );

  const statuses: Record<string, string> = {};
  for (const { key, items } of groupBy(found, ([, where]) => [where.accountId, where.region] as const)) {
    const [accountId, region] = key;
    const ids = items.map(([id]) => id);
    const ecs = deps.ecs({ accountId, region });
    // Without the route tag, authorize revokes: the same code path as an operator's untagging.
    await ecs.untagInstances(ids, [config.tagKey]);
    for (const instanceIds of chunk(ids, RUN_COMMAND_BATCH)) {
      const outcome = await authorizeInstances(deps, { accountId, region, instanceIds });
      for (const [id, value] of outcome.statuses) statuses[id] = value;
    }
  }
  const ids = [...found.keys()].sort();
  if (options.json) {
    io.out(
      `${JSON.stringify({ revoked: ids.map((id) => ({ instanceId: id, status: statuses[id] ?? "unchanged" })) }, null, 2)}\n`,
    );
  } else if (ids.length === 0) {
    io.out(`revoke: no instance is tagged ${options.route}\n`);
  } else {
    io.out(`revoke: ${ids.length} instances untagged and revoked on ${session.where}\n`);
    for (const id of ids) io.out(`${id}  ${statuses[id] ?? "unchanged (never onboarded)"}\n`);
  }
  const failed = ids.filter((id) => statuses[id] !== undefined && statuses[id] !== "revoked");
  return failed.length > 0 ? EXIT_INVALID_INPUT : EXIT_OK;
}

async function queuesCommand(io: CliIo, options: CommonOptions): Promise<number> {
  // A deploy step: the deployer's own identity creates the queues (the operator role may not).
  const session = await openCloud({ ...options, ownCredentials: true });
  const { hub } = session.config;
  const admin = new MnsQueueAdminAdapter({ accountId: hub.accountId, region: hub.region }, session.adapters);
  for (const { name, outcome } of await ensureHubQueues(admin))
    io.out(`${name}  ${outcome}  (${hub.accountId}, ${hub.region})\n`);
  const bucket = snapshotBucketName(hub.accountId, hub.region);
  const store = session.adapters.snapshotStore(bucket);
  const made = await store.ensureBucket();
  io.out(`${bucket}  ${made === "exists" ? "unchanged" : made}  (${hub.accountId}, ${hub.region}, OSS)\n`);
  await store.expireObjects(SNAPSHOT_EXPIRY);
  for (const rule of SNAPSHOT_EXPIRY) io.out(`${bucket}/${rule.prefix}*  expire after ${rule.days} day\n`);
  return EXIT_OK;
}
