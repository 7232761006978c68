import type { LogRow } from "./logRows";
import { queryErrors } from "./queryErrors";
import type { QueryIndex } from "./queryIndex";
import type { RowPredicate } from "./querySearch";
import type { BinaryOp, SelectStatement, SqlExpr, SqlValue } from "./querySqlParser";
import { applyScalar, scalarFunction, scalarOverload } from "./sqlScalarFunctions";

/** SLS answers at most this many SQL rows unless the statement says `LIMIT`. */
export const defaultSqlLimit = 100;

/** A compiled analytic statement: run over the rows the search selected. */
export interface CompiledSql {
  readonly columns: readonly string[] | undefined;
  /** The default limit when the statement has no `LIMIT` (GetLogsV2 reports it as `meta.limited`). */
  readonly defaultLimit: number | undefined;
  run(rows: Iterable<LogRow>, search: RowPredicate | undefined): SqlResult;
}

/** Presto's types as far as the engine needs them: integer arithmetic and how doubles print. */
export type SqlType = "bigint" | "double" | "varchar" | "varbinary" | "boolean" | "unknown";

export interface SqlResult {
  columns: string[];
  /** Per column: a DOUBLE prints with a fraction (`2.0`), as Presto does. */
  types: SqlType[];
  rows: SqlValue[][];
  processedRows: number;
}

type RowFn = (row: LogRow) => SqlValue;

interface Group {
  keys: SqlValue[];
  aggregates: Aggregate[];
}

type GroupFn = (group: Group) => SqlValue;

interface Aggregate {
  add(row: LogRow): void;
  result(): SqlValue;
}

const aggregateNames = new Set(["count", "min", "max", "sum", "avg", "approx_distinct", "arbitrary"]);

/** Compiles a parsed statement against the index once; a scan then only calls closures. */
export function compileSql(statement: SelectStatement, index: QueryIndex): CompiledSql {
  const grouped =
    statement.groupBy.length > 0 ||
    statement.items.some((item) => item.expr !== undefined && containsAggregate(item.expr)) ||
    (statement.having !== undefined && containsAggregate(statement.having));
  const columnOf = (expr: SqlExpr): RowFn => compileRow(expr, index);
  const where = statement.where === undefined ? undefined : whereOf(statement.where, columnOf);
  const limit = statement.limit ?? defaultSqlLimit;
  const { offset } = statement;
  const names = outputNames(statement);
  const compiled = grouped
    ? compileGrouped(statement, index, where, names, limit, offset)
    : compilePlain(statement, index, where, names, limit, offset);
  return { ...compiled, defaultLimit: statement.limit === undefined ? defaultSqlLimit : undefined };
}

function whereOf(expr: SqlExpr, columnOf: (expr: SqlExpr) => RowFn): RowPredicate {
  const aggregate = findAggregate(expr);
  if (aggregate !== undefined) throw queryErrors.aggregateInClause(aggregate.column, "WHERE");
  const condition = columnOf(expr);
  return (row) => condition(row) === true;
}

function outputNames(statement: SelectStatement): (string | undefined)[] {
  return statement.items.map((item, position) => {
    if (item.expr === undefined) return undefined;
    if (item.alias !== undefined) return item.alias;
    return item.expr.kind === "column" ? item.expr.name : `_col${position}`;
  });
}

// ---- plain SELECT (no aggregation) ------------------------------------------------------------

function compilePlain(
  statement: SelectStatement,
  index: QueryIndex,
  where: RowPredicate | undefined,
  names: (string | undefined)[],
  limit: number,
  offset: number,
): Omit<CompiledSql, "defaultLimit"> {
  const star = statement.items.some((item) => item.expr === undefined);
  const types = statement.items.map((item) =>
    item.expr === undefined ? "varchar" : typeOf(item.expr, index),
  );
  const projections = statement.items.map((item) =>
    item.expr === undefined ? undefined : compileRow(item.expr, index),
  );
  const sortKeys = statement.orderBy.map((order) => ({
    key: orderKeyRow(order.expr, statement, names, projections, index),
    descending: order.descending,
  }));
  return {
    columns: star ? undefined : names.map((name) => name ?? ""),
    run(rows, search) {
      let processedRows = 0;
      const out: { values: SqlValue[]; keys: SqlValue[]; extra: Map<string, string> | undefined }[] = [];
      const wanted = sortKeys.length === 0 ? offset + limit : Number.POSITIVE_INFINITY;
      for (const row of rows) {
        processedRows += 1;
        if (out.length >= wanted) continue;
        if (search !== undefined && !search(row)) continue;
        if (where !== undefined && !where(row)) continue;
        out.push({
          values: projections.map((projection) => (projection === undefined ? null : projection(row))),
          keys: sortKeys.map((sort) => sort.key(row)),
          extra: star ? new Map(row.entries()) : undefined,
        });
      }
      sortRows(out, sortKeys);
      const page = out.slice(offset, offset + limit);
      if (!star) {
        return {
          columns: names.map((name) => name ?? ""),
          types,
          rows: page.map((item) => item.values),
          processedRows,
        };
      }
      return expandStar(page, names, types, processedRows);
    },
  };
}

/** `SELECT *`: every field of each row, in first-seen order, where the `*` stands. */
function expandStar(
  page: { values: SqlValue[]; extra: Map<string, string> | undefined }[],
  names: (string | undefined)[],
  types: SqlType[],
  processedRows: number,
): SqlResult {
  const starKeys: string[] = [];
  const seen = new Set<string>();
  for (const item of page) {
    for (const key of item.extra?.keys() ?? []) {
      if (!seen.has(key)) {
        seen.add(key);
        starKeys.push(key);
      }
    }
  }
  const columns = names.flatMap((name) => (name === undefined ? starKeys : [name]));
  const columnTypes = names.flatMap((name, position): SqlType[] =>
    name === undefined ? starKeys.map((): SqlType => "varchar") : [types[position] ?? "unknown"],
  );
  const rows = page.map((item) =>
    names.flatMap((name, position) =>
      name === undefined
        ? starKeys.map((key) => item.extra?.get(key) ?? null)
        : [item.values[position] ?? null],
    ),
  );
  return { columns, types: columnTypes, rows, processedRows };
}

function orderKeyRow(
  expr: SqlExpr,
  statement: SelectStatement,
  names: (string | undefined)[],
  projections: (RowFn | undefined)[],
  index: QueryIndex,
): RowFn {
  const position = outputPosition(expr, statement, names);
  const projection = position === undefined ? undefined : projections[position];
  return projection ?? compileRow(expr, index);
}

/** An ORDER BY / GROUP BY item that names an output column: an alias or a 1-based ordinal. */
function outputPosition(
  expr: SqlExpr,
  statement: SelectStatement,
  names: (string | undefined)[],
): number | undefined {
  if (expr.kind === "literal" && typeof expr.value === "number") {
    const position = expr.value - 1;
    if (!Number.isInteger(position) || position < 0 || position >= statement.items.length) {
      throw queryErrors.sqlSyntax(expr.column, String(expr.value), "<select item ordinal>");
    }
    return position;
  }
  if (expr.kind === "column") {
    const position = statement.items.findIndex(
      (item) => item.alias !== undefined && item.alias === expr.name,
    );
    if (position >= 0) return position;
    const byName = names.indexOf(expr.name);
    return byName >= 0 ? byName : undefined;
  }
  return undefined;
}

// ---- aggregation ------------------------------------------------------------------------------

function compileGrouped(
  statement: SelectStatement,
  index: QueryIndex,
  where: RowPredicate | undefined,
  names: (string | undefined)[],
  limit: number,
  offset: number,
): Omit<CompiledSql, "defaultLimit"> {
  // GROUP BY items: expressions over rows; an alias or ordinal stands for its select expression.
  const groupExprs = statement.groupBy.map((expr) => {
    const position =
      expr.kind === "literal" || isAliasOnly(expr, statement, index)
        ? outputPosition(expr, statement, names)
        : undefined;
    const item = position === undefined ? undefined : statement.items[position];
    const resolved = item?.expr ?? expr;
    const aggregate = findAggregate(resolved);
    if (aggregate !== undefined) throw queryErrors.aggregateInClause(aggregate.column, "GROUP BY");
    return resolved;
  });
  const groupKeys = groupExprs.map((expr) => compileRow(expr, index));
  const groupSignatures = groupExprs.map(signature);
  const factories: (() => Aggregate)[] = [];
  const context: GroupContext = { index, groupSignatures, factories };

  const projections = statement.items.map((item) => {
    if (item.expr === undefined) throw queryErrors.notInGroupBy(1, "*");
    return compileGroup(item.expr, context);
  });
  const types = statement.items.map((item) =>
    item.expr === undefined ? "unknown" : typeOf(item.expr, index),
  );
  const having = statement.having === undefined ? undefined : compileGroup(statement.having, context);
  const sortKeys = statement.orderBy.map((order) => {
    const position = outputPosition(order.expr, statement, names);
    const projection = position === undefined ? undefined : projections[position];
    return { key: projection ?? compileGroup(order.expr, context), descending: order.descending };
  });
  const keyCount = groupKeys.length;
  const single = groupKeys[0];

  return {
    columns: names.map((name) => name ?? ""),
    run(rows, search) {
      let processedRows = 0;
      const groups = new Map<unknown, Group>();
      const newGroup = (keys: SqlValue[]): Group => ({
        keys,
        aggregates: factories.map((factory) => factory()),
      });
      const only: Group | undefined = keyCount === 0 ? newGroup([]) : undefined;
      for (const row of rows) {
        processedRows += 1;
        if (search !== undefined && !search(row)) continue;
        if (where !== undefined && !where(row)) continue;
        let group: Group | undefined = only;
        if (group === undefined) {
          if (keyCount === 1 && single !== undefined) {
            const key = single(row);
            group = groups.get(key);
            if (group === undefined) {
              group = newGroup([key]);
              groups.set(key, group);
            }
          } else {
            const keys = groupKeys.map((key) => key(row));
            const composite = keys.map(compositePart).join("\u0001");
            group = groups.get(composite);
            if (group === undefined) {
              group = newGroup(keys);
              groups.set(composite, group);
            }
          }
        }
        for (const aggregate of group.aggregates) aggregate.add(row);
      }
      const all = only !== undefined ? [only] : [...groups.values()];
      const out: { values: SqlValue[]; keys: SqlValue[] }[] = [];
      for (const group of all) {
        if (having !== undefined && having(group) !== true) continue;
        out.push({
          values: projections.map((projection) => projection(group)),
          keys: sortKeys.map((sort) => sort.key(group)),
        });
      }
      sortRows(out, sortKeys);
      return {
        columns: names.map((name) => name ?? ""),
        types,
        rows: out.slice(offset, offset + limit).map((item) => item.values),
        processedRows,
      };
    },
  };
}

/** A GROUP BY identifier that is a select alias and not an analysable column of the logstore. */
function isAliasOnly(expr: SqlExpr, statement: SelectStatement, index: QueryIndex): boolean {
  if (expr.kind !== "column") return false;
  const field = index.field(expr.name);
  if (field?.analytic === true) return false;
  return statement.items.some((item) => item.alias === expr.name);
}

function compositePart(value: SqlValue): string {
  return value === null ? "n" : `${typeof value === "number" ? "d" : "s"}${String(value)}`;
}

interface GroupContext {
  index: QueryIndex;
  groupSignatures: string[];
  factories: (() => Aggregate)[];
}

/** An expression evaluated once per group: aggregates, GROUP BY expressions, constants. */
function compileGroup(expr: SqlExpr, context: GroupContext): GroupFn {
  const keyPosition = context.groupSignatures.indexOf(signature(expr));
  if (keyPosition >= 0) return (group) => group.keys[keyPosition] ?? null;
  switch (expr.kind) {
    case "literal": {
      const { value } = expr;
      return () => value;
    }
    case "column":
      throw queryErrors.notInGroupBy(expr.column, expr.name);
    case "call": {
      if (!aggregateNames.has(expr.name)) {
        const fn = checkedScalar(expr, context.index);
        const argument = compileGroup(expr.args[0] as SqlExpr, context);
        return (group) => applyScalar(fn, argument(group));
      }
      const slot = context.factories.length;
      context.factories.push(aggregateFactory(expr, context.index));
      return (group) => group.aggregates[slot]?.result() ?? null;
    }
    case "negate":
    case "not": {
      const operand = compileGroup(expr.operand, context);
      return expr.kind === "negate" ? (group) => negate(operand(group)) : (group) => not(operand(group));
    }
    case "binary": {
      const left = compileGroup(expr.left, context);
      const right = compileGroup(expr.right, context);
      const op = binary(expr.op, integerOperands(expr, context.index));
      return (group) => op(left(group), right(group));
    }
    case "in": {
      const operand = compileGroup(expr.operand, context);
      const list = expr.list.map((item) => compileGroup(item, context));
      return (group) =>
        inList(
          operand(group),
          list.map((item) => item(group)),
          expr.negated,
        );
    }
    case "like": {
      const operand = compileGroup(expr.operand, context);
      const matches = likeMatcher(expr.pattern);
      return (group) => like(operand(group), matches, expr.negated);
    }
    case "isNull": {
      const operand = compileGroup(expr.operand, context);
      return (group) => (operand(group) === null) !== expr.negated;
    }
    case "cast": {
      const operand = compileGroup(expr.operand, context);
      return (group) => castValue(operand(group), expr.type);
    }
    case "between": {
      const operand = compileGroup(expr.operand, context);
      const low = compileGroup(expr.low, context);
      const high = compileGroup(expr.high, context);
      return (group) => between(operand(group), low(group), high(group), expr.negated);
    }
  }
}

function aggregateFactory(expr: Extract<SqlExpr, { kind: "call" }>, index: QueryIndex): () => Aggregate {
  for (const arg of expr.args) {
    const nested = findAggregate(arg);
    if (nested !== undefined) throw queryErrors.nestedAggregate(nested.column);
  }
  const argument = expr.args[0];
  if (expr.star || argument === undefined) {
    if (expr.name !== "count") throw queryErrors.sqlSyntax(expr.column, expr.name, "<expression>");
    return () => new CountAll();
  }
  const value = compileRow(argument, index);
  if ((expr.name === "sum" || expr.name === "avg") && argument.kind === "column") {
    const field = index.field(argument.name);
    if (field !== undefined && field.kind !== "long" && field.kind !== "double") {
      throw queryErrors.keyNotNumeric(argument.name);
    }
  }
  switch (expr.name) {
    case "count":
      return expr.distinct ? () => new CountDistinct(value) : () => new CountValues(value);
    case "approx_distinct":
      return () => new CountDistinct(value);
    case "min":
      return () => new Extreme(value, -1);
    case "max":
      return () => new Extreme(value, 1);
    case "sum":
      return () => new Sum(value, false);
    case "avg":
      return () => new Sum(value, true);
    default:
      return () => new Arbitrary(value);
  }
}

class CountAll implements Aggregate {
  private count = 0;
  add(): void {
    this.count += 1;
  }
  result(): SqlValue {
    return this.count;
  }
}

class CountValues implements Aggregate {
  private count = 0;
  constructor(private readonly value: RowFn) {}
  add(row: LogRow): void {
    if (this.value(row) !== null) this.count += 1;
  }
  result(): SqlValue {
    return this.count;
  }
}

class CountDistinct implements Aggregate {
  private readonly seen = new Set<SqlValue>();
  constructor(private readonly value: RowFn) {}
  add(row: LogRow): void {
    const value = this.value(row);
    if (value !== null) this.seen.add(value);
  }
  result(): SqlValue {
    return this.seen.size;
  }
}

class Extreme implements Aggregate {
  private best: SqlValue = null;
  constructor(
    private readonly value: RowFn,
    private readonly direction: 1 | -1,
  ) {}
  add(row: LogRow): void {
    const value = this.value(row);
    if (value === null) return;
    if (this.best === null || compareForSort(value, this.best) * this.direction > 0) this.best = value;
  }
  result(): SqlValue {
    return this.best;
  }
}

class Sum implements Aggregate {
  private total = 0;
  private count = 0;
  constructor(
    private readonly value: RowFn,
    private readonly average: boolean,
  ) {}
  add(row: LogRow): void {
    const number = toNumber(this.value(row));
    if (number === null) return;
    this.total += number;
    this.count += 1;
  }
  result(): SqlValue {
    if (this.count === 0) return null;
    return this.average ? this.total / this.count : this.total;
  }
}

class Arbitrary implements Aggregate {
  private chosen: SqlValue = null;
  constructor(private readonly value: RowFn) {}
  add(row: LogRow): void {
    if (this.chosen === null) this.chosen = this.value(row);
  }
  result(): SqlValue {
    return this.chosen;
  }
}

// ---- row expressions --------------------------------------------------------------------------

/** An expression over one stored line. Columns must be indexed with analytics (`doc_value`). */
function compileRow(expr: SqlExpr, index: QueryIndex): RowFn {
  switch (expr.kind) {
    case "literal": {
      const { value } = expr;
      return () => value;
    }
    case "column":
      return columnAccessor(expr.name, expr.column, index);
    case "call": {
      if (aggregateNames.has(expr.name)) throw queryErrors.aggregateInClause(expr.column, "WHERE");
      const fn = checkedScalar(expr, index);
      const argument = compileRow(expr.args[0] as SqlExpr, index);
      return (row) => applyScalar(fn, argument(row));
    }
    case "negate": {
      const operand = compileRow(expr.operand, index);
      return (row) => negate(operand(row));
    }
    case "not": {
      const operand = compileRow(expr.operand, index);
      return (row) => not(operand(row));
    }
    case "binary": {
      const left = compileRow(expr.left, index);
      const right = compileRow(expr.right, index);
      const op = binary(expr.op, integerOperands(expr, index));
      return (row) => op(left(row), right(row));
    }
    case "in": {
      const operand = compileRow(expr.operand, index);
      if (expr.list.every((item) => item.kind === "literal")) {
        const constants = expr.list.map((item) => (item.kind === "literal" ? item.value : null));
        return (row) => inList(operand(row), constants, expr.negated);
      }
      const list = expr.list.map((item) => compileRow(item, index));
      return (row) =>
        inList(
          operand(row),
          list.map((item) => item(row)),
          expr.negated,
        );
    }
    case "like": {
      const operand = compileRow(expr.operand, index);
      const matches = likeMatcher(expr.pattern);
      return (row) => like(operand(row), matches, expr.negated);
    }
    case "isNull": {
      const operand = compileRow(expr.operand, index);
      return (row) => (operand(row) === null) !== expr.negated;
    }
    case "cast": {
      const operand = compileRow(expr.operand, index);
      return (row) => castValue(operand(row), expr.type);
    }
    case "between": {
      const operand = compileRow(expr.operand, index);
      const low = compileRow(expr.low, index);
      const high = compileRow(expr.high, index);
      return (row) => between(operand(row), low(row), high(row), expr.negated);
    }
  }
}

function columnAccessor(name: string, column: number, index: QueryIndex): RowFn {
  const field = index.field(name);
  if (field === undefined || !field.analytic) throw queryErrors.columnNotResolved(column, name);
  if (name === "__time__") return (row) => row.time;
  if (field.kind === "long" || field.kind === "double") {
    return (row) => {
      const text = row.get(name);
      if (text === undefined || text.trim() === "") return null;
      const number = Number(text);
      return Number.isNaN(number) ? null : number;
    };
  }
  return (row) => row.get(name) ?? null;
}

/** The overload of a scalar function call for its one argument, or the error Presto answers. */
function checkedScalar(expr: Extract<SqlExpr, { kind: "call" }>, index: QueryIndex) {
  const fn = scalarFunction(expr.name);
  if (fn === undefined) throw queryErrors.functionNotRegistered(expr.column, expr.name);
  const types = expr.args.map((argument) => typeOf(argument, index));
  const [only] = types;
  const overload = only === undefined || types.length !== 1 ? undefined : scalarOverload(fn, only);
  if (expr.star || expr.distinct || overload === undefined)
    throw queryErrors.unexpectedParameters(
      expr.column,
      expr.name,
      types,
      fn.overloads.map((candidate) => candidate.parameter).join(" | "),
    );
  return overload;
}

// ---- operators --------------------------------------------------------------------------------

/** BIGINT op BIGINT stays BIGINT in Presto: `/` truncates (`__time__ / 60 * 60` buckets by minute). */
function integerOperands(expr: Extract<SqlExpr, { kind: "binary" }>, index: QueryIndex): boolean {
  return typeOf(expr.left, index) === "bigint" && typeOf(expr.right, index) === "bigint";
}

function binary(op: BinaryOp, integer: boolean): (left: SqlValue, right: SqlValue) => SqlValue {
  switch (op) {
    case "and":
      return (left, right) => {
        if (left === false || right === false) return false;
        return left === null || right === null ? null : true;
      };
    case "or":
      return (left, right) => {
        if (left === true || right === true) return true;
        return left === null || right === null ? null : false;
      };
    case "=":
      return (left, right) => compareOrNull(left, right, (order) => order === 0);
    case "!=":
      return (left, right) => compareOrNull(left, right, (order) => order !== 0);
    case "<":
      return (left, right) => compareOrNull(left, right, (order) => order < 0);
    case "<=":
      return (left, right) => compareOrNull(left, right, (order) => order <= 0);
    case ">":
      return (left, right) => compareOrNull(left, right, (order) => order > 0);
    case ">=":
      return (left, right) => compareOrNull(left, right, (order) => order >= 0);
    case "+":
      return arithmetic((left, right) => left + right);
    case "-":
      return arithmetic((left, right) => left - right);
    case "*":
      return arithmetic((left, right) => left * right);
    case "/":
      return arithmetic((left, right) =>
        right === 0 ? Number.NaN : integer ? Math.trunc(left / right) : left / right,
      );
    case "%":
      return arithmetic((left, right) => (right === 0 && integer ? Number.NaN : left % right));
  }
}

function arithmetic(
  apply: (left: number, right: number) => number,
): (left: SqlValue, right: SqlValue) => SqlValue {
  return (left, right) => {
    const a = toNumber(left);
    const b = toNumber(right);
    if (a === null || b === null) return null;
    const result = apply(a, b);
    return Number.isNaN(result) ? null : result;
  };
}

/**
 * `cast(x as t)`: text to a number when it is one (else null, as `try_cast` — Presto fails the
 * query for `cast`; here both give null), a number to text as Presto prints it.
 */
function castValue(value: SqlValue, type: "bigint" | "double" | "varchar"): SqlValue {
  if (value === null) return null;
  if (type === "varchar") return typeof value === "string" ? value : String(value);
  const number =
    typeof value === "number" ? value : typeof value === "boolean" ? Number(value) : Number(value.trim());
  if (typeof value === "string" && value.trim() === "") return null;
  if (!Number.isFinite(number)) return null;
  return type === "bigint" ? Math.trunc(number) : number;
}

function negate(value: SqlValue): SqlValue {
  const number = toNumber(value);
  return number === null ? null : -number;
}

function not(value: SqlValue): SqlValue {
  return value === null ? null : value !== true;
}

function toNumber(value: SqlValue): number | null {
  if (typeof value === "number") return value;
  if (typeof value !== "string" || value.trim() === "") return null;
  const number = Number(value);
  return Number.isNaN(number) ? null : number;
}

/**
 * The comparison rule: numbers compare as numbers; a number against text compares numerically when
 * the text is a number, and is NULL (no match) when it is not; text against text compares as strings.
 */
export function compareValues(left: SqlValue, right: SqlValue): number | null {
  if (left === null || right === null) return null;
  if (typeof left === "number" || typeof right === "number") {
    const a = toNumber(left);
    const b = toNumber(right);
    if (a === null || b === null) return null;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const a = String(left);
  const b = String(right);
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareOrNull(left: SqlValue, right: SqlValue, test: (order: number) => boolean): SqlValue {
  const order = compareValues(left, right);
  return order === null ? null : test(order);
}

function inList(value: SqlValue, list: readonly SqlValue[], negated: boolean): SqlValue {
  if (value === null) return null;
  let sawNull = false;
  for (const item of list) {
    const order = compareValues(value, item);
    if (order === 0) return !negated;
    if (order === null) sawNull = true;
  }
  return sawNull && list.includes(null) ? null : negated;
}

function likeMatcher(pattern: SqlExpr): (text: string) => boolean {
  if (pattern.kind !== "literal" || typeof pattern.value !== "string") {
    throw queryErrors.sqlSyntax(pattern.column, "<expression>", "<string literal>");
  }
  const source = [...pattern.value]
    .map((char) => (char === "%" ? ".*" : char === "_" ? "." : char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  const regex = new RegExp(`^${source}$`, "s");
  return (text) => regex.test(text);
}

function like(value: SqlValue, matches: (text: string) => boolean, negated: boolean): SqlValue {
  if (value === null) return null;
  return matches(String(value)) !== negated;
}

function between(value: SqlValue, low: SqlValue, high: SqlValue, negated: boolean): SqlValue {
  const above = compareValues(value, low);
  const below = compareValues(value, high);
  if (above === null || below === null) return null;
  return (above >= 0 && below <= 0) !== negated;
}

/** Order for ORDER BY, MIN and MAX: NULLs last, then {@link compareValues}, then type name. */
function compareForSort(left: SqlValue, right: SqlValue): number {
  if (left === null || right === null) return left === right ? 0 : left === null ? 1 : -1;
  const order = compareValues(left, right);
  if (order !== null) return order;
  const a = typeof left === "number" ? 0 : 1;
  const b = typeof right === "number" ? 0 : 1;
  return a - b;
}

function sortRows(rows: { keys: SqlValue[] }[], sortKeys: readonly { descending: boolean }[]): void {
  if (sortKeys.length === 0) return;
  rows.sort((a, b) => {
    for (let position = 0; position < sortKeys.length; position += 1) {
      const left = a.keys[position] ?? null;
      const right = b.keys[position] ?? null;
      if (left === null || right === null) {
        if (left !== right) return left === null ? 1 : -1;
        continue;
      }
      const order = compareForSort(left, right);
      if (order !== 0) return sortKeys[position]?.descending === true ? -order : order;
    }
    return 0;
  });
}

/** The static type of an expression, as Presto would type it (enough for arithmetic and printing). */
export function typeOf(expr: SqlExpr, index: QueryIndex): SqlType {
  switch (expr.kind) {
    case "literal":
      if (typeof expr.value === "number") return expr.double === true ? "double" : "bigint";
      if (typeof expr.value === "string") return "varchar";
      return typeof expr.value === "boolean" ? "boolean" : "unknown";
    case "column": {
      if (expr.name === "__time__") return "bigint";
      const kind = index.field(expr.name)?.kind;
      return kind === "long" ? "bigint" : kind === "double" ? "double" : "varchar";
    }
    case "call": {
      const scalar = scalarFunction(expr.name);
      if (scalar !== undefined) {
        const [argument] = expr.args;
        return (
          scalarOverload(scalar, argument === undefined ? "unknown" : typeOf(argument, index))?.returns ??
          "unknown"
        );
      }
      const argument = expr.args[0];
      const argumentType = argument === undefined ? "unknown" : typeOf(argument, index);
      switch (expr.name) {
        case "count":
        case "approx_distinct":
          return "bigint";
        case "avg":
          return "double";
        case "sum":
          return argumentType === "bigint" ? "bigint" : "double";
        default:
          return argumentType;
      }
    }
    case "negate":
      return typeOf(expr.operand, index);
    case "cast":
      return expr.type;
    case "binary":
      if (["+", "-", "*", "/", "%"].includes(expr.op)) {
        return typeOf(expr.left, index) === "bigint" && typeOf(expr.right, index) === "bigint"
          ? "bigint"
          : "double";
      }
      return "boolean";
    default:
      return "boolean";
  }
}

// ---- tree helpers -----------------------------------------------------------------------------

function containsAggregate(expr: SqlExpr): boolean {
  return findAggregate(expr) !== undefined;
}

function findAggregate(expr: SqlExpr): SqlExpr | undefined {
  switch (expr.kind) {
    case "call":
      return aggregateNames.has(expr.name) ? expr : firstOf(expr.args);
    case "literal":
    case "column":
      return undefined;
    case "negate":
    case "not":
    case "isNull":
    case "cast":
      return findAggregate(expr.operand);
    case "binary":
      return findAggregate(expr.left) ?? findAggregate(expr.right);
    case "in":
      return findAggregate(expr.operand) ?? firstOf(expr.list);
    case "like":
      return findAggregate(expr.operand) ?? findAggregate(expr.pattern);
    case "between":
      return findAggregate(expr.operand) ?? findAggregate(expr.low) ?? findAggregate(expr.high);
  }
}

function firstOf(exprs: readonly SqlExpr[]): SqlExpr | undefined {
  for (const expr of exprs) {
    const found = findAggregate(expr);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A position-free rendering, to recognise a GROUP BY expression where the select list repeats it. */
function signature(expr: SqlExpr): string {
  switch (expr.kind) {
    case "literal":
      return `lit(${typeof expr.value}:${String(expr.value)})`;
    case "column":
      return `col(${expr.name})`;
    case "call":
      return `${expr.name}(${expr.distinct ? "distinct " : ""}${expr.star ? "*" : expr.args.map(signature).join(",")})`;
    case "negate":
    case "not":
      return `${expr.kind}(${signature(expr.operand)})`;
    case "binary":
      return `(${signature(expr.left)} ${expr.op} ${signature(expr.right)})`;
    case "in":
      return `in(${expr.negated},${signature(expr.operand)},${expr.list.map(signature).join(",")})`;
    case "like":
      return `like(${expr.negated},${signature(expr.operand)},${signature(expr.pattern)})`;
    case "isNull":
      return `isnull(${expr.negated},${signature(expr.operand)})`;
    case "cast":
      return `cast(${signature(expr.operand)},${expr.type})`;
    case "between":
      return `between(${expr.negated},${signature(expr.operand)},${signature(expr.low)},${signature(expr.high)})`;
  }
}
