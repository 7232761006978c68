/**
 * The ledger's delivery audit (once, more than once, missing) against what anyone reading the
 * logstore sees: counts read back through GetLogs of the official SDK, on a host whose agent
 * duplicates (a crash re-reads from its checkpoint) and loses (a copytruncate before a read).
 */
import * as Sls from "@alicloud/sls20201230";
import { z } from "zod";
import { auditDelivery, contentsOf } from "../../localstack/fleet/deliveryAudit";
import { formatLine } from "../../localstack/fleet/hostWriters";
import { slsClient } from "../emulator/slsTestKit";
import {
  APP,
  type Harness,
  HOST,
  oneHostFleet,
  project,
  REGION,
  START,
  startHarness,
} from "./support/collectHarness";

const PATH = "/var/log/app/a.log";
const LINE = 200;

let harness: Harness | undefined;

afterAll(async () => {
  await harness?.stop();
});

describe("the delivery audit agrees with GetLogs", () => {
  it("counts every written line once, more than once or missing, as the logstore holds them", async () => {
    harness = await startHarness(
      oneHostFleet(
        [{ path: PATH, linesPerSecond: 2, lineBytes: LINE }],
        [project("proj", [{ name: "files", filePaths: ["/var/log/app/*.log"] }])],
      ),
    );
    const h = harness;
    const key = h.emulator.endpoints.accounts.find((account) => account.id === APP.id);
    if (key === undefined) throw new Error("app-b has no AccessKey on the emulator");
    const sls = slsClient(h.emulator.port, {
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
      region: REGION,
    });
    const text = new Sls.IndexKey({ type: "text", token: [" "], caseSensitive: true, docValue: true });
    await sls.createIndex(
      "proj",
      "logs",
      new Sls.CreateIndexRequest({
        body: new Sls.Index({ line: new Sls.IndexLine({ token: [" "] }), keys: { content: text } }),
      }),
    );

    // A crash after the 15-minute checkpoint: what was read since is read and sent again.
    await h.advance(1000);
    h.fleet.collector.crash(HOST);
    await h.advance(5);
    // Two lines written and truncated away (copytruncate) before the agent's next read: lost.
    for (let i = 0; i < 2; i += 1) {
      const seq = (h.fleet.ledger.file(HOST, PATH).runs.at(-1)?.lastSeq ?? 0) + 1;
      h.fleet.writers.writeRaw(HOST, PATH, Buffer.from(formatLine(h.emulator.now(), HOST, PATH, seq, LINE)));
    }
    h.fleet.writers.rotateNow(HOST, PATH, "copytruncate");
    await h.advance(5);
    h.fleet.writers.stop();
    await h.advance(3);

    const audit = auditDelivery(
      h.fleet.ledger,
      [{ instanceId: HOST, path: PATH }],
      contentsOf(h.emulator.sls.logRows(APP.id, REGION, "proj", "logs")),
    );

    const query = async (sql: string): Promise<Array<Record<string, string>>> => {
      const response = await sls.getLogs(
        "proj",
        "logs",
        new Sls.GetLogsRequest({ from: START / 1000, to: START / 1000 + 3600, query: sql }),
      );
      return z.array(z.record(z.string(), z.string())).parse(response.body);
    };
    const [totals] = await query("* | select count(*) as lines, count(distinct content) as distinct_lines");
    const copies = await query("* | select content, count(*) as copies group by content limit 100000");
    const duplicated = copies.filter((row) => Number(row.copies) > 1);

    expect(audit.written).toBe(h.fleet.ledger.file(HOST, PATH).lines);
    expect(audit.duplicated).toBeGreaterThan(100);
    expect(audit.missing).toBe(2);
    expect(audit.missingUnreadable).toBe(2);
    expect(audit.once + audit.duplicated + audit.missing).toBe(audit.written);
    expect(audit.unexpected + audit.unparsed).toBe(0);
    // What a reader of the logstore counts through GetLogs.
    expect(Number(totals?.lines)).toBe(audit.stored);
    expect(Number(totals?.distinct_lines)).toBe(audit.written - audit.missing);
    expect(duplicated).toHaveLength(audit.duplicated);
    expect(duplicated.reduce((sum, row) => sum + Number(row.copies) - 1, 0)).toBe(audit.extraCopies);
    expect(audit.files).toEqual([expect.objectContaining({ instanceId: HOST, path: PATH, missing: 2 })]);
    // The agent ships within seconds of the write on the emulator clock.
    expect(audit.latency?.lines).toBe(audit.once + audit.duplicated);
    expect(audit.latency?.max).toBeLessThan(30);
  });

  it("counts lines of other files as unexpected and logs that are not a writer's line as unparsed", async () => {
    const h = harness;
    if (h === undefined) throw new Error("the first test starts the harness");
    const audit = auditDelivery(
      h.fleet.ledger,
      [],
      [
        { content: formatLine(START, HOST, PATH, 1, LINE) },
        { content: "not a line" },
        { content: undefined },
      ],
    );

    expect(audit).toMatchObject({ written: 0, stored: 3, unexpected: 1, unparsed: 2, missing: 0 });
  });

  it("measures each line's latency to its first arrival, whichever copy came first", async () => {
    const h = harness;
    if (h === undefined) throw new Error("the first test starts the harness");
    const written = Math.floor(START / 1000);
    const line = (seq: number) => formatLine(START, HOST, PATH, seq, LINE);
    const audit = auditDelivery(
      h.fleet.ledger,
      [{ instanceId: HOST, path: PATH }],
      [
        { content: line(1), receiveTime: written + 30 },
        { content: line(1), receiveTime: written + 2 },
        { content: line(2), receiveTime: written + 7 },
        { content: line(3), receiveTime: written - 1 },
        // No receive time (a reader that cannot say): counted, not timed.
        { content: line(4) },
      ],
    );

    expect(audit.latency).toEqual({ lines: 3, p50: 2, p99: 7, max: 7 });
    expect(audit.extraCopies).toBe(1);
  });
});
