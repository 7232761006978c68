/** A JSON object (not null, not an array), for reading outside data without casts. */
export type JsonObject = { [key: string]: unknown };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * JSON with object keys sorted at every level (undefined members dropped): the same value always
 * gives the same text, to compare what a service echoes with what was sent, or to write files that
 * diff cleanly. `indent` as JSON.stringify's.
 */
export function canonicalJson(value: unknown, indent = 0): string {
  const sortKeys = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(sortKeys);
    if (typeof item === "object" && item !== null) {
      return Object.fromEntries(
        Object.entries(item)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => [k, sortKeys(v)]),
      );
    }
    return item;
  };
  return JSON.stringify(sortKeys(value), null, indent);
}
