/**
 * The decisions of the exactly-once handover (README "Exactly-once cutover"), pure: when the copy
 * may be cut (decideHandover), when the destination config may reach the hosts
 * (destinationMayStart), when the source config may leave its machine group
 * (mayRetireSourceGroup), and when an account is settled enough to cut over (readyForCutover,
 * failed hosts counted as settled).
 */
import { readyForCutover } from "../../shared/planner/decide";
import {
  type DestinationStart,
  decideHandover,
  destinationMayStart,
  factsOfHosts,
  type HandoverVerdict,
  HOLE_SETTLE_SECONDS,
  holesAfter,
  laterRoundHosts,
  MAX_HOLES_PER_FILE,
  mayRetireSourceGroup,
  READ_SKEW_SECONDS,
  type SourceConfigState,
  type SourceProgress,
  type SourceUnplaced,
} from "../../shared/planner/handover";

/** The cutover looks at NOW; the copy's range ends a minute earlier; 300 s of silence is idle. */
const NOW = 1_775_000_000;
const UNTIL = NOW - 60;
const SILENCE = 300;
// No checkpoint wait unless a test asks for one.
const timing = { now: NOW, until: UNTIL, sourceSilenceSeconds: SILENCE, checkpointSeconds: 0 };

type Verdict =
  | { kind: "ready"; exclusions: Array<{ host: string; inode: string; offset: number }> }
  | Extract<HandoverVerdict, { kind: "waiting" }>;

/**
 * decideHandover with no unplaced source lines and no migrated IPs (the destination names the
 * hosts); exclusions shown by position only (their read times have their own test below).
 */
function decide(
  destinationFirst: DestinationStart[],
  sourceLast: SourceProgress[],
  at: typeof timing,
  more: {
    sourceUnplaced?: SourceUnplaced[];
    migratedIps?: string[];
    sourceAfter?: SourceProgress[];
    sourceUnplacedAfter?: SourceUnplaced[];
  } = {},
): Verdict {
  const verdict = decideHandover(
    {
      destinationFirst,
      sourceLast,
      sourceUnplaced: more.sourceUnplaced ?? [],
      sourceAfter: more.sourceAfter ?? [],
      sourceUnplacedAfter: more.sourceUnplacedAfter ?? [],
      migratedIps: new Set(more.migratedIps ?? []),
    },
    at,
  );
  return verdict.kind === "ready"
    ? {
        kind: "ready",
        exclusions: verdict.exclusions.map(({ host, inode, offset }) => ({ host, inode, offset })),
      }
    : verdict;
}

/** The destination's first line in a file: offset F, read `ago` seconds before NOW (before UNTIL by default). */
const dest = (host: string, inode: string, offset: number, ago = 90): DestinationStart => ({
  host,
  inode,
  offset,
  since: NOW - ago,
});
/**
 * The source's last line in a file before UNTIL: offset, received `before` seconds before UNTIL and
 * read a second earlier (after the destination's default first read: in the same file).
 */
const src = (host: string, inode: string, offset: number, before = 5): SourceProgress => ({
  host,
  inode,
  offset,
  received: UNTIL - before,
  lastRead: UNTIL - before - 1,
});

describe("decideHandover", () => {
  const cases: Array<[string, DestinationStart[], SourceProgress[], Verdict]> = [
    ["nothing read by either config: ready, nothing excluded", [], [], { kind: "ready", exclusions: [] }],
    [
      "F = 0 (the destination read the file from its start): ready without the source, every source line of it excluded",
      [dest("h1", "11", 0)],
      [],
      { kind: "ready", exclusions: [{ host: "h1", inode: "11", offset: 0 }] },
    ],
    [
      "F = 0 while the source is still at 40 in it: nothing of the source's is needed, ready",
      [dest("h1", "11", 0)],
      [src("h1", "11", 40)],
      { kind: "ready", exclusions: [{ host: "h1", inode: "11", offset: 0 }] },
    ],
    [
      "the source shipped past F: ready, its lines from F on excluded",
      [dest("h1", "11", 500)],
      [src("h1", "11", 620)],
      { kind: "ready", exclusions: [{ host: "h1", inode: "11", offset: 500 }] },
    ],
    [
      "the source's last line is the destination's first (offset = F): everything below F was shipped",
      [dest("h1", "11", 500)],
      [src("h1", "11", 500)],
      { kind: "ready", exclusions: [{ host: "h1", inode: "11", offset: 500 }] },
    ],
    [
      "the source behind F: waiting, with where each config is",
      [dest("h1", "11", 500)],
      [src("h1", "11", 300)],
      {
        kind: "waiting",
        behind: [{ host: "h1", inode: "11", sourceAt: 300, destinationFrom: 500 }],
        unread: [],
        metaPending: [],
        holesSettling: [],
        checkpointPending: [],
      },
    ],
    [
      "the source one byte short of F: still behind",
      [dest("h1", "11", 500)],
      [src("h1", "11", 499)],
      {
        kind: "waiting",
        behind: [{ host: "h1", inode: "11", sourceAt: 499, destinationFrom: 500 }],
        unread: [],
        metaPending: [],
        holesSettling: [],
        checkpointPending: [],
      },
    ],
    [
      "a file the destination read for less than sourceSilenceSeconds and the source shipped nothing of: waiting",
      [dest("h1", "11", 500, SILENCE - 1)],
      [],
      {
        kind: "waiting",
        behind: [{ host: "h1", inode: "11", sourceAt: undefined, destinationFrom: 500 }],
        unread: [],
        metaPending: [],
        holesSettling: [],
        checkpointPending: [],
      },
    ],
    [
      "a file the destination read for sourceSilenceSeconds and the source shipped nothing of: not the source's, ready",
      [dest("h1", "11", 500, SILENCE)],
      [],
      { kind: "ready", exclusions: [{ host: "h1", inode: "11", offset: 500 }] },
    ],
    [
      "silence does not excuse a source that is behind: it shipped the file, so it reads it",
      [dest("h1", "11", 500, 10 * SILENCE)],
      [src("h1", "11", 300, 10 * SILENCE - 100)],
      {
        kind: "waiting",
        behind: [{ host: "h1", inode: "11", sourceAt: 300, destinationFrom: 500 }],
        unread: [],
        metaPending: [],
        holesSettling: [],
        checkpointPending: [],
      },
    ],
    [
      "a file the source shipped within sourceSilenceSeconds of `until` that the destination has no line of, on a host it reads: unread",
      [dest("h1", "11", 0)],
      [src("h1", "12", 900, SILENCE - 1)],
      {
        kind: "waiting",
        behind: [],
        unread: [{ host: "h1", inode: "12", offset: 900 }],
        metaPending: [],
        holesSettling: [],
        checkpointPending: [],
      },
    ],
    [
      "the same on a host the destination has no line of (not migrated, e.g. failed): not waited for",
      [],
      [src("h1", "12", 900, SILENCE - 1)],
      { kind: "ready", exclusions: [] },
    ],
    [
      "a file the source last shipped exactly sourceSilenceSeconds before `until`: idle, copied whole",
      [],
      [src("h1", "12", 900, SILENCE)],
      { kind: "ready", exclusions: [] },
    ],
    [
      "an idle source file beside one both read: ready, only the shared file excluded",
      [dest("h1", "11", 500)],
      [src("h1", "11", 700), src("h1", "12", 900, 3600)],
      { kind: "ready", exclusions: [{ host: "h1", inode: "11", offset: 500 }] },
    ],
    [
      "the same inode on two hosts is two files: one past F, one behind",
      [dest("h1", "11", 500), dest("h2", "11", 500)],
      [src("h1", "11", 600), src("h2", "11", 100)],
      {
        kind: "waiting",
        behind: [{ host: "h2", inode: "11", sourceAt: 100, destinationFrom: 500 }],
        unread: [],
        metaPending: [],
        holesSettling: [],
        checkpointPending: [],
      },
    ],
    [
      "behind and unread at once: both reported",
      [dest("h1", "11", 500), dest("h2", "20", 0)],
      [src("h1", "11", 100), src("h2", "21", 50)],
      {
        kind: "waiting",
        behind: [{ host: "h1", inode: "11", sourceAt: 100, destinationFrom: 500 }],
        unread: [{ host: "h2", inode: "21", offset: 50 }],
        metaPending: [],
        holesSettling: [],
        checkpointPending: [],
      },
    ],
    [
      "several hosts all past F: ready, exclusions sorted by host then inode (as text)",
      [dest("h2", "9", 10), dest("h1", "30", 0), dest("h2", "10", 20), dest("h1", "4", 5)],
      [src("h2", "9", 10), src("h2", "10", 25), src("h1", "4", 5)],
      {
        kind: "ready",
        exclusions: [
          { host: "h1", inode: "30", offset: 0 },
          { host: "h1", inode: "4", offset: 5 },
          { host: "h2", inode: "10", offset: 20 },
          { host: "h2", inode: "9", offset: 10 },
        ],
      },
    ],
    [
      "unread files are sorted by host then inode",
      [dest("h1", "1", 0), dest("h3", "1", 0)],
      [src("h3", "2", 1), src("h1", "7", 1), src("h1", "12", 1)],
      {
        kind: "waiting",
        behind: [],
        unread: [
          { host: "h1", inode: "12", offset: 1 },
          { host: "h1", inode: "7", offset: 1 },
          { host: "h3", inode: "2", offset: 1 },
        ],
        metaPending: [],
        holesSettling: [],
        checkpointPending: [],
      },
    ],
  ];

  test.each(cases)("%s", (_what, destinationFirst, sourceLast, verdict) => {
    expect(decide(destinationFirst, sourceLast, timing)).toEqual(verdict);
  });

  test("the destination's silence is judged from now, the source's from `until`", () => {
    // Read by the destination 299 s ago: not yet silent however early `until` is.
    expect(decide([dest("h1", "11", 500, SILENCE - 1)], [], { ...timing, until: NOW - 3600 }).kind).toBe(
      "waiting",
    );
    // Shipped by the source 200 s before `until`: active, whatever `now` is.
    expect(
      decide([dest("h1", "11", 0)], [src("h1", "12", 1, 200)], { ...timing, now: NOW + 3600 }).kind,
    ).toBe("waiting");
  });

  test("an exclusion holds from the destination's first read time, all of a later file under the inode from its restart", () => {
    const start = { ...dest("h1", "11", 500), restartAt: NOW - 10 };
    const verdict = decideHandover(
      {
        destinationFirst: [start],
        sourceLast: [src("h1", "11", 600)],
        sourceUnplaced: [],
        sourceAfter: [],
        sourceUnplacedAfter: [],
        migratedIps: new Set(),
      },
      timing,
    );

    expect(verdict).toEqual({
      kind: "ready",
      exclusions: [
        {
          host: "h1",
          inode: "11",
          offset: 500,
          readFrom: start.since - READ_SKEW_SECONDS,
          restartFrom: NOW - 10 - READ_SKEW_SECONDS,
        },
      ],
    });
  });

  describe("an inode that held an earlier file (copytruncate, a reused inode number)", () => {
    // The destination began the file 50 s before UNTIL at F = 27,600; the inode was truncated
    // before that, so the source's offsets of the earlier file run past F.
    const start = dest("h1", "11", 27_600, 110);
    const read = (offset: number, readAt: number, received = readAt + 1): SourceProgress => ({
      host: "h1",
      inode: "11",
      offset,
      received,
      lastRead: readAt,
    });

    test("the source's last line read before the destination's first (less the skew) is the earlier file's: waiting", () => {
      const verdict = decide([start], [read(181_600, start.since - READ_SKEW_SECONDS - 1)], timing);
      expect(verdict).toEqual({
        kind: "waiting",
        behind: [{ host: "h1", inode: "11", sourceAt: undefined, destinationFrom: 27_600 }],
        unread: [],
        metaPending: [],
        holesSettling: [],
        checkpointPending: [],
      });
    });

    test("no read time known (the offset query's answer fell short): waiting while the source is active", () => {
      const { lastRead: _unknown, ...unknownRead } = read(181_600, start.since + 10);
      expect(decide([start], [unknownRead], timing).kind).toBe("waiting");
    });

    test("read within the skew of the destination's first read: counted as the same file", () => {
      expect(decide([start], [read(27_800, start.since - READ_SKEW_SECONDS)], timing).kind).toBe("ready");
    });

    test("read since, past F: ready; read since, short of F: behind", () => {
      expect(decide([start], [read(28_000, start.since + 10)], timing).kind).toBe("ready");
      expect(decide([start], [read(20_000, start.since + 10)], timing)).toMatchObject({
        kind: "waiting",
        behind: [{ sourceAt: 20_000, destinationFrom: 27_600 }],
      });
    });

    test("the destination read the inode from 0 again later and the source read there too: ready", () => {
      const restarted = { ...start, restartAt: start.since + 20 };
      expect(decide([restarted], [read(400, start.since + 20)], timing).kind).toBe("ready");
      // Before the restart, still short of F in the destination's first file: behind.
      expect(decide([restarted], [read(20_000, start.since + 10)], timing).kind).toBe("waiting");
    });

    test("an earlier file's lines do not make a file silent while they still come", () => {
      const long = dest("h1", "11", 27_600, SILENCE + 100);
      // Received 10 s before UNTIL, read long before the destination's first read: still active.
      expect(decide([long], [read(181_600, long.since - 100, UNTIL - 10)], timing).kind).toBe("waiting");
      // Received SILENCE before UNTIL: the source is done with the inode; the destination's file is not its.
      expect(decide([long], [read(181_600, long.since - 100, UNTIL - SILENCE)], timing).kind).toBe("ready");
    });
  });

  test("a host not read by the destination counts as migrated by its IP: its active file is unread", () => {
    const progress = { ...src("h9", "5", 70, SILENCE - 1), ip: "10.0.0.9" };

    expect(decide([], [progress], timing, { migratedIps: ["10.0.0.9"] })).toEqual({
      kind: "waiting",
      behind: [],
      unread: [{ host: "h9", inode: "5", offset: 70 }],
      metaPending: [],
      holesSettling: [],
      checkpointPending: [],
    });
    expect(decide([], [progress], timing, { migratedIps: ["10.0.0.8"] })).toEqual({
      kind: "ready",
      exclusions: [],
    });
  });

  test("lines the source shipped after the copy's end must be the destination's: else wait", () => {
    // Received after UNTIL: in no copy. Nothing before UNTIL (a copy margin longer than the run).
    const shippedAfterUntil = (host: string, inode: string, offset: number): SourceProgress => ({
      host,
      inode,
      offset,
      received: UNTIL + 20,
      ip: `10.0.0.${host.slice(1)}`,
    });
    // The destination has not read the file: its lines after UNTIL would be lost.
    expect(
      decide([], [], timing, { sourceAfter: [shippedAfterUntil("h1", "11", 0)], migratedIps: ["10.0.0.1"] }),
    ).toEqual({
      kind: "waiting",
      behind: [],
      unread: [{ host: "h1", inode: "11", offset: 0 }],
      metaPending: [],
      holesSettling: [],
      checkpointPending: [],
    });
    // The destination reads it: the lines after UNTIL are its own.
    expect(
      decide([dest("h1", "11", 0)], [], timing, {
        sourceAfter: [shippedAfterUntil("h1", "11", 0)],
        migratedIps: ["10.0.0.1"],
      }),
    ).toMatchObject({ kind: "ready" });
    // A host that is not migrated keeps shipping to the source for good.
    expect(
      decide([], [], timing, { sourceAfter: [shippedAfterUntil("h2", "11", 0)], migratedIps: ["10.0.0.1"] }),
    ).toMatchObject({ kind: "ready" });
    // A file the destination has read long enough is not "silent" while the source ships it.
    expect(
      decide([dest("h1", "11", 500, SILENCE + 10)], [], timing, {
        sourceAfter: [shippedAfterUntil("h1", "11", 400)],
        migratedIps: ["10.0.0.1"],
      }),
    ).toMatchObject({ kind: "waiting", behind: [{ host: "h1", inode: "11", destinationFrom: 500 }] });
    // Lines without position meta after UNTIL from a migrated host cannot be placed.
    expect(
      decide([dest("h1", "11", 0)], [], timing, {
        sourceUnplacedAfter: [{ host: "h1", ip: "10.0.0.1", lastReceived: UNTIL + 5 }],
        migratedIps: ["10.0.0.1"],
      }),
    ).toMatchObject({ kind: "waiting", metaPending: ["h1"] });
  });

  test("a migrated host whose latest source lines come without position meta: metaPending", () => {
    const unplaced = { host: "h1", ip: "10.0.0.1", lastReceived: UNTIL - 10 };
    // Only lines without meta lately: the source config's change has not reached it.
    expect(decide([], [], timing, { sourceUnplaced: [unplaced], migratedIps: ["10.0.0.1"] })).toMatchObject({
      kind: "waiting",
      metaPending: ["h1"],
    });
    // Lines with meta came after the last one without: the change arrived.
    expect(
      decide([dest("h1", "11", 0)], [src("h1", "11", 40, 5)], timing, {
        sourceUnplaced: [unplaced],
        migratedIps: ["10.0.0.1"],
      }).kind,
    ).toBe("ready");
    // Not migrated, or idle for sourceSilenceSeconds: not waited for.
    expect(decide([], [], timing, { sourceUnplaced: [unplaced] }).kind).toBe("ready");
    expect(
      decide([], [], timing, {
        sourceUnplaced: [{ ...unplaced, lastReceived: UNTIL - SILENCE }],
        migratedIps: ["10.0.0.1"],
      }).kind,
    ).toBe("ready");
  });

  test("the inputs are not changed (the verdict sorts copies)", () => {
    const destinationFirst = [dest("h2", "9", 10), dest("h1", "4", 5)];
    const sourceLast = [src("h2", "9", 10), src("h1", "4", 5)];
    const before = JSON.stringify([destinationFirst, sourceLast]);
    decide(destinationFirst, sourceLast, timing);
    expect(JSON.stringify([destinationFirst, sourceLast])).toBe(before);
  });
});

describe("destinationMayStart", () => {
  const T = 1_775_000_000;
  const meta = (lastModifyTime: number): SourceConfigState => ({ positionMeta: true, lastModifyTime });
  const noMeta = (lastModifyTime: number): SourceConfigState => ({ positionMeta: false, lastModifyTime });

  const cases: Array<
    [string, Array<SourceConfigState | undefined>, number, ReturnType<typeof destinationMayStart>]
  > = [
    [
      "a source config without position meta: wait a whole propagation",
      [noMeta(T - 86_400)],
      T,
      { start: false, reason: "SourceMetaPending", waitSeconds: 120 },
    ],
    [
      "one source config without meta among ready ones holds the start",
      [meta(T - 86_400), noMeta(T - 86_400), undefined],
      T,
      { start: false, reason: "SourceMetaPending", waitSeconds: 120 },
    ],
    [
      "a change made 30 s ago: wait the 90 s left",
      [meta(T - 30)],
      T,
      { start: false, reason: "SourceMetaPending", waitSeconds: 90 },
    ],
    [
      "a change made just now (clock between seconds): the wait is rounded up",
      [meta(T)],
      T + 0.5,
      { start: false, reason: "SourceMetaPending", waitSeconds: 120 },
    ],
    [
      "several fresh changes: wait for the youngest",
      [meta(T - 100), meta(T - 10), meta(T - 60)],
      T,
      { start: false, reason: "SourceMetaPending", waitSeconds: 110 },
    ],
    [
      "a change exactly propagationSeconds old: start",
      [meta(T - 120)],
      T,
      { start: true, missingSources: 0 },
    ],
    ["an old change: start", [meta(T - 86_400)], T, { start: true, missingSources: 0 }],
    [
      "a missing source config does not block, it is counted",
      [undefined, meta(T - 86_400)],
      T,
      { start: true, missingSources: 1 },
    ],
    ["every source config missing: start", [undefined, undefined], T, { start: true, missingSources: 2 }],
    ["no source at all: start", [], T, { start: true, missingSources: 0 }],
  ];

  test.each(cases)("%s", (_what, sources, now, verdict) => {
    expect(destinationMayStart(sources, now, 120)).toEqual(verdict);
  });

  test("a propagation of 0 s starts as soon as every source config has meta, and never before", () => {
    expect(destinationMayStart([meta(T)], T, 0)).toEqual({ start: true, missingSources: 0 });
    expect(destinationMayStart([noMeta(T - 86_400)], T, 0)).toMatchObject({ start: false });
  });
});

describe("decideHandover: the destination readers' checkpoints", () => {
  const withCheckpoint = (seconds: number) => ({ ...timing, checkpointSeconds: seconds });
  // h1's destination began 1,000 s ago (its readers were checkpointed since), h2's 300 s ago.
  const starts = [dest("h1", "11", 500, 1_000), dest("h1", "12", 0, 200), dest("h2", "21", 700, 300)];
  const shipped = [src("h1", "11", 620), src("h2", "21", 800)];

  test("a host whose first destination line is younger than checkpointSeconds holds the cut back", () => {
    expect(decide(starts, shipped, withCheckpoint(960))).toEqual({
      kind: "waiting",
      behind: [],
      unread: [],
      metaPending: [],
      holesSettling: [],
      checkpointPending: ["h2"],
    });
  });

  test("a host's readers date from its first destination line, not from each file's", () => {
    // h1's file 12 began 200 s ago (a rotated file): h1 is judged by its first line, 1,000 s ago.
    expect(decide(starts.slice(0, 2), shipped.slice(0, 1), withCheckpoint(960)).kind).toBe("ready");
  });

  test("once every host is old enough, or with checkpointSeconds 0, the cut is made", () => {
    expect(decide(starts, shipped, withCheckpoint(300)).kind).toBe("ready");
    expect(decide(starts, shipped, withCheckpoint(0)).kind).toBe("ready");
  });
});

describe("mayRetireSourceGroup", () => {
  const machines = (...ips: string[]) => ips.map((ip) => ({ ip }));

  test.each<[string, string[], string[], { retire: boolean; notMigrated: string[] }]>([
    [
      "every machine migrated: retire",
      ["10.0.0.1", "10.0.0.2"],
      ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
      { retire: true, notMigrated: [] },
    ],
    [
      "one machine not migrated: keep, and say which",
      ["10.0.0.1", "10.0.0.3", "10.0.0.2"],
      ["10.0.0.1", "10.0.0.2"],
      { retire: false, notMigrated: ["10.0.0.3"] },
    ],
    [
      "duplicate IPs are one machine, and the list is sorted",
      ["10.0.0.9", "10.0.0.1", "10.0.0.9", "10.0.0.4", "10.0.0.1"],
      ["10.0.0.1"],
      { retire: false, notMigrated: ["10.0.0.4", "10.0.0.9"] },
    ],
    [
      "duplicate IPs all migrated: retire",
      ["10.0.0.1", "10.0.0.1"],
      ["10.0.0.1"],
      { retire: true, notMigrated: [] },
    ],
    ["an empty group: nothing to keep, retire", [], [], { retire: true, notMigrated: [] }],
    [
      "nobody migrated: keep all",
      ["10.0.0.2", "10.0.0.1"],
      [],
      { retire: false, notMigrated: ["10.0.0.1", "10.0.0.2"] },
    ],
  ])("%s", (_what, group, migrated, decision) => {
    expect(mayRetireSourceGroup(machines(...group), new Set(migrated))).toEqual(decision);
  });
});

describe("readyForCutover with failed hosts", () => {
  test.each<[string, { running: number; collecting: number; failed?: number }, boolean]>([
    ["all collecting", { running: 3, collecting: 3, failed: 0 }, true],
    ["the rest failed: failed hosts are settled", { running: 3, collecting: 2, failed: 1 }, true],
    ["one collecting, the others failed", { running: 3, collecting: 1, failed: 2 }, true],
    ["one still on its way", { running: 3, collecting: 1, failed: 1 }, false],
    ["all failed: nobody collects, no cutover", { running: 3, collecting: 0, failed: 3 }, false],
    ["failed omitted counts as none", { running: 3, collecting: 2 }, false],
    ["nothing running", { running: 0, collecting: 0, failed: 0 }, false],
  ])("%s", (_what, counts, ready) => {
    expect(readyForCutover(counts)).toBe(ready);
  });
});

describe("holes: offsets past F the destination read around but holds no line of", () => {
  const read = (from: number, lastLine: number, to: number | undefined, readAt: number) => ({
    from,
    lastLine,
    to,
    readAt,
  });

  test.each([
    ["no read", [], []],
    ["reads end to end from F", [read(100, 180, 200, 1), read(200, 330, 350, 2)], []],
    [
      "a measured end short by a line end's \\r: no hole",
      [read(100, 180, 199, 1), read(200, 280, 300, 2)],
      [],
    ],
    [
      "a read whose end is unknown opens no hole after it",
      [read(100, 180, undefined, 1), read(260, 280, 300, 2)],
      [],
    ],
    [
      "a crash re-read overlapping what was read",
      [read(100, 280, 300, 1), read(200, 380, 400, 5), read(400, 480, 500, 6)],
      [],
    ],
    [
      "a gap between two reads: from just past the last line's start to the next read",
      [read(100, 180, 200, 1), read(260, 280, 300, 9)],
      [{ from: 181, to: 260, closedAt: 9 }],
    ],
    [
      "reads out of order, two gaps",
      [read(400, 430, 450, 12), read(100, 180, 200, 1), read(250, 280, 300, 7)],
      [
        { from: 181, to: 250, closedAt: 7 },
        { from: 281, to: 400, closedAt: 12 },
      ],
    ],
    [
      "the first read seen starts past F (a read the query missed): no hole before it",
      [read(150, 180, 200, 1)],
      [],
    ],
    ["reads that end below F are not looked at", [read(0, 60, 80, 1), read(100, 180, 200, 2)], []],
  ])("%s", (_what, reads, holes) => {
    expect(holesAfter(100, reads)).toEqual(holes);
  });

  /** Two reads of h1's file 11 from F = 500 with a gap: the destination lost [681, 900). */
  const destinationReads = (readAt: number) => [
    { host: "h1", inode: "11", from: 500, lastLine: 680, to: 700, readAt: NOW - 200 },
    { host: "h1", inode: "11", from: 900, lastLine: 980, to: 1_000, readAt },
  ];
  const facts = (reads: ReturnType<typeof destinationReads>, restartAt?: number, sourceAt = 1_000) => ({
    destinationFirst: [{ ...dest("h1", "11", 500, 300), ...(restartAt === undefined ? {} : { restartAt }) }],
    sourceLast: [src("h1", "11", sourceAt)],
    sourceUnplaced: [],
    sourceAfter: [],
    sourceUnplacedAfter: [],
    migratedIps: new Set<string>(),
    destinationReads: reads,
  });
  const settled = NOW - HOLE_SETTLE_SECONDS - 1;

  test(`a hole closed more than ${HOLE_SETTLE_SECONDS} s ago, the source past it: ready, the hole copied`, () => {
    const verdict = decideHandover(facts(destinationReads(settled)), timing);

    expect(verdict).toMatchObject({
      kind: "ready",
      exclusions: [{ offset: 500, holes: [{ from: 681, to: 900 }] }],
    });
  });

  test.each([
    ["a younger hole may be a pack still being sent again", facts(destinationReads(NOW - 30))],
    [
      "the source has not shipped past the hole: the copy would not hold its lines",
      facts(destinationReads(settled), undefined, 850),
    ],
    [
      `more than ${MAX_HOLES_PER_FILE} holes in a file: more than the script takes`,
      facts(
        Array.from({ length: MAX_HOLES_PER_FILE + 2 }, (_, i) => ({
          host: "h1",
          inode: "11",
          from: 500 + i * 100,
          lastLine: 520 + i * 100,
          to: 540 + i * 100,
          readAt: settled,
        })),
        undefined,
        10_000,
      ),
    ],
  ])("%s: wait", (_what, situation) => {
    expect(decideHandover(situation, timing)).toMatchObject({
      kind: "waiting",
      holesSettling: [{ host: "h1", inode: "11", offset: 500 }],
    });
  });

  test("a file read again from 0 (truncated, or a reused inode): no hole is looked for", () => {
    const verdict = decideHandover(facts(destinationReads(NOW - 30), NOW - 250), timing);

    expect(verdict.kind).toBe("ready");
    expect(verdict.kind === "ready" && verdict.exclusions[0]?.holes).toBeUndefined();
  });

  test("without reads (the logstore could not say): no hole, as before", () => {
    const { destinationReads: _none, ...without } = facts([]);
    const verdict = decideHandover(without, timing);

    expect(verdict).toMatchObject({ kind: "ready", exclusions: [{ offset: 500 }] });
    expect(verdict.kind === "ready" && verdict.exclusions[0]?.holes).toBeUndefined();
  });
});

describe("laterRoundHosts: who a later copy round hands over", () => {
  const migrated = new Set(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  test.each<[string, { host: string; ip?: string }, ReadonlySet<string>, boolean]>([
    [
      "read by the destination since the first cut, migrated, handed over by no round: yes",
      { host: "late", ip: "10.0.0.1" },
      new Set(),
      true,
    ],
    [
      "handed over by position in the first round, or named by a later one: never twice",
      { host: "early", ip: "10.0.0.2" },
      new Set(["early"]),
      false,
    ],
    [
      "not migrated (failed, pending, another route's): not yet",
      { host: "late", ip: "10.9.9.9" },
      new Set(),
      false,
    ],
    ["no IP to tell: not yet", { host: "late" }, new Set(), false],
  ])("%s", (_what, host, handedOver, included) => {
    const hosts = laterRoundHosts({ destinationHosts: [host], handedOver, migratedIps: migrated });
    expect(hosts.map((h) => h.host)).toEqual(included ? [host.host] : []);
  });

  test("sorted by host, each once", () => {
    const hosts = laterRoundHosts({
      destinationHosts: [
        { host: "c", ip: "10.0.0.3" },
        { host: "a", ip: "10.0.0.1" },
        { host: "b", ip: "10.0.0.2" },
      ],
      handedOver: new Set(["b"]),
      migratedIps: migrated,
    });
    expect(hosts.map((h) => h.host)).toEqual(["a", "c"]);
  });

  test("a round judges its hosts alone: another host behind or unread does not hold it back", () => {
    const facts = {
      destinationFirst: [
        { host: "late", inode: "7", offset: 500, since: UNTIL - 200 },
        { host: "early", inode: "7", offset: 900, since: UNTIL - 200 },
      ],
      sourceLast: [
        { host: "late", inode: "7", offset: 800, received: UNTIL - 5, lastRead: UNTIL - 6 },
        // early's source has not shipped past its F: the first round would wait for it.
        { host: "early", inode: "7", offset: 100, received: UNTIL - 5, lastRead: UNTIL - 6 },
        { host: "early", inode: "8", offset: 100, received: UNTIL - 5, lastRead: UNTIL - 6 },
      ],
      sourceUnplaced: [{ host: "early", lastReceived: UNTIL - 5 }],
      sourceAfter: [],
      sourceUnplacedAfter: [],
      migratedIps: new Set<string>(),
    };
    expect(decideHandover(facts, timing).kind).toBe("waiting");
    expect(decideHandover(factsOfHosts(facts, new Set(["late"])), timing)).toEqual({
      kind: "ready",
      exclusions: [{ host: "late", inode: "7", offset: 500, readFrom: UNTIL - 200 - READ_SKEW_SECONDS }],
    });
  });
});
