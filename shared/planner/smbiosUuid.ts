/**
 * SMBIOS UUIDs as different layers print them: the same 16 bytes, but some tools show the first
 * three fields byte-swapped (little-endian) and in either case. ECS's SerialNumber and the agent's
 * machine-uniqueid are both such UUIDs, so a match must allow for both spellings.
 */

const UUID = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/;

function swapBytes(hex: string): string {
  return (hex.match(/../g) ?? []).reverse().join("");
}

/** Canonical lower-case form, or undefined when the text is not a UUID. */
export function normalizeUuid(text: string): string | undefined {
  const m = UUID.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`;
}

/** The same UUID with its first three fields byte-swapped. */
export function swapped(canonical: string): string {
  const [a = "", b = "", c = "", d = "", e = ""] = canonical.split("-");
  return `${swapBytes(a)}-${swapBytes(b)}-${swapBytes(c)}-${d}-${e}`;
}

export function sameSmbiosUuid(a: string, b: string): boolean {
  const x = normalizeUuid(a);
  const y = normalizeUuid(b);
  if (x === undefined || y === undefined) return false;
  return x === y || swapped(x) === y;
}
