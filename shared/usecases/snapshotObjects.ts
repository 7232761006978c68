/**
 * Objects in the hub's snapshot store, as this tool writes them: gzip-compressed JSON, read back
 * only through a schema (the store is outside data too). A store that fails, or an object that does
 * not parse, is the caller's `failed` to report; the caller then does without it.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import type { z } from "zod";
import type { SnapshotStore } from "../ports/snapshots";

export type SnapshotFailure = (what: "read" | "write", key: string, error: unknown) => void;

export async function readSnapshot<T>(
  store: SnapshotStore,
  key: string,
  schema: z.ZodType<T>,
  failed: SnapshotFailure,
): Promise<T | undefined> {
  let body: Uint8Array | undefined;
  try {
    body = await store.read(key);
  } catch (error) {
    failed("read", key, error);
    return undefined;
  }
  if (body === undefined) return undefined;
  try {
    return schema.parse(JSON.parse(gunzipSync(body).toString("utf8")));
  } catch {
    failed("read", key, new Error("not what this tool writes there"));
    return undefined;
  }
}

export async function writeSnapshot(
  store: SnapshotStore,
  key: string,
  value: unknown,
  failed: SnapshotFailure,
): Promise<void> {
  try {
    await store.write(key, gzipSync(JSON.stringify(value)));
  } catch (error) {
    failed("write", key, error);
  }
}
