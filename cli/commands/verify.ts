/**
 * `verify`: is every line of a route's migrated files in the destination once? Reads the source
 * and destination logstores and the copy jobs only (shared/usecases/verifyRoute.ts). Exit 0 when
 * every line is there once and the copy has finished; 4 with the counts when not.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { LINE_TIME_SKEW_SECONDS, type VerifyReport } from "../../shared/status/verifyReport";
import { VerifyError, verifyRoute } from "../../shared/usecases/verifyRoute";
import { CliFailure, describeFailure, loadConfig, openCloud } from "../cloud";
import { EXIT_INVALID_INPUT, EXIT_NOT_EXACTLY_ONCE, EXIT_OK, EXIT_USAGE } from "../exitCodes";
import type { CliIo } from "../io";
import { renderVerifyHtml } from "../report/verifyHtml";

interface VerifyOptions {
  config: string;
  route: string;
  endpointsFile?: string;
  since?: string;
  json?: boolean;
  html?: string;
}

export function registerVerifyCommand(program: Command, io: CliIo): void {
  program
    .command("verify")
    .description(
      "Whether every line of a route's migrated files is in the destination once: per host and file, lines in the source and the destination, missing, duplicated (same inode and offset), holes in the offsets, and the copy jobs. Read-only.",
    )
    .requiredOption("--config <file>", "routes file")
    .requiredOption("--route <name>", "the route to verify")
    .option("--endpoints-file <file>", "verify on the local stack described by this endpoints file")
    .option("--since <iso>", "start of the window (default: the route's backfill.from)")
    .option("--json", "print the reports as JSON")
    .option(
      "--html <file>",
      "also write an HTML page: lines per minute in both logstores, the cutover, the problems",
    )
    .action(async (options: VerifyOptions) => {
      try {
        io.setExitCode(await verify(io, options));
      } catch (error) {
        const failure =
          error instanceof VerifyError
            ? new CliFailure(error.message, EXIT_INVALID_INPUT)
            : describeFailure(error);
        io.err(`logtail-xacct: ${failure.message}\n`);
        io.setExitCode(failure.exitCode);
      }
    });
}

async function verify(io: CliIo, options: VerifyOptions): Promise<number> {
  const since = options.since === undefined ? undefined : Date.parse(options.since);
  if (since !== undefined && Number.isNaN(since)) {
    io.err(`--since: "${options.since}" is not an ISO-8601 time\n`);
    return EXIT_USAGE;
  }
  // An unknown route is bad input whatever the cloud's state: said before anything is reached.
  const routes = loadConfig(options.config);
  if (routes.routes[options.route] === undefined)
    throw new VerifyError(
      `--route ${options.route}: no such route in ${options.config} (routes: ${Object.keys(routes.routes).sort().join(", ")})`,
    );
  const session = await openCloud(options);
  const reports = await verifyRoute(session.deps, options.route, {
    ...(since === undefined ? {} : { since: Math.floor(since / 1000) }),
  });
  io.out(options.json ? `${JSON.stringify(reports, null, 2)}\n` : renderVerifyText(reports));
  if (options.html !== undefined) {
    writeFileSync(options.html, renderVerifyHtml(reports));
    io.err(`verify: HTML report written to ${options.html}\n`);
  }
  return reports.every((report) => report.ok) ? EXIT_OK : EXIT_NOT_EXACTLY_ONCE;
}

export function renderVerifyText(reports: readonly VerifyReport[]): string {
  let text = "";
  for (const report of reports) {
    const { totals } = report;
    text += `route ${report.route} from ${report.sourceAccount}: ${report.ok ? "every line once" : "NOT exactly once"}\n`;
    text += `  files ${totals.files}  source lines ${totals.inSource}  destination lines ${totals.inDestination}  missing ${totals.missing}  duplicated ${totals.duplicated} (+${totals.extraCopies} copies)\n`;
    text += `  lines without position (copied history): missing ${totals.unplacedMissing}, extra ${totals.unplacedExtra}\n`;
    if (totals.unplacedRepeated > 0)
      text += `  history lines the source already held more than once, copied as they were (agent duplicates before the migration, or lines written twice): ${totals.unplacedRepeated} extra copies, ${totals.unplacedResent} of them in a pack sent again (same __pack_id__)\n`;
    if (report.sourceOnly.length > 0)
      text += `  after the cutover ${totals.sourceOnlyLines} lines of ${report.sourceOnly.length} hosts stayed in the source only (hosts not migrated, or files the route does not read; first: ${report.sourceOnly[0]?.host})\n`;
    if (totals.holes > 0 || totals.filesNotCheckedForHoles > 0)
      text += `  holes in the files' offsets (bytes no line in either logstore covers): ${totals.holes} (${totals.holeBytes} bytes)${report.holesAreLoss ? "" : ", not counted against the route: its processors may drop lines"}${totals.filesNotCheckedForHoles > 0 ? `; ${totals.filesNotCheckedForHoles} files not checked (no content length, or a file written again under one inode)` : ""}\n`;
    for (const job of report.copyJobs) text += `  copy job ${job.name}: ${job.status}\n`;
    if (report.copyUnfinished)
      text += `  the copy has not finished: ${totals.awaitingCopy} of the missing lines are in its range, still to copy\n`;
    if (report.lineIdentity !== "content")
      text += `  some lines have no content digest (no \`content\` field, or no analytics on it): their copies were told apart by read time, so a re-read more than ${LINE_TIME_SKEW_SECONDS} s later counts as a line of its own\n`;
    if (report.cutoverAt !== undefined)
      text += `  cutover (copy range end) ${new Date(report.cutoverAt * 1000).toISOString()}\n`;
    const problems = report.files.filter(
      (file) => file.missing > 0 || file.extraCopies > 0 || file.holes > 0,
    );
    for (const file of problems.slice(0, 20)) {
      text += `  host ${file.host} inode ${file.inode}: ${file.missing} missing (offsets ${file.missingOffsets.join(", ") || "-"}), ${file.duplicated} duplicated (offsets ${file.duplicatedOffsets.join(", ") || "-"})${file.holes > 0 ? `, ${file.holes} holes (at ${file.holeOffsets.join(", ")})` : ""}\n`;
    }
    if (problems.length > 20) text += `  … and ${problems.length - 20} more files\n`;
  }
  return text;
}
