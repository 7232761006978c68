/**
 * The contract between the emulator's log storage (ingest, shards, cursors, retention) and its
 * query engine (GetLogs, GetHistograms): the engine reads stored lines only through these rows.
 */

/** One stored line as a query sees it. */
export interface LogRow {
  /** `__time__`, Unix seconds: what a query's time range selects by. */
  readonly time: number;
  /**
   * Any field by its query name: a content key (`level`), `__time__`, `__source__`, `__topic__`,
   * or a tag as `__tag__:<key>` (`__tag__:__path__`, `__tag__:__receive_time__`).
   */
  get(key: string): string | undefined;
  /** Every field and tag of the line under those names, in a stable order (results, full text). */
  entries(): Iterable<readonly [string, string]>;
}

/** The stored lines of one logstore, as the query engine reads them. */
export interface LogRowSource {
  /** Lines with `from <= __time__ < to` (Unix seconds), in receive order. */
  scan(from: number, to: number): Iterable<LogRow>;
}
