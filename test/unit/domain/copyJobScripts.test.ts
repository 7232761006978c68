/**
 * The copy scripts of a handover (handoverCopyScripts): the base part copies the source lines
 * without position meta, the parts by host copy the lines with position meta except those at or
 * past the destination's first offset F in their file, each script within SPL's 10 KB, at most
 * MAX_COPY_PARTS parts. Besides the text, every script is compiled with the emulator's SPL engine
 * and run over stored log groups laid out as the agent ships them (`__hostname__` and `__inode__`
 * group tags, `__file_offset__` a content field): the union of all parts copies each line it
 * should exactly once and nothing else.
 */
import { seededRandom } from "../../../emulator/core/random";
import { compileSpl } from "../../../emulator/sls/etlSpl";
import type { LogGroupColumns } from "../../../emulator/sls/logGroupCodec";
import type { StoredGroup } from "../../../emulator/sls/logStore";
import {
  type CopyPart,
  CopyScriptError,
  handoverCopyScripts,
  hostsExcludedIn,
  hostsOfCopyScript,
  laterRoundCopyScripts,
  MAX_COPY_PARTS,
  SPL_MAX_BYTES,
} from "../../../shared/domain/copyJob";

type Exclusion = { host: string; inode: string; offset: number };

const BASE = `* | where "__tag__:__inode__" is null`;

// ---- stored groups, as the agent ships them -------------------------------------------------------

/** One line of the source logstore: its id, content fields and, with position meta, its offset. */
interface SourceLine {
  id: string;
  level: string;
  offset?: number;
}

let sequence = 0;

/** A stored log group of one file's lines; `inode` undefined: shipped before position meta. */
function storedGroup(host: string, inode: string | undefined, lines: readonly SourceLine[]): StoredGroup {
  const keys: string[] = [];
  const values: string[] = [];
  const fieldStart = [0];
  for (const line of lines) {
    keys.push("content", "id", "level");
    values.push(`line ${line.id}`, line.id, line.level);
    if (line.offset !== undefined) {
      keys.push("__file_offset__");
      values.push(String(line.offset));
    }
    fieldStart.push(keys.length);
  }
  const tags = ["__hostname__", host, "__path__", "/var/log/app-b/app.log"];
  if (inode !== undefined) tags.push("__inode__", inode);
  const columns: LogGroupColumns = {
    topic: "",
    source: "10.0.0.1",
    tags,
    times: new Uint32Array(lines.length).fill(1_775_000_000),
    timeNs: undefined,
    fieldStart: Uint32Array.from(fieldStart),
    keys,
    values,
  };
  sequence += 1;
  return {
    sequence,
    receiveTime: 1_775_000_000,
    columns,
    minTime: 1_775_000_000,
    maxTime: 1_775_000_000,
    rawSize: 0,
  };
}

/** The value of `key` in every line of a transformed group. */
function field(columns: LogGroupColumns, key: string): Array<string | undefined> {
  const out: Array<string | undefined> = [];
  for (let i = 0; i < columns.times.length; i += 1) {
    const start = columns.fieldStart[i] ?? 0;
    const end = columns.fieldStart[i + 1] ?? start;
    const at = columns.keys.slice(start, end).indexOf(key);
    out.push(at < 0 ? undefined : columns.values[start + at]);
  }
  return out;
}

/** Runs every part over every group, as the copy jobs would: how often each line id was copied. */
function copyAll(parts: readonly CopyPart[], groups: readonly StoredGroup[]): Map<string, number> {
  const copied = new Map<string, number>();
  for (const part of parts) {
    const program = compileSpl(part.script);
    for (const group of groups) {
      const out = program.transform(group);
      if (out === undefined) continue;
      for (const id of field(out, "id")) {
        if (id === undefined) throw new Error(`part ${part.part} copied a line without its id`);
        copied.set(id, (copied.get(id) ?? 0) + 1);
      }
    }
  }
  return copied;
}

// ---- a fleet of hosts, files and lines, and what a copy must take -----------------------------------

interface Fleet {
  hosts: string[];
  groups: StoredGroup[];
  exclusions: Exclusion[];
  /** Every line id with whether a copy must take it (before the route's SPL). */
  expected: Map<string, { copy: boolean; level: string }>;
}

/**
 * Hosts with files of lines at growing offsets (some past 2^32, to need the bigint cast), lines
 * without position meta (shipped before it reached the host), and exclusions of every kind: F = 0,
 * F inside the file (on a line and between lines), F past the file's end, files without one (idle
 * in the source), hosts without any.
 */
function fleet(seed: number, hostCount: number, filesPerHost: number, linesPerFile: number): Fleet {
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const hosts = Array.from({ length: hostCount }, (_, h) => `host-${String(h).padStart(3, "0")}`);
  const groups: StoredGroup[] = [];
  const exclusions: Exclusion[] = [];
  const expected = new Map<string, Fleet["expected"] extends Map<string, infer V> ? V : never>();
  for (const host of hosts) {
    const hostHasExclusions = next() < 0.8;
    // Lines from before position meta: no inode, no offset. Always copied (by the base part).
    const preMeta = Array.from({ length: 3 }, (_, i) => ({
      id: `${host}/pre/${i}`,
      level: pick(["INFO", "ERROR"]),
    }));
    groups.push(storedGroup(host, undefined, preMeta));
    for (const line of preMeta) expected.set(line.id, { copy: true, level: line.level });
    for (let f = 0; f < filesPerHost; f += 1) {
      const inode = String(next() < 0.5 ? 1_000 + f : 4_000_000_000 + f * 7);
      const start = next() < 0.3 ? 5_000_000_000 : 0;
      const offsets = Array.from({ length: linesPerFile }, (_, i) => start + i * 100);
      const kind = hostHasExclusions ? pick(["zero", "on-line", "between", "past-end", "none"]) : "none";
      const middle = offsets[Math.floor(offsets.length / 2)] ?? start;
      const F =
        kind === "zero"
          ? 0
          : kind === "on-line"
            ? middle
            : kind === "between"
              ? middle + 37
              : kind === "past-end"
                ? start + linesPerFile * 100 + 1_000
                : undefined;
      if (F !== undefined) exclusions.push({ host, inode, offset: F });
      const lines = offsets.map((offset, i) => ({
        id: `${host}/${inode}/${i}`,
        level: pick(["INFO", "ERROR", "WARN"]),
        offset,
      }));
      // Shipped in packs of a few lines, as the agent does.
      for (let i = 0; i < lines.length; i += 4) groups.push(storedGroup(host, inode, lines.slice(i, i + 4)));
      for (const line of lines) {
        expected.set(line.id, { copy: F === undefined || line.offset < F, level: line.level });
      }
    }
  }
  return { hosts, groups, exclusions, expected };
}

/** What the copy must hold: every line to copy exactly once, no other. */
function mustCopy(expected: Fleet["expected"], keep: (level: string) => boolean = () => true) {
  return new Map(
    [...expected].filter(([, line]) => line.copy && keep(line.level)).map(([id]) => [id, 1] as const),
  );
}

const sorted = (copied: Map<string, number>) => [...copied].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

// ---- the scripts' text ------------------------------------------------------------------------------

describe("handoverCopyScripts: the scripts", () => {
  test("no source host with position meta: the base part only", () => {
    expect(handoverCopyScripts("*", [], [])).toEqual([{ part: 0, script: BASE }]);
  });

  test("a host without exclusions is copied whole; duplicates are one host, hosts sorted", () => {
    expect(handoverCopyScripts("*", ["h2", "h1", "h2"], [])).toEqual([
      { part: 0, script: BASE },
      {
        part: 1,
        script: `* | where "__tag__:__inode__" is not null and ("__tag__:__hostname__" = 'h1' or "__tag__:__hostname__" = 'h2')`,
      },
    ]);
  });

  test("an exclusion: the host's lines except those at or past F in that inode (offset cast to bigint)", () => {
    const [, part] = handoverCopyScripts("*", ["h1"], [{ host: "h1", inode: "7", offset: 100 }]);
    expect(part).toEqual({
      part: 1,
      script: `* | where "__tag__:__inode__" is not null and (("__tag__:__hostname__" = 'h1' and not (("__tag__:__inode__" = '7' and cast("__file_offset__" as bigint) >= 100))))`,
    });
  });

  test("several exclusions of a host are or-ed in its one term; a fractional offset is truncated", () => {
    const [, part] = handoverCopyScripts(
      "*",
      ["h1", "h2"],
      [
        { host: "h1", inode: "7", offset: 100.9 },
        { host: "h1", inode: "8", offset: 0 },
      ],
    );
    expect(part?.script).toBe(
      `* | where "__tag__:__inode__" is not null and (` +
        `("__tag__:__hostname__" = 'h1' and not (("__tag__:__inode__" = '7' and cast("__file_offset__" as bigint) >= 100) or ("__tag__:__inode__" = '8' and cast("__file_offset__" as bigint) >= 0)))` +
        ` or "__tag__:__hostname__" = 'h2')`,
    );
  });

  test("an exclusion of a host not in `hosts` (one only the destination reads) still gets its term", () => {
    const parts = handoverCopyScripts("*", [], [{ host: "h9", inode: "1", offset: 5 }]);
    expect(parts).toHaveLength(2);
    expect(parts[1]?.script).toContain(`"__tag__:__hostname__" = 'h9' and not`);
  });

  test("single quotes in a host or inode are doubled", () => {
    const parts = handoverCopyScripts("*", ["o'brien"], [{ host: "o'brien", inode: "1'2", offset: 3 }]);
    expect(parts[1]?.script).toContain(`"__tag__:__hostname__" = 'o''brien'`);
    expect(parts[1]?.script).toContain(`"__tag__:__inode__" = '1''2'`);
  });

  test.each([
    ["a newline in a host", ["h\n1"], []],
    ["a NUL in a host", ["h\u00001"], []],
    ["DEL in a host", ["h\u007f"], []],
    ["a tab in an exclusion's inode", ["h1"], [{ host: "h1", inode: "1\t2", offset: 0 }]],
    ["a carriage return in an exclusion's host", [], [{ host: "h\r", inode: "1", offset: 0 }]],
  ] as Array<[string, string[], Exclusion[]]>)(
    "%s is refused (CopyScriptError)",
    (_what, hosts, exclusions) => {
      expect(() => handoverCopyScripts("*", hosts, exclusions)).toThrow(CopyScriptError);
      expect(() => handoverCopyScripts("*", hosts, exclusions)).toThrow(/control character/);
    },
  );

  test.each([
    ["*", ""],
    ["", ""],
    ["  *  ", ""],
    ["* | where level = 'ERROR'", " | where level = 'ERROR'"],
    ["*| where level = 'ERROR'", " | where level = 'ERROR'"],
    [
      "  * \n | where level = 'ERROR' | project-away level  ",
      " | where level = 'ERROR' | project-away level",
    ],
  ])("the route's SPL %j runs after the filter as %j", (spl, rest) => {
    const parts = handoverCopyScripts(spl, ["h1"], [{ host: "h1", inode: "7", offset: 1 }]);
    expect(parts[0]?.script).toBe(`${BASE}${rest}`);
    expect(parts[1]?.script.endsWith(`>= 1))))${rest}`)).toBe(true);
  });

  test.each(["level = 'ERROR'", "where level = 'ERROR' | *", "| where level = 'ERROR'"])(
    "an SPL not starting with * (%j) is refused",
    (spl) => {
      expect(() => handoverCopyScripts(spl, ["h1"], [])).toThrow(CopyScriptError);
      expect(() => handoverCopyScripts(spl, ["h1"], [])).toThrow(/must start with "\*"/);
    },
  );

  test("many hosts: split into consecutive parts, each script within 10 KB, each host in exactly one", () => {
    const { hosts, exclusions } = fleet(7, 60, 20, 2);
    const parts = handoverCopyScripts("* | where level = 'ERROR'", hosts, exclusions);

    expect(parts.length).toBeGreaterThan(3);
    expect(parts.length - 1).toBeLessThanOrEqual(MAX_COPY_PARTS);
    expect(parts.map((part) => part.part)).toEqual(parts.map((_, i) => i));
    for (const part of parts) {
      expect(Buffer.byteLength(part.script)).toBeLessThanOrEqual(SPL_MAX_BYTES);
      expect(part.script.endsWith(" | where level = 'ERROR'")).toBe(true);
    }
    const hostsOf = (script: string) =>
      [...script.matchAll(/"__tag__:__hostname__" = '([^']*)'/g)].map((match) => match[1]);
    expect(hostsOf(parts[0]?.script ?? "")).toEqual([]);
    expect(parts.slice(1).flatMap((part) => hostsOf(part.script))).toEqual(hosts);
  });

  test("a long route SPL leaves less room: still every script within 10 KB", () => {
    const { hosts, exclusions } = fleet(8, 30, 20, 2);
    const spl = `* | where ${Array.from({ length: 60 }, (_, i) => `msg not like '%noise-${i}%'`).join(" and ")}`;
    const parts = handoverCopyScripts(spl, hosts, exclusions);
    for (const part of parts) expect(Buffer.byteLength(part.script)).toBeLessThanOrEqual(SPL_MAX_BYTES);
  });

  test(`the largest fleet that fits takes exactly ${MAX_COPY_PARTS} parts; one host more is refused`, () => {
    const hostsOf = (n: number) => Array.from({ length: n }, (_, h) => `host-${String(h).padStart(4, "0")}`);
    const exclusionsOf = (hosts: string[]) =>
      hosts.flatMap((host) =>
        Array.from({ length: 30 }, (_, f) => ({
          host,
          inode: String(4_000_000_000 + f),
          offset: 123_456_789,
        })),
      );
    let n = 1;
    while (n < 1_000) {
      const hosts = hostsOf(n + 1);
      try {
        handoverCopyScripts("*", hosts, exclusionsOf(hosts));
      } catch (error) {
        expect(error).toBeInstanceOf(CopyScriptError);
        expect((error as Error).message).toMatch(
          new RegExp(`${n + 1} hosts need 21 copy parts, more than 20`),
        );
        break;
      }
      n += 1;
    }
    const hosts = hostsOf(n);
    const parts = handoverCopyScripts("*", hosts, exclusionsOf(hosts));
    expect(parts).toHaveLength(MAX_COPY_PARTS + 1);
  });

  test("one host with more files than one script holds is refused", () => {
    const exclusions = Array.from({ length: 200 }, (_, f) => ({
      host: "h1",
      inode: String(4_000_000_000 + f),
      offset: 1,
    }));
    expect(() => handoverCopyScripts("*", ["h1"], exclusions)).toThrow(CopyScriptError);
    expect(() => handoverCopyScripts("*", ["h1"], exclusions)).toThrow(/host h1 has too many files/);
  });
});

// ---- what the scripts copy, on the emulator's SPL engine -----------------------------------------------

describe("handoverCopyScripts: what the parts copy together (the emulator's SPL engine)", () => {
  test("one file cut at F: the lines below F once, none at or past it; lines without meta once", () => {
    const groups = [
      storedGroup("h1", undefined, [{ id: "pre", level: "INFO" }]),
      storedGroup("h1", "7", [
        { id: "a", level: "INFO", offset: 0 },
        { id: "b", level: "INFO", offset: 99 },
        { id: "c", level: "INFO", offset: 100 },
        { id: "d", level: "INFO", offset: 150 },
      ]),
      // The same inode on another host is another file.
      storedGroup("h2", "7", [{ id: "e", level: "INFO", offset: 150 }]),
      // Another file of h1: idle in the source, copied whole.
      storedGroup("h1", "8", [{ id: "f", level: "INFO", offset: 150 }]),
    ];
    const parts = handoverCopyScripts("*", ["h1", "h2"], [{ host: "h1", inode: "7", offset: 100 }]);

    expect(sorted(copyAll(parts, groups))).toEqual([
      ["a", 1],
      ["b", 1],
      ["e", 1],
      ["f", 1],
      ["pre", 1],
    ]);
  });

  test("the base part copies only lines without meta; the parts only lines with it", () => {
    const groups = [
      storedGroup("h1", undefined, [{ id: "pre", level: "INFO" }]),
      storedGroup("h1", "7", [{ id: "post", level: "INFO", offset: 1 }]),
    ];
    const [base, ...byHost] = handoverCopyScripts("*", ["h1"], []);
    expect(sorted(copyAll(base ? [base] : [], groups))).toEqual([["pre", 1]]);
    expect(sorted(copyAll(byHost, groups))).toEqual([["post", 1]]);
  });

  test("offsets past 2^32 compare as numbers, not text", () => {
    const groups = [
      storedGroup("h1", "7", [
        { id: "below", level: "INFO", offset: 9_999_999_999 },
        { id: "at", level: "INFO", offset: 10_000_000_000 },
        { id: "past", level: "INFO", offset: 10_000_000_001 },
      ]),
    ];
    const parts = handoverCopyScripts("*", ["h1"], [{ host: "h1", inode: "7", offset: 10_000_000_000 }]);
    expect(sorted(copyAll(parts, groups))).toEqual([["below", 1]]);
  });

  test("a host and inode with quotes are matched as they are", () => {
    const groups = [
      storedGroup("o'brien", "1'2", [
        { id: "below", level: "INFO", offset: 1 },
        { id: "past", level: "INFO", offset: 5 },
      ]),
      storedGroup("obrien", "1'2", [{ id: "other-host", level: "INFO", offset: 5 }]),
    ];
    const parts = handoverCopyScripts(
      "*",
      ["o'brien", "obrien"],
      [{ host: "o'brien", inode: "1'2", offset: 5 }],
    );
    expect(sorted(copyAll(parts, groups))).toEqual([
      ["below", 1],
      ["other-host", 1],
    ]);
  });

  test("lines of a host not in `hosts` are copied by no part (the caller must name every source host)", () => {
    const groups = [storedGroup("h9", "7", [{ id: "unnamed", level: "INFO", offset: 1 }])];
    expect(copyAll(handoverCopyScripts("*", ["h1"], []), groups).size).toBe(0);
  });

  test.each([
    [1, 5, 4, 9],
    [2, 12, 6, 7],
    [3, 40, 20, 2],
  ])(
    "seed %i, %i hosts × %i files: every line to copy exactly once, no line at or past its F",
    (seed, hostCount, files, linesPerFile) => {
      const { hosts, groups, exclusions, expected } = fleet(seed, hostCount, files, linesPerFile);
      const parts = handoverCopyScripts("*", hosts, exclusions);
      for (const part of parts) expect(Buffer.byteLength(part.script)).toBeLessThanOrEqual(SPL_MAX_BYTES);
      if (hostCount >= 40) expect(parts.length).toBeGreaterThan(2);

      const copied = copyAll(parts, groups);

      expect(sorted(copied)).toEqual(sorted(mustCopy(expected)));
      // The layout has every kind of line: some held back by an exclusion, some copied.
      expect([...expected.values()].some((line) => !line.copy)).toBe(true);
      expect([...expected.values()].some((line) => line.copy)).toBe(true);
    },
  );

  test("the route's SPL runs after the filter: `* | where level = 'ERROR'` copies the ERROR lines of the same set", () => {
    const { hosts, groups, exclusions, expected } = fleet(4, 25, 8, 6);
    const parts = handoverCopyScripts("* | where level = 'ERROR'", hosts, exclusions);
    expect(parts[0]?.script).toBe(`${BASE} | where level = 'ERROR'`);

    expect(sorted(copyAll(parts, groups))).toEqual(sorted(mustCopy(expected, (level) => level === "ERROR")));
  });

  test("a route SPL that drops the offset field cannot undo the filter: it runs after it", () => {
    const groups = [
      storedGroup("h1", "7", [
        { id: "below", level: "INFO", offset: 1 },
        { id: "past", level: "INFO", offset: 5 },
      ]),
    ];
    const parts = handoverCopyScripts(
      `* | project-away "__file_offset__"`,
      ["h1"],
      [{ host: "h1", inode: "7", offset: 5 }],
    );
    const copied = copyAll(parts, groups);
    expect(sorted(copied)).toEqual([["below", 1]]);
    const out = compileSpl(parts[1]?.script ?? "").transform(groups[0] as StoredGroup);
    expect(out && field(out, "__file_offset__")).toEqual([undefined]);
    expect(out && field(out, "content")).toEqual(["line below"]);
  });
});

describe("exclusions scoped by read time (a reused inode, a truncation)", () => {
  /** A group of one line read at `time` (`__time__`). */
  function at(time: number, id: string, offset: number): StoredGroup {
    const group = storedGroup("h1", "42", [{ id, level: "INFO", offset }]);
    group.columns.times[0] = time;
    return { ...group, minTime: time, maxTime: time };
  }

  test("copied: an earlier file under the inode, and lines below F; not: lines at or past F from the first read, everything from the restart", () => {
    const parts = handoverCopyScripts(
      "*",
      ["h1"],
      [{ host: "h1", inode: "42", offset: 500, readFrom: 1_000, restartFrom: 2_000 }],
    );
    expect(parts[1]?.script).toContain(
      `"__tag__:__inode__" = '42' and __time__ >= 1000 and (cast("__file_offset__" as bigint) >= 500 or __time__ >= 2000)`,
    );
    const groups = [
      at(900, "earlier-file-past-F", 800),
      at(1_000, "first-read-at-F", 500),
      at(1_500, "below-F-read-late", 400),
      at(1_500, "past-F", 900),
      at(2_000, "restarted-file-at-0", 0),
      at(2_500, "restarted-file-later", 100),
    ];

    const copied = copyAll(parts, groups);

    expect([...copied.keys()].sort()).toEqual(["below-F-read-late", "earlier-file-past-F"]);
    expect([...copied.values()]).toEqual([1, 1]);
  });
});

describe("holes: offsets past F the destination lost are copied after all", () => {
  test("a line in a hole is copied once; lines around it, past F, are not", () => {
    const groups = [
      storedGroup("h1", "7", [
        { id: "below-F", level: "INFO", offset: 50 },
        { id: "at-F", level: "INFO", offset: 100 },
        { id: "in-hole", level: "INFO", offset: 200 },
        { id: "in-hole-too", level: "INFO", offset: 250 },
        { id: "after-hole", level: "INFO", offset: 300 },
        { id: "in-second-hole", level: "INFO", offset: 500 },
      ]),
    ];
    const parts = handoverCopyScripts(
      "*",
      ["h1"],
      [
        {
          host: "h1",
          inode: "7",
          offset: 100,
          holes: [
            { from: 200, to: 300 },
            { from: 480, to: 520 },
          ],
        },
      ],
    );

    expect(parts[1]?.script).toContain(
      `and not (cast("__file_offset__" as bigint) >= 200 and cast("__file_offset__" as bigint) < 300 or cast("__file_offset__" as bigint) >= 480 and cast("__file_offset__" as bigint) < 520)`,
    );
    expect(sorted(copyAll(parts, groups))).toEqual([
      ["below-F", 1],
      ["in-hole", 1],
      ["in-hole-too", 1],
      ["in-second-hole", 1],
    ]);
  });

  test("a file without holes: the script is as before", () => {
    const withEmpty = handoverCopyScripts("*", ["h1"], [{ host: "h1", inode: "7", offset: 100, holes: [] }]);
    const without = handoverCopyScripts("*", ["h1"], [{ host: "h1", inode: "7", offset: 100 }]);

    expect(withEmpty).toEqual(without);
  });
});

describe("laterRoundCopyScripts: a round for hosts migrated after the first cut", () => {
  const groups = [
    storedGroup("late", undefined, [{ id: "late-pre", level: "INFO" }]),
    storedGroup("late", "7", [
      { id: "late-a", level: "INFO", offset: 0 },
      { id: "late-b", level: "ERROR", offset: 100 },
      { id: "late-c", level: "INFO", offset: 200 },
    ]),
    storedGroup("late", "8", [{ id: "late-idle", level: "INFO", offset: 50 }]),
    // A host of the first round, and one never migrated: neither is this round's business.
    storedGroup("early", undefined, [{ id: "early-pre", level: "INFO" }]),
    storedGroup("early", "7", [{ id: "early-a", level: "INFO", offset: 0 }]),
    storedGroup("other", "9", [{ id: "other-a", level: "INFO", offset: 0 }]),
  ];

  test("its hosts' lines below F, with and without position meta, once; no other host's", () => {
    const parts = laterRoundCopyScripts(
      "*",
      ["late"],
      [
        { host: "late", inode: "7", offset: 200 },
        // The first round's host: an exclusion of it is left out, not turned into a copy.
        { host: "early", inode: "7", offset: 0 },
      ],
      3,
    );

    expect(parts.map((part) => part.part)).toEqual([3]);
    expect(sorted(copyAll(parts, groups))).toEqual([
      ["late-a", 1],
      ["late-b", 1],
      ["late-idle", 1],
      ["late-pre", 1],
    ]);
  });

  test("the route's SPL runs after the filter", () => {
    const parts = laterRoundCopyScripts(
      "* | where level = 'ERROR'",
      ["late"],
      [{ host: "late", inode: "7", offset: 200 }],
      1,
    );
    expect(sorted(copyAll(parts, groups))).toEqual([["late-b", 1]]);
  });

  test("each script names its hosts, quotes and all, for the next round to read back", () => {
    const hosts = Array.from({ length: 300 }, (_, i) => `web-${i}.o'brien`);
    const parts = laterRoundCopyScripts("*", hosts, [{ host: "web-1.o'brien", inode: "7", offset: 9 }], 2);

    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(Buffer.byteLength(part.script)).toBeLessThanOrEqual(SPL_MAX_BYTES);
    expect(parts.map((part) => part.part)).toEqual(parts.map((_, i) => 2 + i));
    expect(parts.flatMap((part) => hostsOfCopyScript(part.script))).toEqual([...hosts].sort());
    // The first round's scripts name their hosts the same way.
    expect(hostsOfCopyScript(handoverCopyScripts("*", ["a'b", "c"], [])[1]?.script ?? "")).toEqual([
      "a'b",
      "c",
    ]);
  });

  test("a first-round part says which hosts it handed over by position, not those it copies whole", () => {
    const [, part] = handoverCopyScripts(
      "*",
      ["whole", "o'read", "read"],
      [
        { host: "o'read", inode: "7", offset: 9 },
        { host: "read", inode: "8", offset: 0 },
      ],
    );
    expect(hostsExcludedIn(part?.script ?? "")).toEqual(["o'read", "read"]);
    expect(hostsOfCopyScript(part?.script ?? "")).toEqual(["o'read", "read", "whole"]);
  });

  test("parts past the last a route source may have are refused, saying how many were made", () => {
    expect(() => laterRoundCopyScripts("*", ["late"], [], MAX_COPY_PARTS + 1)).toThrow(
      new RegExp(`1 hosts need 1 copy parts after the ${MAX_COPY_PARTS} made, more than ${MAX_COPY_PARTS}`),
    );
  });
});
