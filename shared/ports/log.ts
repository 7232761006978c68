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
