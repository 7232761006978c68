/**
 * A small object store in the hub (an OSS bucket): what one invocation observed, kept for the
 * others of the same period instead of each reading it from the cloud again.
 */
export interface SnapshotStore {
  /** The object's bytes, or undefined when there is none. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** Replaces the object. */
  write(key: string, body: Uint8Array): Promise<void>;
}
