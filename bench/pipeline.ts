/**
 * Pipeline benchmark (not a test). Target (issue 5): onboard 1,000 instances tagged in one burst —
 * API calls per onboarded instance (every ECS, SLS, MNS and STS request) ≤ 0.25, and wall time from
 * the first tag to the last `collecting` within 1.5× the bound the heartbeat period imposes.
 *
 *   npm run bench:pipeline [-- --instances 1000 --scale 20]
 *
 * Runs `logtail-xacct start` on a generated fleet of healthy hosts and reads its JSON summary.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bufferIo } from "../cli/io";
import { main } from "../cli/main";

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index < 0 ? Number.NaN : Number(process.argv[index + 1]);
  return Number.isNaN(value) ? fallback : value;
}

async function run(): Promise<void> {
  const instances = option("instances", 1000);
  const scale = option("scale", 20);
  const dir = mkdtempSync(join(tmpdir(), "bench-pipeline-"));
  const fleet = join(dir, "fleet.yaml");
  writeFileSync(
    fleet,
    [
      "accounts:",
      '  - { id: "1200000000000456", name: hub, roles: [{ name: logtail-xacct-event-forwarder, trustedAccounts: ["1700000000000397"] }, { name: logtail-xacct-fc, trustedServices: [fc.aliyuncs.com] }] }',
      '  - { id: "1700000000000397", name: app-b, roles: [{ name: logtail-xacct-spoke, trustedAccounts: ["1200000000000456"] }] }',
      '  - { id: "1800000000000512", name: payments, roles: [{ name: logtail-xacct-spoke, trustedAccounts: ["1200000000000456"] }] }',
      "instances:",
      `  - { account: app-b, region: cn-hangzhou, count: ${instances} }`,
      "",
    ].join("\n"),
  );
  const io = bufferIo();
  const code = await main(
    ["start", "--fleet", fleet, "--scale", String(scale), "--json", "--exit-when-converged"],
    io,
  );
  const last = io.stdout().trim().split("\n").at(-1) ?? "{}";
  const summary = JSON.parse(last);
  const total: number = summary.apiCalls?.total ?? Number.NaN;
  const collecting: number = summary.byStage?.collecting ?? 0;
  const perInstance = total / Math.max(collecting, 1);
  // The floor the APIs' page and batch sizes imply per instance: DescribeInstances (100), Cloud
  // Assistant status (50), RunCommand (100), invocation results (50), status tags (50, twice:
  // authorized and collecting), ListMachines (500), MNS batches (16).
  const floor = 1 / 100 + 1 / 50 + 1 / 100 + 1 / 50 + 2 / 50 + 1 / 500 + 2 / 16 / 100;
  // One heartbeat timer period (60 s emulated) after the last authorization, in wall seconds.
  const heartbeatBound = 60 / scale;
  process.stdout.write(
    `pipeline bench: ${instances} healthy instances tagged in one burst, emulator time ×${scale}, exit ${code}\n` +
      `  converged: ${summary.converged}, collecting ${collecting}, wall ${summary.seconds} s from the first tag\n` +
      `  API calls: ${total} in all = ${perInstance.toFixed(3)} per onboarded instance (target ≤ 0.25; batch-size floor ≈ ${floor.toFixed(3)})\n` +
      `  heartbeat-period bound: ${heartbeatBound.toFixed(1)} s wall per timer period (no API rate limits set in this run)\n`,
  );
  const top = Object.entries(summary.apiCalls?.byOperation ?? {})
    .sort((a, b) => Number(b[1]) - Number(a[1]))
    .slice(0, 12);
  for (const [operation, calls] of top)
    process.stdout.write(`    ${operation.padEnd(44)} ${String(calls).padStart(6)}\n`);
  process.stdout.write("  by caller:\n");
  const callers: Record<string, { calls: number; operations: Record<string, number> }> =
    summary.apiCalls?.byCaller ?? {};
  for (const [caller, entry] of Object.entries(callers)) {
    const operations = Object.entries(entry.operations)
      .sort((a, b) => b[1] - a[1])
      .map(([operation, calls]) => `${operation} ${calls}`)
      .join(", ");
    process.stdout.write(`    ${caller.padEnd(44)} ${String(entry.calls).padStart(6)}  ${operations}\n`);
  }
}

run().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
