/**
 * The part of SLS's SPL (new-version data transformation) a copy job runs: the data source `*`, then
 * `| where <expr>`, `| extend name = expr, …`, `| project a, new = old, …`, `| project-away a, …`
 * and `| project-rename new = old, …`. Expressions are the query engine's SQL expressions
 * (querySqlParser + querySql): comparisons, `and` / `or` / `not`, `in`, `like`, `between`,
 * `is null`, arithmetic; fields by name, special names double-quoted (`"__tag__:__inode__"`).
 *
 * A program transforms one stored log group at a time into the group its sinks receive: lines are
 * dropped by `where`, their contents changed by `extend` / `project*`; `__time__`, the nanosecond
 * part, `__source__`, `__topic__` and the group's tags pass unchanged.
 */
import { SlsError } from "./errors";
import type { LogGroupColumns } from "./logGroupCodec";
import type { LogRow } from "./logRows";
import type { StoredGroup } from "./logStore";
import { receiveTimeTag } from "./logStore";
import { Delimiters, type FieldIndex, type QueryIndex } from "./queryIndex";
import { compileSql } from "./querySql";
import { parseSql, type SqlExpr, type SqlValue } from "./querySqlParser";

/** A script the job cannot run: the job fails with `SPL error: <message>`. */
export class SplError extends Error {
  override readonly name = "SplError";
}

export interface SplProgram {
  /** True for `*` (or an empty script): groups are copied as they are. */
  readonly identity: boolean;
  /** The group the sinks receive, or undefined when every line was dropped. */
  transform(group: StoredGroup): LogGroupColumns | undefined;
}

/** One line while a program works on it: its own content fields, the group's time columns. */
interface Line {
  time: number;
  timeNs: number;
  keys: string[];
  values: string[];
}

type Step = (lines: Line[], group: StoredGroup) => Line[];

const textField: FieldIndex = {
  kind: "text",
  delimiters: new Delimiters([]),
  caseSensitive: true,
  analytic: true,
};
const timeField: FieldIndex = { ...textField, kind: "long" };

/** SPL needs no index: every field may be used, as text (numbers compare as numbers, see compareValues). */
const splIndex: QueryIndex = {
  fullText: undefined,
  field: (name) => (name === "__time__" ? timeField : textField),
};

const identityProgram: SplProgram = { identity: true, transform: (group) => group.columns };

export function compileSpl(script: string): SplProgram {
  const [source = "", ...commands] = splitTopLevel(script, "|");
  if (source.trim() !== "*" && source.trim() !== "") {
    throw new SplError(`the data source must be *, got ${JSON.stringify(source.trim())}`);
  }
  const steps = commands.map(compileCommand);
  if (steps.length === 0) return identityProgram;
  return {
    identity: false,
    transform(group) {
      let lines = linesOf(group.columns);
      for (const step of steps) {
        lines = step(lines, group);
        if (lines.length === 0) return undefined;
      }
      return columnsOf(group.columns, lines);
    },
  };
}

function compileCommand(text: string): Step {
  const match = /^\s*([A-Za-z][A-Za-z-]*)(?:\s+([\s\S]*))?$/.exec(text);
  const name = match?.[1]?.toLowerCase();
  const rest = (match?.[2] ?? "").trim();
  if (name === undefined) throw new SplError(`empty command in ${JSON.stringify(text.trim())}`);
  if (rest === "") throw new SplError(`${name} needs arguments`);
  switch (name) {
    case "where":
      return whereStep(rest);
    case "extend":
      return extendStep(rest);
    case "project":
      return projectStep(rest);
    case "project-away":
      return projectAwayStep(rest);
    case "project-rename":
      return projectRenameStep(rest);
    default:
      throw new SplError(`unsupported command ${name}`);
  }
}

// ---- where / extend: expressions evaluated by the query engine -----------------------------------

function whereStep(text: string): Step {
  const evaluate = compileExpressions([parseExpression(text)]);
  return (lines, group) => {
    const values = evaluate(lines, group);
    return lines.filter((_, position) => values[position]?.[0] === true);
  };
}

function extendStep(text: string): Step {
  const assignments = splitTopLevel(text, ",").map(parseAssignment);
  const names = assignments.map((assignment) => assignment.name);
  const evaluate = compileExpressions(assignments.map((assignment) => parseExpression(assignment.value)));
  return (lines, group) => {
    const values = evaluate(lines, group);
    lines.forEach((line, position) => {
      const row = values[position] ?? [];
      names.forEach((name, slot) => {
        setField(line, name, row[slot] ?? null);
      });
    });
    return lines;
  };
}

/** Parses one expression with the query engine's SQL grammar. */
function parseExpression(text: string): SqlExpr {
  let statement: ReturnType<typeof parseSql>;
  try {
    statement = parseSql(`select ${text}`);
  } catch (error) {
    throw splErrorOf(error);
  }
  const [item, ...others] = statement.items;
  if (item?.expr === undefined || others.length > 0 || statement.where !== undefined) {
    throw new SplError(`not one expression: ${JSON.stringify(text)}`);
  }
  return item.expr;
}

/** Compiles expressions once; evaluates them over all lines of a group in one pass. */
function compileExpressions(exprs: SqlExpr[]): (lines: Line[], group: StoredGroup) => SqlValue[][] {
  let compiled: ReturnType<typeof compileSql>;
  try {
    // Aggregates are refused here: a WHERE clause may not hold one.
    for (const expr of exprs) {
      compileSql(
        { ...emptyStatement, items: [{ expr: literalOne, alias: undefined }], where: expr },
        splIndex,
      );
    }
    compiled = compileSql(
      { ...emptyStatement, items: exprs.map((expr) => ({ expr, alias: undefined })) },
      splIndex,
    );
  } catch (error) {
    throw splErrorOf(error);
  }
  return (lines, group) =>
    compiled.run(
      lines.map((line) => new LineRow(line, group)),
      undefined,
    ).rows;
}

const literalOne: SqlExpr = { kind: "literal", value: 1, column: 1 };
const emptyStatement = {
  items: [],
  where: undefined,
  groupBy: [],
  having: undefined,
  orderBy: [],
  limit: Number.MAX_SAFE_INTEGER,
  offset: 0,
};

function splErrorOf(error: unknown): SplError {
  return new SplError(error instanceof SlsError || error instanceof Error ? error.message : String(error));
}

// ---- project ------------------------------------------------------------------------------------

function projectStep(text: string): Step {
  const items = splitTopLevel(text, ",").map((item) => {
    const trimmed = item.trim();
    if (/^("(?:[^"]|"")*"|[^=\s"]+)\s*=/.test(trimmed)) {
      const assignment = parseAssignment(trimmed);
      return { name: assignment.name, from: parseName(assignment.value) };
    }
    const name = parseName(trimmed);
    return { name, from: name };
  });
  return (lines) => {
    for (const line of lines) {
      const keys: string[] = [];
      const values: string[] = [];
      for (const item of items) {
        const value = contentValue(line, item.from);
        if (value !== undefined) {
          keys.push(item.name);
          values.push(value);
        }
      }
      line.keys = keys;
      line.values = values;
    }
    return lines;
  };
}

function projectAwayStep(text: string): Step {
  const away = new Set(splitTopLevel(text, ",").map(parseName));
  return (lines) => {
    for (const line of lines) {
      const keep = line.keys.map((key) => !away.has(key));
      line.values = line.values.filter((_, position) => keep[position]);
      line.keys = line.keys.filter((_, position) => keep[position]);
    }
    return lines;
  };
}

function projectRenameStep(text: string): Step {
  const renames = splitTopLevel(text, ",").map(parseAssignment);
  const renamed = new Map(renames.map((rename) => [parseName(rename.value), rename.name]));
  return (lines) => {
    for (const line of lines) line.keys = line.keys.map((key) => renamed.get(key) ?? key);
    return lines;
  };
}

// ---- lines and groups ---------------------------------------------------------------------------

function linesOf(columns: LogGroupColumns): Line[] {
  const lines: Line[] = [];
  for (let i = 0; i < columns.times.length; i += 1) {
    const start = columns.fieldStart[i] ?? 0;
    const end = columns.fieldStart[i + 1] ?? start;
    lines.push({
      time: columns.times[i] ?? 0,
      timeNs: columns.timeNs?.[i] ?? -1,
      keys: columns.keys.slice(start, end),
      values: columns.values.slice(start, end),
    });
  }
  return lines;
}

function columnsOf(source: LogGroupColumns, lines: Line[]): LogGroupColumns {
  const times = new Uint32Array(lines.length);
  const timeNs = source.timeNs === undefined ? undefined : new Float64Array(lines.length);
  const fieldStart = new Uint32Array(lines.length + 1);
  const keys: string[] = [];
  const values: string[] = [];
  lines.forEach((line, i) => {
    times[i] = line.time;
    if (timeNs !== undefined) timeNs[i] = line.timeNs;
    fieldStart[i] = keys.length;
    keys.push(...line.keys);
    values.push(...line.values);
  });
  fieldStart[lines.length] = keys.length;
  return {
    topic: source.topic,
    source: source.source,
    tags: source.tags,
    times,
    timeNs,
    fieldStart,
    keys,
    values,
  };
}

function contentValue(line: Line, key: string): string | undefined {
  const position = line.keys.indexOf(key);
  return position < 0 ? undefined : line.values[position];
}

/** `extend`: a NULL result removes the field (unverified: SPL may keep it empty). */
function setField(line: Line, name: string, value: SqlValue): void {
  const position = line.keys.indexOf(name);
  if (value === null) {
    if (position >= 0) {
      line.keys.splice(position, 1);
      line.values.splice(position, 1);
    }
    return;
  }
  const text = String(value);
  if (position >= 0) line.values[position] = text;
  else {
    line.keys.push(name);
    line.values.push(text);
  }
}

/** A line as the query engine's expressions read it (the same names as LogStore's rows). */
class LineRow implements LogRow {
  readonly time: number;

  constructor(
    private readonly line: Line,
    private readonly group: StoredGroup,
  ) {
    this.time = line.time;
  }

  get(key: string): string | undefined {
    const own = contentValue(this.line, key);
    if (own !== undefined || !key.startsWith("__")) return own;
    const columns = this.group.columns;
    if (key === "__time__") return String(this.line.time);
    if (key === "__source__") return columns.source;
    if (key === "__topic__") return columns.topic;
    if (key === "__time_ns_part__") return this.line.timeNs >= 0 ? String(this.line.timeNs) : undefined;
    if (!key.startsWith("__tag__:")) return undefined;
    const tag = key.slice("__tag__:".length);
    if (tag === receiveTimeTag) return String(this.group.receiveTime);
    const tags = columns.tags;
    for (let i = 0; i + 1 < tags.length; i += 2) if (tags[i] === tag) return tags[i + 1];
    return undefined;
  }

  *entries(): Iterable<readonly [string, string]> {
    for (let i = 0; i < this.line.keys.length; i += 1) {
      yield [this.line.keys[i] ?? "", this.line.values[i] ?? ""];
    }
  }
}

// ---- lexical helpers ----------------------------------------------------------------------------

/** Splits at `separator` outside quotes and parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charAt(i);
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      continue;
    }
    if (char === "'" || char === '"') quote = char;
    else if (char === "(") depth += 1;
    else if (char === ")") depth -= 1;
    else if (char === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quote !== undefined) throw new SplError(`unterminated ${quote} in ${JSON.stringify(text.trim())}`);
  parts.push(text.slice(start));
  return parts;
}

/** `name = expression` (a single `=`, not `==`). */
function parseAssignment(text: string): { name: string; value: string } {
  const match = /^\s*("(?:[^"]|"")*"|[^=\s"]+)\s*=(?!=)([\s\S]*)$/.exec(text);
  const value = match?.[2]?.trim() ?? "";
  if (match?.[1] === undefined || value === "") {
    throw new SplError(`expected name = expression, got ${JSON.stringify(text.trim())}`);
  }
  return { name: parseName(match[1]), value };
}

/** A field name, bare or double-quoted (`""` inside quotes is one `"`). */
function parseName(text: string): string {
  const trimmed = text.trim();
  if (/^"(?:[^"]|"")*"$/.test(trimmed)) return trimmed.slice(1, -1).replaceAll('""', '"');
  if (/^[^\s"',()|=]+$/.test(trimmed)) return trimmed;
  throw new SplError(`not a field name: ${JSON.stringify(trimmed)}`);
}
