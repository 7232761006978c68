/** Small collection helpers the use cases share instead of spelling the loops out each time. */

/** `items` in consecutive slices of at most `size` (API and message limits). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const slices: T[][] = [];
  for (let i = 0; i < items.length; i += size) slices.push(items.slice(i, i + size));
  return slices;
}

/**
 * Groups `items` by a key made of several parts, keeping the parts (no `"a|b|c"` strings to split
 * back): each group carries the first item's parts and every item with the same ones, in order.
 */
export function groupBy<T, K extends readonly (string | number | boolean)[]>(
  items: Iterable<T>,
  keyOf: (item: T) => K,
): Array<{ key: K; items: T[] }> {
  const groups = new Map<string, { key: K; items: T[] }>();
  for (const item of items) {
    const key = keyOf(item);
    const id = JSON.stringify(key);
    const group = groups.get(id);
    if (group) group.items.push(item);
    else groups.set(id, { key, items: [item] });
  }
  return [...groups.values()];
}
