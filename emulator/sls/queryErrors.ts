import { SlsError } from "./errors";

/**
 * The errors GetLogs / GetLogsV2 / GetHistograms answer, as the real service words them. Parameter
 * errors are from the GetLogs API reference; query errors are `400 ParameterInvalid` with the message
 * texts the live service returns (SLS's "SQL error center" and errors quoted by its users): the older
 * reference's `InvalidQueryString` is not what the service answers today.
 */
export const queryErrors = {
  indexConfigNotExist: () => new SlsError(400, "IndexConfigNotExist", "logstore without index config"),
  invalidTimeRange: () => new SlsError(400, "InvalidTimeRange", "request time range is invalid"),
  invalidLine: () => new SlsError(400, "InvalidLine", "line is invalid"),
  invalidOffset: () => new SlsError(400, "InvalidOffset", "offset is invalid"),
  invalidReverse: () => new SlsError(400, "InvalidReverse", "Reverse value is invalid"),

  /** A search statement that does not parse; columns are 1-based in the whole query text. */
  searchSyntax: (from: number, to: number, near: string) =>
    new SlsError(
      400,
      "ParameterInvalid",
      `ErrorType:QueryParseError.ErrorMessage:syntax error error position is from column:${from} to column:${to},error near < ${near} >`,
    ),
  /** `key: value` on a key without a field index. */
  keyNotIndexed: (key: string) =>
    new SlsError(
      400,
      "ParameterInvalid",
      `key (${key}) is not config as key value config,if symbol : is in your log,please wrap : with quotation mark "`,
    ),
  /** A numeric operation (range search, sum, avg) on a key not indexed as long or double. */
  keyNotNumeric: (key: string) =>
    new SlsError(400, "ParameterInvalid", `key (${key}) is not config as numberic column`),

  /** SQL errors carry Presto's `line 1:<column>:` prefix, the column 1-based in the SQL text. */
  sqlSyntax: (column: number, near: string, expecting: string) =>
    new SlsError(
      400,
      "ParameterInvalid",
      `line 1:${column}: mismatched input '${near}' expecting ${expecting}`,
    ),
  columnNotResolved: (column: number, name: string) =>
    new SlsError(
      400,
      "ParameterInvalid",
      `line 1:${column}: Column '${name}' cannot be resolved;please add the column in the index attribute`,
    ),
  notInGroupBy: (column: number, name: string) =>
    new SlsError(
      400,
      "ParameterInvalid",
      `line 1:${column}: Column '${name}' not in GROUP BY clause;please add the column in the index attribute`,
    ),
  functionNotRegistered: (column: number, name: string) =>
    new SlsError(400, "ParameterInvalid", `line 1:${column}: Function ${name} not registered`),
  unexpectedParameters: (column: number, name: string, given: readonly string[], expected: string) =>
    new SlsError(
      400,
      "ParameterInvalid",
      `line 1:${column}: Unexpected parameters (${given.join(", ")}) for function ${name}. Expected: ${name}(${expected})`,
    ),
  aggregateInClause: (column: number, clause: "WHERE" | "GROUP BY") =>
    new SlsError(
      400,
      "ParameterInvalid",
      `line 1:${column}: ${clause} clause cannot contain aggregations or window functions`,
    ),
  nestedAggregate: (column: number) =>
    new SlsError(400, "ParameterInvalid", `line 1:${column}: Cannot nest aggregations inside aggregation`),
  /** The emulator's own bound (the live service's limits and wording are unverified). */
  tooComplex: (maxTokens: number, maxDepth: number) =>
    new SlsError(
      400,
      "ParameterInvalid",
      `query is too complex: more than ${maxTokens} tokens or ${maxDepth} levels of nesting`,
    ),
  /** `| select` without a search statement before it. */
  sqlWithoutSearch: () =>
    new SlsError(400, "ParameterInvalid", "sql query must follow search query,please read syntex doc"),
};
