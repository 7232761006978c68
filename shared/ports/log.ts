/** One structured line a step logs per thing it did, refused or could not do. */
export interface LogLine {
  action: string;
  outcome: "ok" | "refused" | "failed" | "skipped";
  accountId: string;
  region: string;
  instanceIds: string[];
  route?: string;
  reason?: string;
  detail?: string;
  invokeId?: string;
  /** Queue messages the line accounts for (their MNS ids), and how often each was delivered. */
  messageIds?: string[];
  dequeueCounts?: number[];
}

/** Where a step's log lines go. */
export type StepLog = (line: LogLine) => void;

/** The keys every line of one unit of work carries (its account, region and route). */
export interface LogKeys {
  accountId: string;
  region: string;
  route?: string;
}

/** A line of a keyed log: the keys come from the logger; no instance ids means none. */
export type KeyedLine = Omit<LogLine, "accountId" | "region" | "instanceIds"> &
  Partial<Pick<LogLine, "accountId" | "region" | "instanceIds">>;

/** A logger for one unit of work: each line gets its keys (a line may still name others). */
export function keyedLog(log: StepLog, keys: LogKeys): (line: KeyedLine) => void {
  return (line) => log({ ...keys, instanceIds: [], ...line });
}
