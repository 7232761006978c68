/**
 * The LZ4 *block* format (no frame, no size prefix) as SLS uses it for `x-log-compresstype: lz4`
 * bodies and `Accept-Encoding: lz4` answers; the uncompressed size travels in `x-log-bodyrawsize`.
 * Hand-written (a few dozen lines each way) so the emulator needs no native add-on; the official
 * SDK's lz4-napi and this code read each other's output (test/emulator/sls.ingest.test.ts).
 * Format: https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md
 */

export class Lz4FormatError extends Error {
  override readonly name = "Lz4FormatError";
}

const minMatch = 4;
/** The last match must start at least 12 bytes before the end; the last 5 bytes are literals. */
const matchSafeDistance = 12;
const lastLiterals = 5;
const hashBits = 16;

/** Decompresses one LZ4 block into exactly `rawSize` bytes; anything malformed is an Lz4FormatError. */
export function lz4DecompressBlock(src: Uint8Array, rawSize: number): Buffer {
  const dst = Buffer.allocUnsafe(rawSize);
  const end = src.length;
  let s = 0;
  let d = 0;
  while (s < end) {
    const token = src[s++] ?? 0;
    let literals = token >>> 4;
    if (literals === 15) {
      let extra = 255;
      while (extra === 255) {
        if (s >= end) throw new Lz4FormatError("literal length runs past the block");
        extra = src[s++] ?? 0;
        literals += extra;
      }
    }
    if (s + literals > end) throw new Lz4FormatError("literals run past the block");
    if (d + literals > rawSize) throw new Lz4FormatError("literals exceed the declared raw size");
    if (literals > 32) {
      dst.set(src.subarray(s, s + literals), d);
      s += literals;
      d += literals;
    } else {
      for (const stop = s + literals; s < stop; ) dst[d++] = src[s++] ?? 0;
    }
    if (s === end) break; // the last sequence has literals only
    if (s + 2 > end) throw new Lz4FormatError("match offset runs past the block");
    const offset = (src[s] ?? 0) | ((src[s + 1] ?? 0) << 8);
    s += 2;
    if (offset === 0 || offset > d) throw new Lz4FormatError(`match offset ${offset} is out of range`);
    let length = token & 15;
    if (length === 15) {
      let extra = 255;
      while (extra === 255) {
        if (s >= end) throw new Lz4FormatError("match length runs past the block");
        extra = src[s++] ?? 0;
        length += extra;
      }
    }
    length += minMatch;
    if (d + length > rawSize) throw new Lz4FormatError("match exceeds the declared raw size");
    let from = d - offset;
    if (offset >= length && length > 32) {
      dst.copyWithin(d, from, from + length);
      d += length;
    } else {
      // Short or overlapping match: byte by byte (an overlap repeats the pattern).
      for (const stop = d + length; d < stop; ) dst[d++] = dst[from++] ?? 0;
    }
  }
  if (d !== rawSize) throw new Lz4FormatError(`block holds ${d} bytes, the header says ${rawSize}`);
  return dst;
}

/**
 * The compressor's hash table, shared by all calls (compression is synchronous). An entry holds
 * `base + position + 1` of the call that wrote it; each call starts with a `base` above every entry
 * written before, so older entries read as empty without clearing 256 KB per call (an agent pack is
 * a few KB). Cleared only when `base` would leave the Int32 range.
 */
const table = new Int32Array(1 << hashBits);
let base = 0;
const maxBase = 0x7fffffff;

/** Greedy single-pass LZ4 block compressor (hash of 4 bytes, 64 KB window). */
export function lz4CompressBlock(src: Uint8Array): Buffer {
  const length = src.length;
  // Worst case: incompressible input grows by 1/255 plus a few bytes.
  const dst = Buffer.allocUnsafe(length + Math.ceil(length / 255) + 16);
  if (length >= maxBase - base) {
    table.fill(0);
    base = 0;
  }
  // This call's entries are `start + position`; every earlier one is below `start`, a negative candidate.
  const start = base + 1;
  base += length + 1;
  let d = 0;
  let anchor = 0;
  let s = 0;
  const matchLimit = length - matchSafeDistance;
  while (s < matchLimit) {
    const sequence = read32(src, s);
    const hash = Math.imul(sequence, 2654435761) >>> (32 - hashBits);
    const candidate = (table[hash] ?? 0) - start;
    table[hash] = start + s;
    if (candidate < 0 || s - candidate > 0xffff || read32(src, candidate) !== sequence) {
      s += 1;
      continue;
    }
    let matchEnd = s + minMatch;
    let reference = candidate + minMatch;
    const stop = length - lastLiterals;
    while (matchEnd < stop && src[matchEnd] === src[reference]) {
      matchEnd += 1;
      reference += 1;
    }
    d = writeSequence(dst, d, src, anchor, s, s - candidate, matchEnd - s - minMatch);
    s = matchEnd;
    anchor = s;
  }
  d = writeLiterals(dst, d, src, anchor, length);
  return dst.subarray(0, d);
}

function read32(src: Uint8Array, at: number): number {
  return (
    ((src[at] ?? 0) | ((src[at + 1] ?? 0) << 8) | ((src[at + 2] ?? 0) << 16) | ((src[at + 3] ?? 0) << 24)) >>>
    0
  );
}

function writeSequence(
  dst: Buffer,
  at: number,
  src: Uint8Array,
  literalStart: number,
  literalEnd: number,
  offset: number,
  matchLength: number,
): number {
  const literals = literalEnd - literalStart;
  let d = at;
  const tokenAt = d++;
  d = writeLength(dst, d, literals);
  dst.set(src.subarray(literalStart, literalEnd), d);
  d += literals;
  dst[d++] = offset & 0xff;
  dst[d++] = offset >>> 8;
  d = writeLength(dst, d, matchLength);
  dst[tokenAt] = (Math.min(literals, 15) << 4) | Math.min(matchLength, 15);
  return d;
}

function writeLiterals(dst: Buffer, at: number, src: Uint8Array, start: number, end: number): number {
  const literals = end - start;
  let d = at;
  dst[d++] = Math.min(literals, 15) << 4;
  d = writeLength(dst, d, literals);
  dst.set(src.subarray(start, end), d);
  return d + literals;
}

/** The extra length bytes after a nibble of 15. */
function writeLength(dst: Buffer, at: number, value: number): number {
  if (value < 15) return at;
  let d = at;
  let rest = value - 15;
  while (rest >= 255) {
    dst[d++] = 255;
    rest -= 255;
  }
  dst[d++] = rest;
  return d;
}
