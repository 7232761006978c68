/**
 * CRC-64/ECMA-182 as OSS reports it in `x-oss-hash-crc64ecma` (reflected, init and final XOR all ones,
 * i.e. CRC-64/XZ; unsigned decimal). The SDK compares it with its own on every PutObject, so it must
 * be exact. Two 32-bit halves keep the loop on plain numbers.
 */
const reflectedPolynomial = 0xc96c5795d7870f42n;

const tableHigh = new Uint32Array(256);
const tableLow = new Uint32Array(256);
for (let byte = 0; byte < 256; byte += 1) {
  let crc = BigInt(byte);
  for (let bit = 0; bit < 8; bit += 1) crc = crc & 1n ? (crc >> 1n) ^ reflectedPolynomial : crc >> 1n;
  tableHigh[byte] = Number(crc >> 32n);
  tableLow[byte] = Number(crc & 0xffffffffn);
}

export function crc64ecma(data: Uint8Array): string {
  let high = 0xffffffff;
  let low = 0xffffffff;
  for (const byte of data) {
    const index = (low ^ byte) & 0xff;
    low = ((tableLow[index] ?? 0) ^ ((low >>> 8) | (high << 24))) >>> 0;
    high = ((tableHigh[index] ?? 0) ^ (high >>> 8)) >>> 0;
  }
  return ((BigInt(~high >>> 0) << 32n) | BigInt(~low >>> 0)).toString(10);
}
