/**
 * Data-plane benchmark (not a test): how many 200-byte lines per second does the emulator ingest
 * through PutLogs (lz4, signed by `@alicloud/log` over HTTP), and what does a stored line cost in
 * memory? Target (issue 13): ≥ 50,000 lines/s on one core.
 *
 *   npm run bench:dataplane [-- --lines 1000000 --group 1000 --concurrency 4]
 *
 * Everything runs on one event loop (one core): the emulator and the client that posts. The client's
 * bodies are encoded and compressed before the clock starts (the agent's work, not the emulator's),
 * so the figure is the emulator's ingest plus the client's HTTP and signing, which makes it a lower
 * bound. After the run it scans the stored lines once through the LogRowSource the query engine uses.
 */
import LogClient from "@alicloud/log";
import { startEmulator } from "../emulator/index";
import { encodeLogGroup, type LogGroupColumns } from "../emulator/sls/logGroupCodec";
import { lz4CompressBlock } from "../emulator/sls/lz4";
import { COLLECTION_TARGET_CPU_SHARE, COLLECTION_TARGET_P99_MS, measureCollection } from "./collection";
import { numberOption, stdoutLog } from "./common";
import { measureQuery } from "./query";

const region = "cn-hangzhou";
const project = "bench-dataplane";
const logstore = "ingest";
const lineBytes = 200;
const distinctBodies = 16;
const account = {
  id: "1000000000000001",
  name: "bench",
  accessKeyId: "LTAIbenchDataPlane",
  accessKeySecret: "bench-secret-0001",
};

export const DATAPLANE_TARGET_LINES_PER_SECOND = 50_000;

const words = [
  "user",
  "GET",
  "POST",
  "/api/v1/orders",
  "200",
  "404",
  "ms",
  "latency",
  "id",
  "session",
  "ok",
  "retry",
];

/** Deterministic filler: words picked by a linear congruential sequence, so bodies compress like logs. */
function filler(state: { value: number }, length: number): string {
  let text = "";
  while (text.length < length) {
    state.value = (Math.imul(state.value, 1_103_515_245) + 12_345) >>> 0;
    text += `${words[state.value % words.length] ?? ""}=${state.value % 100_000} `;
  }
  return text.slice(0, length);
}

/** One group of `lines` agent-like lines of exactly 200 bytes in `content`. */
function group(lines: number, variant: number): LogGroupColumns {
  const keys: string[] = [];
  const values: string[] = [];
  const fieldStart = [0];
  const state = { value: variant + 1 };
  for (let i = 0; i < lines; i += 1) {
    const head = `2026-01-01T00:00:${String(i % 60).padStart(2, "0")}Z i-bench${variant} app[${i}] INFO seq=${variant * lines + i} `;
    keys.push("content");
    values.push(head + filler(state, lineBytes - head.length));
    fieldStart.push(keys.length);
  }
  return {
    topic: "",
    source: "10.0.0.1",
    tags: [
      "__hostname__",
      `host-${variant}`,
      "__path__",
      "/var/log/app/app.log",
      "__pack_id__",
      `ABCDEF-${variant}`,
    ],
    times: new Uint32Array(lines).fill(1_767_225_600),
    timeNs: undefined,
    fieldStart: Uint32Array.from(fieldStart),
    keys,
    values,
  };
}

function heapBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

export async function runDataPlaneBench(options: { lines: number; groupSize: number; concurrency: number }) {
  const emulator = await startEmulator({
    fleet: { accounts: [{ ...account, roles: [] }] },
    clock: { startAt: Date.UTC(2026, 0, 1), scale: 1 },
  });
  try {
    const scope = { accountId: account.id, region, action: "bench" };
    emulator.sls.createProject(scope, { projectName: project });
    emulator.sls.createLogstore(scope, project, { logstoreName: logstore, ttl: 30, shardCount: 2 });
    const client = new LogClient({
      accessKeyId: account.accessKeyId,
      accessKeySecret: account.accessKeySecret,
      endpoint: `http://${region}.log.localhost:${emulator.port}`,
    });
    const bodies = Array.from({ length: distinctBodies }, (_, variant) => {
      const raw = encodeLogGroup(group(options.groupSize, variant));
      return { raw: raw.length, lz4: lz4CompressBlock(raw) };
    });
    const requests = Math.ceil(options.lines / options.groupSize);
    const post = (index: number) => {
      const body = bodies[index % bodies.length];
      if (body === undefined) throw new Error("no body");
      return client._request("POST", project, `/logstores/${logstore}/shards/lb`, {}, body.lz4, {
        "content-type": "application/x-protobuf",
        "x-log-bodyrawsize": body.raw,
        "x-log-compresstype": "lz4",
      });
    };
    await post(0); // warm up the connection and the JIT; counted in the store, not in the timing
    const heapBefore = heapBytes();
    const storedBefore = emulator.sls.logRows(account.id, region, project, logstore).lineCount;

    const cpuStart = process.cpuUsage();
    const started = performance.now();
    let next = 1;
    const worker = async () => {
      while (next <= requests) {
        const index = next;
        next += 1;
        await post(index);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);

    const rows = emulator.sls.logRows(account.id, region, project, logstore);
    const stored = rows.lineCount - storedBefore;
    const heapAfter = heapBytes();
    const scanStarted = performance.now();
    let scanned = 0;
    for (const row of rows.scan(0, 2 ** 32)) if (row.get("content") !== undefined) scanned += 1;
    const scanMs = performance.now() - scanStarted;
    const compressed = bodies.reduce((sum, body) => sum + body.lz4.length, 0);
    const raw = bodies.reduce((sum, body) => sum + body.raw, 0);
    return {
      linesPerSecond: stored / seconds,
      cpuSecondsPerSecond: (cpu.user + cpu.system) / 1e6 / seconds,
      storedLines: stored,
      seconds,
      bytesPerLine: (heapAfter - heapBefore) / stored,
      rawBytesPerLine: raw / (distinctBodies * options.groupSize),
      lz4Ratio: raw / compressed,
      scanLines: scanned,
      scanMs,
      gcExposed: (globalThis as { gc?: () => void }).gc !== undefined,
    };
  } finally {
    await emulator.stop();
  }
}

if (require.main === module) {
  const lines = numberOption("lines", 1_000_000);
  const groupSize = numberOption("group", 1_000);
  const concurrency = numberOption("concurrency", 4);
  const all = async () => {
    const ingest = await runDataPlaneBench({ lines, groupSize, concurrency });
    // The three measurements of issue 13, one after the other in this one process.
    stdoutLog("queries over 1,000,000 stored lines (median of 3 runs):");
    measureQuery();
    const collection = await measureCollection();
    return { ingest, collection };
  };
  all().then(
    ({ ingest: result, collection }) => {
      const ratio = result.linesPerSecond / DATAPLANE_TARGET_LINES_PER_SECOND;
      stdoutLog(`PutLogs (lz4, ${groupSize} lines of ${lineBytes} B per group, ${concurrency} in flight):`);
      stdoutLog(
        `  ${result.storedLines} lines in ${result.seconds.toFixed(2)} s = ${Math.round(result.linesPerSecond)} lines/s ` +
          `(${ratio.toFixed(2)}× the target ${DATAPLANE_TARGET_LINES_PER_SECOND}), ` +
          `${result.cpuSecondsPerSecond.toFixed(2)} CPU s per s (emulator and client, one event loop)`,
      );
      stdoutLog(
        `  memory per stored line: ${Math.round(result.bytesPerLine)} B (raw protobuf ${Math.round(result.rawBytesPerLine)} B, ` +
          `${(result.bytesPerLine / result.rawBytesPerLine).toFixed(2)}×)${result.gcExposed ? "" : " — run with --expose-gc for a settled heap"}`,
      );
      stdoutLog(`  lz4 ratio of the bodies: ${result.lz4Ratio.toFixed(2)}×`);
      stdoutLog(
        `  one scan of ${result.scanLines} lines through LogRowSource: ${Math.round(result.scanMs)} ms`,
      );
      stdoutLog(
        `collection: ${collection.hosts} hosts writing, agents shipping through PutLogs: ` +
          `${(collection.cpuShare * 100).toFixed(1)}% of one core (${(collection.cpuShare / COLLECTION_TARGET_CPU_SHARE).toFixed(2)}× the ${COLLECTION_TARGET_CPU_SHARE * 100}% budget), ` +
          `write-to-store p99 ${Math.round(collection.latencyP99Ms)} ms emulated (${(collection.latencyP99Ms / COLLECTION_TARGET_P99_MS).toFixed(2)}× the bound), ` +
          `${collection.linesStored} of ${collection.allLinesWritten} lines stored, ${collection.resends} re-sends`,
      );
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
