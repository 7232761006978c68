/**
 * buildVerifyReport on hand-made GetLogs rows: per (host, inode) file, the source's offsets against
 * the destination's (missing, doubled, destination-only), lines without position meta per host,
 * late source lines after the cutover, and the copy jobs' part in the verdict.
 */
import { READ_SKEW_SECONDS } from "../../../shared/planner/handover";
import {
  buildVerifyReport,
  type CopyJobState,
  LEFT_ROUTE_SECONDS,
  mayDropLines,
  type PositionCount,
  type UnplacedCount,
  type VerifyInput,
} from "../../../shared/status/verifyReport";

const CUTOVER = 1_777_593_600;
const DONE: CopyJobState[] = [{ name: "ltx-backfill-app-b-prod-1700", status: "SUCCEEDED" }];

/** One copy of each offset of a file, received before the cutover. */
function lines(host: string, inode: string, offsets: readonly number[], received = CUTOVER - 600) {
  return offsets.map((offset): PositionCount => ({ host, inode, offset, copies: 1, received }));
}

const range = (from: number, count: number, step = 100) =>
  Array.from({ length: count }, (_, i) => from + i * step);

function input(
  source: readonly PositionCount[],
  destination: readonly PositionCount[],
  extra: Partial<VerifyInput> & {
    sourceUnplaced?: UnplacedCount[];
    destinationUnplaced?: UnplacedCount[];
  } = {},
): VerifyInput {
  const { sourceUnplaced = [], destinationUnplaced = [], ...rest } = extra;
  return {
    route: "app-b-prod",
    sourceAccount: "1700000000000397",
    window: { from: CUTOVER - 3600, to: CUTOVER + 3600 },
    source: { positions: source, unplaced: sourceUnplaced, perMinute: [{ minute: CUTOVER - 600, lines: 3 }] },
    destination: {
      positions: destination,
      unplaced: destinationUnplaced,
      perMinute: [{ minute: CUTOVER - 600, lines: 3 }],
    },
    copyJobs: DONE,
    cutoverAt: CUTOVER,
    ...rest,
  };
}

const ZERO = {
  missing: 0,
  duplicated: 0,
  extraCopies: 0,
  unplacedMissing: 0,
  unplacedExtra: 0,
  unplacedRepeated: 0,
  unplacedResent: 0,
  sourceOnlyLines: 0,
  rereadHistory: 0,
  awaitingCopy: 0,
  holes: 0,
  holeBytes: 0,
};
/** Lines made by `lines()` have no digest or length: no file of theirs can be checked for holes. */
const unchecked = (files: number) => ({ filesNotCheckedForHoles: files });

describe("buildVerifyReport", () => {
  test("every source line in the destination once: ok, zero counts, files sorted by host then inode", () => {
    const source = [
      ...lines("web-2", "77", range(0, 3)),
      ...lines("web-1", "1001", range(0, 4)),
      ...lines("web-1", "99", range(0, 2)),
    ];
    const report = buildVerifyReport(
      input(source, [...source].reverse(), {
        sourceUnplaced: [{ host: "web-1", lines: 5 }],
        destinationUnplaced: [{ host: "web-1", lines: 5 }],
      }),
    );

    expect(report.ok).toBe(true);
    expect(report.totals).toEqual({ files: 3, inSource: 9, inDestination: 9, ...ZERO, ...unchecked(3) });
    expect(report.files.map((file) => [file.host, file.inode])).toEqual([
      ["web-1", "99"],
      ["web-1", "1001"],
      ["web-2", "77"],
    ]);
    for (const file of report.files) {
      expect(file).toMatchObject({
        missing: 0,
        duplicated: 0,
        extraCopies: 0,
        destinationOnly: 0,
        missingOffsets: [],
        duplicatedOffsets: [],
      });
      expect(file.inDestination).toBe(file.inSource);
    }
    expect(report.unplaced).toEqual([
      { host: "web-1", inSource: 5, inDestination: 5, missing: 0, extra: 0, repeated: 0, resent: 0 },
    ]);
    expect(report).toMatchObject({
      route: "app-b-prod",
      sourceAccount: "1700000000000397",
      copyUnfinished: false,
      cutoverAt: CUTOVER,
      copyJobs: DONE,
    });
    expect(report.perMinute.source).toEqual([{ minute: CUTOVER - 600, lines: 3 }]);
  });

  test("a source offset the destination lacks is missing, with its offset", () => {
    const source = lines("web-1", "1001", range(0, 5));
    const destination = source.filter((line) => line.offset !== 200);

    const report = buildVerifyReport(input(source, destination));

    expect(report.ok).toBe(false);
    expect(report.files).toEqual([
      expect.objectContaining({
        host: "web-1",
        inode: "1001",
        inSource: 5,
        inDestination: 4,
        missing: 1,
        missingOffsets: [200],
        duplicated: 0,
        duplicatedOffsets: [],
        destinationOnly: 0,
      }),
    ]);
    expect(report.totals).toEqual({
      files: 1,
      inSource: 5,
      inDestination: 4,
      ...ZERO,
      ...unchecked(1),
      missing: 1,
    });
  });

  test("an offset stored twice is duplicated, with one extra copy; the sample keeps 10 offsets, sorted", () => {
    const source = lines("web-1", "1001", range(0, 30));
    // Offsets 0, 100, …, 1100 twice (12 doubled), 2900 three times, given out of order.
    const destination = source
      .map((line) =>
        line.offset < 1200 ? { ...line, copies: 2 } : line.offset === 2900 ? { ...line, copies: 3 } : line,
      )
      .reverse();

    const report = buildVerifyReport(input(source, destination));

    expect(report.ok).toBe(false);
    const [file] = report.files;
    expect(file).toMatchObject({
      inSource: 30,
      inDestination: 30,
      missing: 0,
      duplicated: 13,
      extraCopies: 14,
    });
    expect(file?.duplicatedOffsets).toEqual(range(0, 10));
    expect(report.totals).toEqual({
      files: 1,
      inSource: 30,
      inDestination: 30,
      ...ZERO,
      ...unchecked(1),
      duplicated: 13,
      extraCopies: 14,
    });
  });

  test("copies of one offset in several destination rows add up to a duplicate", () => {
    const source = lines("web-1", "1001", [0, 100]);
    const report = buildVerifyReport(input(source, [...source, ...lines("web-1", "1001", [100])]));

    expect(report.files[0]).toMatchObject({ duplicated: 1, extraCopies: 1, duplicatedOffsets: [100] });
    expect(report.ok).toBe(false);
  });

  describe("telling a line's copies from other lines at one position", () => {
    const READ = CUTOVER - 600;
    const at = (time: number, digest?: string, copies = 1): PositionCount => ({
      host: "web-1",
      inode: "1001",
      offset: 200,
      copies,
      received: time,
      time,
      ...(digest === undefined ? {} : { digest }),
    });

    test("same digest: one line however far apart the copies were read (a crash re-read 15 min later)", () => {
      const report = buildVerifyReport(input([at(READ, "A1")], [at(READ + 2, "A1"), at(READ + 900, "A1")]));

      expect(report.files[0]).toMatchObject({ inSource: 1, inDestination: 1, duplicated: 1, extraCopies: 1 });
      expect(report.lineIdentity).toBe("content");
      expect(report.ok).toBe(false);
    });

    test("different digests: two lines (a truncated file written again at the same offset), each once", () => {
      const source = [at(READ, "A1"), at(READ + 5, "B2")];
      const report = buildVerifyReport(input(source, [at(READ + 1, "A1"), at(READ + 6, "B2")]));

      expect(report.files[0]).toMatchObject({ inSource: 2, inDestination: 2, missing: 0, extraCopies: 0 });
      expect(report.ok).toBe(true);
    });

    test("a resent batch (same digest, same read time, two copies in one row) is one extra copy", () => {
      const report = buildVerifyReport(input([at(READ, "A1")], [at(READ, "A1", 2)]));

      expect(report.totals).toMatchObject({ duplicated: 1, extraCopies: 1 });
    });

    test("without a digest, read time decides: copies within 10 s are one line, later ones another", () => {
      const report = buildVerifyReport(input([at(READ)], [at(READ + 3), at(READ + 9), at(READ + 900)]));

      expect(report.lineIdentity).toBe("readTime");
      expect(report.files[0]).toMatchObject({
        inSource: 1,
        inDestination: 2,
        duplicated: 1,
        destinationOnly: 1,
      });
    });

    test("a copy without a digest beside one with (stored before the index change): read time decides, one line", () => {
      const report = buildVerifyReport(input([at(READ, "A1")], [at(READ + 1)]));

      expect(report.lineIdentity).toBe("mixed");
      expect(report.files[0]).toMatchObject({
        inSource: 1,
        inDestination: 1,
        missing: 0,
        destinationOnly: 0,
      });
      expect(report.ok).toBe(true);
    });
  });

  test("the missing sample keeps the 10 lowest offsets, the count all of them", () => {
    const source = lines("web-1", "1001", range(0, 25));
    const report = buildVerifyReport(input(source, source.slice(0, 5)));

    expect(report.files[0]?.missing).toBe(20);
    expect(report.files[0]?.missingOffsets).toEqual(range(500, 10));
  });

  test("lines only the destination has are counted, and are neither missing nor a problem by themselves", () => {
    const source = lines("web-1", "1001", range(0, 3));
    // The destination read on after the source config was retired: offsets 300 and 400 of the file,
    // and a new file of the host.
    const destination = [
      ...source,
      ...lines("web-1", "1001", [300, 400], CUTOVER + 60),
      ...lines("web-1", "2002", [0], CUTOVER + 60),
    ];

    const report = buildVerifyReport(input(source, destination));

    expect(report.files).toEqual([
      expect.objectContaining({
        inode: "1001",
        inSource: 3,
        inDestination: 5,
        destinationOnly: 2,
        missing: 0,
      }),
      expect.objectContaining({
        inode: "2002",
        inSource: 0,
        inDestination: 1,
        destinationOnly: 1,
        missing: 0,
      }),
    ]);
    expect(report.totals).toEqual({ files: 2, inSource: 3, inDestination: 6, ...ZERO, ...unchecked(2) });
    expect(report.ok).toBe(true);
  });

  test("a doubled destination-only line is a duplicate too", () => {
    const source = lines("web-1", "1001", [0]);
    const report = buildVerifyReport(
      input(source, [...source, { host: "web-1", inode: "1001", offset: 100, copies: 2 }]),
    );

    expect(report.files[0]).toMatchObject({ destinationOnly: 1, duplicated: 1, extraCopies: 1 });
    expect(report.ok).toBe(false);
  });

  test("the same inode on two hosts is two files", () => {
    const source = [...lines("web-1", "1001", [0, 100]), ...lines("web-2", "1001", [0, 100])];
    const report = buildVerifyReport(input(source, lines("web-1", "1001", [0, 100])));

    expect(report.files.map((file) => [file.host, file.missing])).toEqual([
      ["web-1", 0],
      ["web-2", 2],
    ]);
  });

  test("lines without position meta: compared per host, the shortfall missing and the surplus extra", () => {
    const report = buildVerifyReport(
      input([], [], {
        sourceUnplaced: [
          { host: "web-2", lines: 10 },
          { host: "web-1", lines: 7 },
          { host: "web-3", lines: 4 },
        ],
        destinationUnplaced: [
          { host: "web-1", lines: 4 },
          { host: "web-2", lines: 12 },
          { host: "web-3", lines: 4 },
          { host: "web-4", lines: 1 },
        ],
      }),
    );

    expect(report.unplaced).toEqual([
      { host: "web-1", inSource: 7, inDestination: 4, missing: 3, extra: 0, repeated: 0, resent: 0 },
      { host: "web-2", inSource: 10, inDestination: 12, missing: 0, extra: 2, repeated: 0, resent: 0 },
      { host: "web-3", inSource: 4, inDestination: 4, missing: 0, extra: 0, repeated: 0, resent: 0 },
      { host: "web-4", inSource: 0, inDestination: 1, missing: 0, extra: 1, repeated: 0, resent: 0 },
    ]);
    // Per host, not in total: 3 short on web-1 are not made up for by 2 + 1 too many elsewhere.
    expect(report.totals).toMatchObject({ unplacedMissing: 3, unplacedExtra: 3, missing: 0 });
    expect(report.ok).toBe(false);
  });

  describe("history lines with a content digest", () => {
    const positions = lines("web-1", "1001", [0]);
    const history = (rows: Array<[string, number]>): UnplacedCount[] =>
      rows.map(([digest, count]) => ({ host: "web-1", digest, lines: count }));

    test("a lost line and a doubled one of the same host do not cancel out", () => {
      const report = buildVerifyReport(
        input(positions, positions, {
          sourceUnplaced: history([
            ["A", 1],
            ["B", 1],
          ]),
          destinationUnplaced: history([["A", 2]]),
        }),
      );

      expect(report.totals).toMatchObject({ unplacedMissing: 1, unplacedExtra: 1, unplacedRepeated: 0 });
      expect(report.ok).toBe(false);
    });

    test("a line the source held twice, copied twice: counted as repeated, not the migration's fault", () => {
      const report = buildVerifyReport(
        input(positions, positions, {
          sourceUnplaced: history([
            ["A", 2],
            ["B", 1],
          ]),
          destinationUnplaced: history([
            ["A", 2],
            ["B", 1],
          ]),
        }),
      );

      expect(report.unplaced).toEqual([
        { host: "web-1", inSource: 3, inDestination: 3, missing: 0, extra: 0, repeated: 1, resent: 0 },
      ]);
      expect(report.ok).toBe(true);
    });

    test("per pack id: a batch the agent sent again is resent; a line written twice in two packs is not", () => {
      // Line A's pack p1 reached the source twice (a lost answer); line B was written twice, in p2 and p3.
      const packed = (rows: Array<[string, string, number]>) =>
        rows.map(([digest, pack, lines]) => ({ host: "web-1", digest, pack, lines }));
      const side = packed([
        ["A", "p1", 2],
        ["B", "p2", 1],
        ["B", "p3", 1],
      ]);

      const report = buildVerifyReport(
        input(positions, positions, { sourceUnplaced: side, destinationUnplaced: side }),
      );

      expect(report.unplaced).toEqual([
        { host: "web-1", inSource: 4, inDestination: 4, missing: 0, extra: 0, repeated: 2, resent: 1 },
      ]);
      expect(report.totals).toMatchObject({ unplacedRepeated: 2, unplacedResent: 1 });
      expect(report.ok).toBe(true);
    });

    test("one logstore without digests: both compared per host", () => {
      const report = buildVerifyReport(
        input(positions, positions, {
          sourceUnplaced: history([
            ["A", 1],
            ["B", 1],
          ]),
          destinationUnplaced: [{ host: "web-1", lines: 2 }],
        }),
      );

      expect(report.totals).toMatchObject({ unplacedMissing: 0, unplacedExtra: 0, unplacedRepeated: 0 });
    });
  });

  test.each([
    ["missing", [{ host: "web-1", lines: 3 }], [{ host: "web-1", lines: 2 }], 1, 0],
    ["extra", [{ host: "web-1", lines: 3 }], [{ host: "web-1", lines: 4 }], 0, 1],
  ])(
    "one history line %s alone makes it not ok",
    (_, sourceUnplaced, destinationUnplaced, missing, extra) => {
      const positions = lines("web-1", "1001", [0]);
      const report = buildVerifyReport(input(positions, positions, { sourceUnplaced, destinationUnplaced }));

      expect(report.totals).toMatchObject({ missing: 0, unplacedMissing: missing, unplacedExtra: extra });
      expect(report.ok).toBe(false);
    },
  );

  test("a line the source read again after the cutover, first read without position meta: held as history, not missing", () => {
    const withDigest = (rows: PositionCount[], digest: string) => rows.map((row) => ({ ...row, digest }));
    const destination = withDigest(lines("web-1", "1001", [100]), "B");
    const source = [
      ...withDigest(lines("web-1", "1001", [100]), "B"),
      // Read again from the file's start once the source config was bound back: late, text "A".
      ...withDigest(lines("web-1", "1001", [0], CUTOVER + 60), "A"),
      // Before the cutover, a line alike in text to a history line is a lost line all the same.
      ...withDigest(lines("web-1", "1001", [200]), "A"),
    ];
    const history = [{ host: "web-1", lines: 1, digest: "A" }];

    const report = buildVerifyReport(
      input(source, destination, { sourceUnplaced: history, destinationUnplaced: history }),
    );

    expect(report.totals).toMatchObject({ rereadHistory: 1, missing: 1 });
    expect(report.files[0]?.missingOffsets).toEqual([200]);
  });

  describe("a host that left the route (offboarded, its source config back)", () => {
    const at = (offsets: readonly number[], time: number) =>
      lines("web-1", "1001", offsets, CUTOVER + 60).map((row) => ({ ...row, time }));
    const destination = [...at([0, 100], CUTOVER + 10), ...at([300], CUTOVER + 20)];
    const source = [
      ...at([0, 100], CUTOVER + 10),
      // Lost by the destination while the host still shipped there: missing.
      ...at([200], CUTOVER + 15),
      ...at([300], CUTOVER + 20),
      // Read by the source within the two configs' read skew of the destination's last read, but
      // past the destination's furthest line: after the host left all the same.
      ...at([400], CUTOVER + 20 + READ_SKEW_SECONDS),
      // Read after the host's last line in the destination.
      ...at([500, 600], CUTOVER + 21 + READ_SKEW_SECONDS),
    ];

    test(`the destination silent for ${LEFT_ROUTE_SECONDS} s: what the source read after its last line is the source's; a hole before is missing`, () => {
      const report = buildVerifyReport(input(source, destination));

      expect(report.totals).toMatchObject({ inSource: 4, missing: 1, sourceOnlyLines: 3 });
      expect(report.files[0]?.missingOffsets).toEqual([200]);
      expect(report.sourceOnly).toEqual([{ host: "web-1", files: 1, lines: 3 }]);
    });

    test("the destination heard of the host less than that ago: those lines are still on their way (missing)", () => {
      const window = { from: CUTOVER - 3600, to: CUTOVER + 20 + LEFT_ROUTE_SECONDS };
      const report = buildVerifyReport(input(source, destination, { window }));

      expect(report.totals).toMatchObject({ inSource: 7, missing: 4, sourceOnlyLines: 0 });
    });

    test("a file truncated after the host left: its lines, below the old furthest offset, read after the last line", () => {
      const truncated = [...source, ...at([0, 100], CUTOVER + 900)];
      const report = buildVerifyReport(input(truncated, destination));

      // Offsets 0 and 100 hold two lines each now: the first read (in the destination) and the later.
      expect(report.totals).toMatchObject({ missing: 1, sourceOnlyLines: 5 });
    });
  });

  test("a source line received after the cutover is ignored in a file the destination lacks", () => {
    const source = [
      ...lines("web-1", "1001", range(0, 3)),
      // web-9 is not migrated: it ships to the source alone after the cutover.
      ...lines("web-9", "5005", [0, 100], CUTOVER),
      ...lines("web-9", "5005", [200], CUTOVER + 30),
    ];

    const report = buildVerifyReport(input(source, lines("web-1", "1001", range(0, 3))));

    expect(report.files.map((file) => `${file.host}/${file.inode}`)).toEqual(["web-1/1001"]);
    expect(report.totals).toMatchObject({ files: 1, inSource: 3, missing: 0, sourceOnlyLines: 3 });
    // What stays in the source alone is counted per host, not held against the migration.
    expect(report.sourceOnly).toEqual([{ host: "web-9", files: 1, lines: 3 }]);
    expect(report.ok).toBe(true);
  });

  test("… but counted in a file the destination has: a late line it lacks is missing", () => {
    const source = [
      ...lines("web-1", "1001", range(0, 3)),
      ...lines("web-1", "1001", [300, 400], CUTOVER + 30),
    ];
    const destination = lines("web-1", "1001", [0, 100, 200, 400], CUTOVER + 60);

    const report = buildVerifyReport(input(source, destination));

    expect(report.files).toEqual([
      expect.objectContaining({ inSource: 5, inDestination: 4, missing: 1, missingOffsets: [300] }),
    ]);
    expect(report.ok).toBe(false);
  });

  test("a source line received before the cutover in a file the destination lacks is missing", () => {
    const source = lines("web-9", "5005", [0], CUTOVER - 1);

    const report = buildVerifyReport(input(source, []));

    expect(report.files).toEqual([
      expect.objectContaining({ host: "web-9", inode: "5005", missing: 1, missingOffsets: [0] }),
    ]);
    expect(report.ok).toBe(false);
  });

  test("without a known cutover every source line counts", () => {
    const source = lines("web-9", "5005", [0], CUTOVER + 3000);

    const report = buildVerifyReport(input(source, [], { cutoverAt: undefined }));

    expect(report.totals.missing).toBe(1);
    expect(report).not.toHaveProperty("cutoverAt");
  });

  test.each(["RUNNING", "STARTING", "FAILED", "STOPPED"])(
    "a copy job %s: not ok although every line is there once",
    (status) => {
      const source = lines("web-1", "1001", range(0, 3));
      const copyJobs = [...DONE, { name: "ltx-backfill-app-b-prod-1700-p1", status }];

      const report = buildVerifyReport(input(source, source, { copyJobs }));

      expect(report.totals).toMatchObject(ZERO);
      expect(report.copyUnfinished).toBe(true);
      expect(report.copyJobs).toEqual(copyJobs);
      expect(report.ok).toBe(false);
    },
  );

  test("while the copy runs, the missing lines it covers are still to copy; one received after the cutover is not", () => {
    const source = [...lines("web-1", "1001", range(0, 4)), ...lines("web-1", "1001", [400], CUTOVER + 30)];
    const destination = lines("web-1", "1001", [0, 100]);
    const copyJobs = [{ name: "ltx-backfill-app-b-prod-1700", status: "RUNNING" }];

    const report = buildVerifyReport(
      input(source, destination, {
        copyJobs,
        sourceUnplaced: [{ host: "web-1", lines: 5 }],
        destinationUnplaced: [{ host: "web-1", lines: 3 }],
      }),
    );

    expect(report.files[0]).toMatchObject({ missing: 3, awaitingCopy: 2 });
    expect(report.totals).toMatchObject({ missing: 3, unplacedMissing: 2, awaitingCopy: 4 });
    expect(buildVerifyReport(input(source, destination)).totals.awaitingCopy).toBe(0);
  });

  test("no copy job at all: the verdict is the lines'", () => {
    const source = lines("web-1", "1001", range(0, 3));

    const report = buildVerifyReport(input(source, source, { copyJobs: [] }));

    expect(report.copyUnfinished).toBe(false);
    expect(report.ok).toBe(true);
  });
});

describe("holes in a file's offsets: bytes no line in either logstore covers", () => {
  const READ = CUTOVER - 600;
  /** A line of `bytes` bytes at `offset`, with its digest and length, as the position query gives it. */
  const line = (offset: number, bytes: number, digest = `D${offset}`): PositionCount => ({
    host: "web-1",
    inode: "1001",
    offset,
    copies: 1,
    received: READ,
    time: READ,
    digest,
    bytes,
  });
  /** Lines of 9 bytes and their newline, end to end from offset 0: 0, 10, 20, … */
  const endToEnd = (count: number) => Array.from({ length: count }, (_, i) => line(i * 10, 9));

  test("lines end to end: no hole, the file checked", () => {
    const report = buildVerifyReport(input(endToEnd(5), endToEnd(5)));

    expect(report.files[0]).toMatchObject({ holes: 0, holeBytes: 0, holesChecked: true });
    expect(report.totals).toMatchObject({ holes: 0, filesNotCheckedForHoles: 0 });
    expect(report.ok).toBe(true);
  });

  test("two lines neither logstore holds (read by neither config in a handoff): one hole of 20 bytes, not ok", () => {
    const kept = endToEnd(6).filter((row) => row.offset !== 20 && row.offset !== 30);

    const report = buildVerifyReport(input(kept, kept));

    expect(report.files[0]).toMatchObject({ missing: 0, holes: 1, holeBytes: 20, holeOffsets: [20] });
    expect(report.totals).toMatchObject({ missing: 0, holes: 1, holeBytes: 20 });
    expect(report.ok).toBe(false);
  });

  test("a hole is judged over both logstores: a line only the destination read fills it", () => {
    const source = endToEnd(4).filter((row) => row.offset !== 30);
    const destination = endToEnd(4).filter((row) => row.offset !== 0);

    const report = buildVerifyReport(input(source, [...destination, line(0, 9)]));

    expect(report.files[0]).toMatchObject({ holes: 0, destinationOnly: 1 });
  });

  test("a one-byte gap (a \\r an agent may strip from a CRLF line) is no hole", () => {
    const rows = [line(0, 9), line(11, 9), line(22, 9)];

    expect(buildVerifyReport(input(rows, rows)).totals.holes).toBe(0);
  });

  test("a file written again under its inode (two lines at one offset) is not checked", () => {
    const rows = [line(0, 9, "A"), line(0, 4, "B"), line(10, 9, "A2"), line(40, 9)];

    const report = buildVerifyReport(input(rows, rows));

    expect(report.files[0]).toMatchObject({ holes: 0, holesChecked: false });
    expect(report.totals.filesNotCheckedForHoles).toBe(1);
    expect(report.ok).toBe(true);
  });

  test("a file truncated and written again, the window after the older one's start: the boundary is no hole", () => {
    // The newer generation (offsets 0, 10) was read 20 minutes after the older one's (500, 510).
    const newer = [0, 10].map((offset) => ({ ...line(offset, 9), time: READ + 1200 }));
    const older = [500, 510].map((offset) => line(offset, 9));

    const report = buildVerifyReport(input([...newer, ...older], [...newer, ...older]));

    expect(report.files[0]).toMatchObject({ holes: 0, holesChecked: true });
  });

  test("lines without a length (no analytics on content) leave the file unchecked", () => {
    const rows = lines("web-1", "1001", [0, 100, 500]);

    const report = buildVerifyReport(input(rows, rows));

    expect(report.files[0]).toMatchObject({ holes: 0, holesChecked: false });
  });

  test("a route whose processors may drop lines: holes are reported, not held against it", () => {
    const kept = endToEnd(4).filter((row) => row.offset !== 10);

    const report = buildVerifyReport(input(kept, kept, { holesAreLoss: false }));

    expect(report.totals.holes).toBe(1);
    expect(report.holesAreLoss).toBe(false);
    expect(report.ok).toBe(true);
  });
});

describe("which processors may drop lines (their holes are by design)", () => {
  test.each([
    [{ Type: "processor_parse_regex_native", SourceKey: "content" }, true],
    [{ Type: "processor_parse_json_native", KeepingSourceWhenParseFail: true }, false],
    [{ Type: "processor_filter_regex_native" }, true],
    [{ Type: "processor_some_plugin" }, true],
    [{ Type: "processor_add_fields" }, false],
    [{ Type: "processor_rename" }, false],
    [{ Type: "processor_desensitize_native" }, false],
  ])("%o: %s", (processor, drops) => {
    expect(mayDropLines(processor)).toBe(drops);
  });
});
