/** Structured lines the runtime writes about invocations; never credentials or event bodies. */
export type Outcome = "success" | "error" | "timeout" | "retry" | "dead-letter" | "dropped";

export interface InvocationLine {
  msg: "fc.invocation";
  function: string;
  trigger: string;
  requestId: string;
  durationMs: number;
  outcome: Outcome;
  attempt?: number;
  error?: string;
  /** Messages or events in the invocation (queue batches). */
  count?: number;
}

export interface RuntimeLogger {
  invocation(line: InvocationLine): void;
  /** Anything else worth saying (a trigger not emulated, a poll error). */
  note(line: Record<string, unknown>): void;
}

/** One JSON object per line on a writer (stderr by default in the CLI). */
export function jsonLinesLogger(write: (text: string) => void): RuntimeLogger {
  return {
    invocation: (line) => write(`${JSON.stringify(line)}\n`),
    note: (line) => write(`${JSON.stringify(line)}\n`),
  };
}

export function memoryLogger(): RuntimeLogger & { lines: Array<InvocationLine | Record<string, unknown>> } {
  const lines: Array<InvocationLine | Record<string, unknown>> = [];
  return {
    lines,
    invocation: (line) => void lines.push(line),
    note: (line) => void lines.push(line),
  };
}

export const silentLogger: RuntimeLogger = { invocation: () => {}, note: () => {} };
