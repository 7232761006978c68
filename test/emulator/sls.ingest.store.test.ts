/**
 * The data plane's parts in memory: the LZ4 and protobuf codecs on hostile input (seeded), and the
 * log store's retention, cursors and scans on a manual clock.
 */
import fc from "fast-check";
import {
  decodeLogGroup,
  encodeLogGroup,
  encodeLogGroupList,
  ProtobufFormatError,
} from "../../emulator/sls/logGroupCodec";
import { LogStore } from "../../emulator/sls/logStore";
import { Lz4FormatError, lz4CompressBlock, lz4DecompressBlock } from "../../emulator/sls/lz4";
import { ManualClock } from "./serviceHarness";
import { logGroup } from "./slsDataPlaneKit";

const seed = 1313;
const day = 86_400_000;

describe("LZ4 block codec", () => {
  it("round-trips any bytes (seed 1313)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), (bytes, repetitive) => {
        const raw = Buffer.from(repetitive ? Buffer.concat([bytes, bytes, bytes]) : bytes);
        expect(lz4DecompressBlock(lz4CompressBlock(raw), raw.length).equals(raw)).toBe(true);
      }),
      { seed, numRuns: 300 },
    );
  });

  it("compresses the same bytes to the same block whatever it compressed before (seed 1313)", () => {
    // The hash table is shared between calls: entries of earlier inputs must read as empty.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.uint8Array({ maxLength: 2048 }), (a, b) => {
        const first = Buffer.from(Buffer.concat([a, b, a]));
        const second = Buffer.from(Buffer.concat([b, a, b]));
        const alone = lz4CompressBlock(second);
        lz4CompressBlock(first);
        const after = lz4CompressBlock(second);
        expect(after.equals(alone)).toBe(true);
        expect(lz4DecompressBlock(after, second.length).equals(second)).toBe(true);
      }),
      { seed, numRuns: 200 },
    );
  });

  it("answers garbage with Lz4FormatError only (seed 1313)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat({ max: 4096 }), (bytes, rawSize) => {
        try {
          lz4DecompressBlock(bytes, rawSize);
        } catch (error) {
          expect(error).toBeInstanceOf(Lz4FormatError);
        }
      }),
      { seed, numRuns: 2000 },
    );
  });

  it("refuses a block whose size is not the declared one", () => {
    const block = lz4CompressBlock(Buffer.from("hello hello hello hello hello"));
    expect(() => lz4DecompressBlock(block, 10)).toThrow(Lz4FormatError);
    expect(() => lz4DecompressBlock(block, 100)).toThrow(Lz4FormatError);
  });
});

describe("LogGroup protobuf codec", () => {
  it("decodes what it encodes, nanoseconds and tags included", () => {
    const group = { ...logGroup(3, 1_767_225_600), timeNs: Float64Array.from([-1, 7, 0]) };

    const decoded = decodeLogGroup(encodeLogGroup(group));

    expect(decoded).toEqual(group);
  });

  it("answers garbage with ProtobufFormatError only (seed 1313)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        try {
          decodeLogGroup(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(ProtobufFormatError);
        }
      }),
      { seed, numRuns: 3000 },
    );
  });

  it("refuses a wire type that does not fit the field and a Content without Value", () => {
    expect(() => decodeLogGroup(Buffer.from([0x08, 0x01]))).toThrow(/LogGroup.Logs has wire type 0/);
    // Log { Time: 1, Contents: { Key: "k" } }
    expect(() => decodeLogGroup(Buffer.from([0x0a, 0x07, 0x08, 0x01, 0x12, 0x03, 0x0a, 0x01, 0x6b]))).toThrow(
      /Log.Content.Value is required/,
    );
  });

  it("skips unknown fields as protobuf does", () => {
    const known = encodeLogGroup(logGroup(1, 5));
    const withUnknown = Buffer.concat([known, Buffer.from([0x38, 0x05, 0x45, 1, 2, 3, 4])]); // field 7 varint, field 8 fixed32

    expect(decodeLogGroup(withUnknown)).toEqual(decodeLogGroup(known));
  });

  it("a LogGroupList is the concatenation of its groups as field 1", () => {
    const group = logGroup(2, 9);
    const encoded = encodeLogGroup(group);
    const list = encodeLogGroupList([{ group, extraTags: [] }]);
    expect(list.subarray(list.length - encoded.length).equals(encoded)).toBe(true);
  });
});

describe("LogStore: retention, cursors and scans on the emulator clock", () => {
  function store(ttlDays: { value: number }, clock: ManualClock) {
    return new LogStore(clock, { shardCount: 1, ttlDays: () => ttlDays.value });
  }

  it("drops groups once receive time + ttl has passed, and begin moves with them", () => {
    const clock = new ManualClock();
    const ttl = { value: 1 };
    const logs = store(ttl, clock);
    logs.append(logGroup(2, 100), 10, 0);
    clock.advance(day / 2);
    logs.append(logGroup(3, 200), 10, 0);
    const oldest = logs.cursorSequence(0, "begin");

    clock.advance(day / 2 - 1000);
    expect(logs.lineCount).toBe(5);
    clock.advance(1000);

    expect(logs.lineCount).toBe(3);
    expect(logs.rawBytes).toBe(10);
    expect(logs.isReadable(0, oldest)).toBe(false);
    expect(logs.cursorSequence(0, "begin")).toBe(oldest + 1);
    expect(logs.read(0, oldest + 1, 10, undefined).map((group) => group.columns.times.length)).toEqual([3]);
  });

  it("applies a changed ttl at the next access", () => {
    const clock = new ManualClock();
    const ttl = { value: 30 };
    const logs = store(ttl, clock);
    logs.append(logGroup(4, 100), 10, 0);
    clock.advance(2 * day);
    expect(logs.lineCount).toBe(4);

    ttl.value = 1;

    expect(logs.lineCount).toBe(0);
  });

  it("GetCursor by time finds the first group received at or after it", () => {
    const clock = new ManualClock();
    const logs = store({ value: 30 }, clock);
    const start = Math.floor(clock.now() / 1000);
    for (let i = 0; i < 5; i += 1) {
      logs.append(logGroup(1, 100 + i), 10, 0);
      clock.advance(10_000);
    }

    expect(logs.cursorSequence(0, start + 15)).toBe(2);
    expect(logs.cursorSequence(0, start + 20)).toBe(2);
    expect(logs.cursorSequence(0, start + 999)).toBe(logs.cursorSequence(0, "end"));
    expect(logs.read(0, 1, 2, 2)).toHaveLength(1);
  });

  it("scan selects by __time__ in [from, to) and exposes fields and tags by query name", () => {
    const clock = new ManualClock();
    const logs = store({ value: 30 }, clock);
    logs.append({ ...logGroup(3, 0), times: Uint32Array.from([10, 20, 30]) }, 10, 0);

    const rows = [...logs.scan(20, 30)];

    expect(rows.map((row) => row.time)).toEqual([20]);
    const [row] = rows;
    expect(row?.get("seq")).toBe("1");
    expect(row?.get("__source__")).toBe("10.0.0.1");
    expect(row?.get("__topic__")).toBe("app");
    expect(row?.get("__tag__:__hostname__")).toBe("host-1");
    expect(row?.get("__tag__:__receive_time__")).toBe(String(Math.floor(clock.now() / 1000)));
    expect(row?.get("missing")).toBeUndefined();
    expect(new Map(row?.entries()).get("__time__")).toBe("20");
  });
});
