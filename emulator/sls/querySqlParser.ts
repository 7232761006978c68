import { queryErrors } from "./queryErrors";
import { maxQueryDepth, maxQueryTokens } from "./queryIndex";

/** A value in SQL evaluation: text, numbers, booleans of predicates, SQL NULL. */
export type SqlValue = string | number | boolean | null;

export type BinaryOp = "+" | "-" | "*" | "/" | "%" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "and" | "or";

/** The SQL expression tree; `column` is the 1-based column of the node in the SQL text. */
/** The types `cast(x as …)` converts to (Presto's names; integer types all become bigint). */
export type CastType = "bigint" | "double" | "varchar";

const castTypes = new Map<string, CastType>([
  ["bigint", "bigint"],
  ["integer", "bigint"],
  ["int", "bigint"],
  ["double", "double"],
  ["real", "double"],
  ["varchar", "varchar"],
]);

export type SqlExpr =
  /** `double`: a number literal written with a point or an exponent (Presto's DOUBLE, else BIGINT). */
  | { kind: "literal"; value: SqlValue; column: number; double?: boolean }
  | { kind: "column"; name: string; column: number }
  | { kind: "call"; name: string; args: SqlExpr[]; star: boolean; distinct: boolean; column: number }
  | { kind: "negate" | "not"; operand: SqlExpr; column: number }
  | { kind: "binary"; op: BinaryOp; left: SqlExpr; right: SqlExpr; column: number }
  | { kind: "in"; operand: SqlExpr; list: SqlExpr[]; negated: boolean; column: number }
  | { kind: "like"; operand: SqlExpr; pattern: SqlExpr; negated: boolean; column: number }
  | { kind: "isNull"; operand: SqlExpr; negated: boolean; column: number }
  | { kind: "cast"; operand: SqlExpr; type: CastType; orNull: boolean; column: number }
  | { kind: "between"; operand: SqlExpr; low: SqlExpr; high: SqlExpr; negated: boolean; column: number };

export interface SelectItem {
  /** `undefined` for `*`. */
  expr: SqlExpr | undefined;
  alias: string | undefined;
}

export interface OrderItem {
  expr: SqlExpr;
  descending: boolean;
}

export interface SelectStatement {
  items: SelectItem[];
  where: SqlExpr | undefined;
  groupBy: SqlExpr[];
  having: SqlExpr | undefined;
  orderBy: OrderItem[];
  limit: number | undefined;
  offset: number;
}

interface Token {
  kind: "ident" | "quotedIdent" | "string" | "number" | "punct" | "eof";
  text: string;
  column: number;
}

const punctuation = ["<>", "!=", "<=", ">=", ",", "(", ")", "*", "+", "-", "/", "%", "=", "<", ">", "."];

function lexSql(sql: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < sql.length) {
    const char = sql.charAt(index);
    const column = index + 1;
    if (/\s/.test(char)) {
      index += 1;
      continue;
    }
    if (/[A-Za-z_]/.test(char)) {
      let end = index + 1;
      while (end < sql.length && /[A-Za-z0-9_]/.test(sql.charAt(end))) end += 1;
      tokens.push({ kind: "ident", text: sql.slice(index, end), column });
      index = end;
      continue;
    }
    if (/[0-9]/.test(char) || (char === "." && /[0-9]/.test(sql.charAt(index + 1)))) {
      const match = /^[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?|^[0-9]+\.?/.exec(sql.slice(index));
      const text = match?.[0] ?? char;
      tokens.push({ kind: "number", text, column });
      index += text.length;
      continue;
    }
    if (char === "'" || char === '"') {
      let value = "";
      let end = index + 1;
      for (;;) {
        if (end >= sql.length) throw queryErrors.sqlSyntax(column, sql.slice(index), "<EOF>");
        const next = sql.charAt(end);
        if (next === char) {
          if (sql.charAt(end + 1) === char) {
            value += char;
            end += 2;
            continue;
          }
          break;
        }
        value += next;
        end += 1;
      }
      tokens.push({ kind: char === "'" ? "string" : "quotedIdent", text: value, column });
      index = end + 1;
      continue;
    }
    const op = punctuation.find((candidate) => sql.startsWith(candidate, index));
    if (op === undefined) throw queryErrors.sqlSyntax(column, char, "<expression>");
    tokens.push({ kind: "punct", text: op, column });
    index += op.length;
  }
  tokens.push({ kind: "eof", text: "<EOF>", column: sql.length + 1 });
  return tokens;
}

const reserved = new Set([
  "select",
  "from",
  "where",
  "group",
  "by",
  "having",
  "order",
  "limit",
  "and",
  "or",
  "not",
  "in",
  "like",
  "is",
  "null",
  "as",
  "asc",
  "desc",
  "between",
  "distinct",
  "true",
  "false",
  "offset",
]);

/** Parses the analytic statement after `|` (one `SELECT`; `FROM log` optional, as in SLS). */
export function parseSql(sql: string): SelectStatement {
  const tokens = lexSql(sql);
  if (tokens.length > maxQueryTokens) throw queryErrors.tooComplex(maxQueryTokens, maxQueryDepth);
  let position = 0;
  let depth = 0;
  /** Runs a nested parse one level deeper; past the bound the query is refused, not the stack. */
  const nested = <T>(parse: () => T): T => {
    depth += 1;
    if (depth > maxQueryDepth) throw queryErrors.tooComplex(maxQueryTokens, maxQueryDepth);
    const result = parse();
    depth -= 1;
    return result;
  };

  const peek = (ahead = 0): Token => tokens[Math.min(position + ahead, tokens.length - 1)] ?? eofOf(sql);
  const isKeyword = (token: Token, word: string): boolean =>
    token.kind === "ident" && token.text.toLowerCase() === word;
  const isPunct = (token: Token, text: string): boolean => token.kind === "punct" && token.text === text;
  const fail = (expecting: string): never => {
    const token = peek();
    throw queryErrors.sqlSyntax(token.column, token.text, expecting);
  };
  const acceptKeyword = (word: string): boolean => {
    if (!isKeyword(peek(), word)) return false;
    position += 1;
    return true;
  };
  const expectKeyword = (word: string): void => {
    if (!acceptKeyword(word)) fail(`'${word.toUpperCase()}'`);
  };
  const acceptPunct = (text: string): boolean => {
    if (!isPunct(peek(), text)) return false;
    position += 1;
    return true;
  };
  const expectPunct = (text: string): void => {
    if (!acceptPunct(text)) fail(`'${text}'`);
  };

  function parseStatement(): SelectStatement {
    expectKeyword("select");
    const items: SelectItem[] = [];
    do items.push(parseSelectItem());
    while (acceptPunct(","));
    if (acceptKeyword("from")) {
      const table = peek();
      if (table.kind !== "ident" && table.kind !== "quotedIdent") fail("<identifier>");
      position += 1;
    }
    const where = acceptKeyword("where") ? parseExpr() : undefined;
    const groupBy: SqlExpr[] = [];
    if (acceptKeyword("group")) {
      expectKeyword("by");
      do groupBy.push(parseExpr());
      while (acceptPunct(","));
    }
    const having = acceptKeyword("having") ? parseExpr() : undefined;
    const orderBy: OrderItem[] = [];
    if (acceptKeyword("order")) {
      expectKeyword("by");
      do {
        const expr = parseExpr();
        const descending = acceptKeyword("desc");
        if (!descending) acceptKeyword("asc");
        orderBy.push({ expr, descending });
      } while (acceptPunct(","));
    }
    let limit: number | undefined;
    let offset = 0;
    if (acceptKeyword("limit")) {
      const first = parseCount();
      if (acceptPunct(",")) {
        offset = first;
        limit = parseCount();
      } else {
        limit = first;
        if (acceptKeyword("offset")) offset = parseCount();
      }
    }
    if (peek().kind !== "eof") fail("<EOF>");
    return { items, where, groupBy, having, orderBy, limit, offset };
  }

  function parseCount(): number {
    const token = peek();
    const value = Number(token.text);
    if (token.kind !== "number" || !Number.isInteger(value) || value < 0) fail("<integer>");
    position += 1;
    return value;
  }

  function parseSelectItem(): SelectItem {
    if (isPunct(peek(), "*")) {
      position += 1;
      return { expr: undefined, alias: undefined };
    }
    const expr = parseExpr();
    if (acceptKeyword("as")) return { expr, alias: parseName() };
    const next = peek();
    if ((next.kind === "ident" && !reserved.has(next.text.toLowerCase())) || next.kind === "quotedIdent") {
      return { expr, alias: parseName() };
    }
    return { expr, alias: undefined };
  }

  function parseName(): string {
    const token = peek();
    if (token.kind === "quotedIdent" || token.kind === "string") {
      position += 1;
      return token.text;
    }
    if (token.kind === "ident" && !reserved.has(token.text.toLowerCase())) {
      position += 1;
      return token.text;
    }
    return fail("<identifier>");
  }

  function parseExpr(): SqlExpr {
    return parseOr();
  }

  function parseOr(): SqlExpr {
    let left = parseAnd();
    while (isKeyword(peek(), "or")) {
      const column = peek().column;
      position += 1;
      left = { kind: "binary", op: "or", left, right: parseAnd(), column };
    }
    return left;
  }

  function parseAnd(): SqlExpr {
    let left = parseNot();
    while (isKeyword(peek(), "and")) {
      const column = peek().column;
      position += 1;
      left = { kind: "binary", op: "and", left, right: parseNot(), column };
    }
    return left;
  }

  function parseNot(): SqlExpr {
    if (isKeyword(peek(), "not")) {
      const column = peek().column;
      position += 1;
      return { kind: "not", operand: nested(parseNot), column };
    }
    return parsePredicate();
  }

  function parsePredicate(): SqlExpr {
    const operand = parseAdditive();
    const column = operand.column;
    const token = peek();
    if (token.kind === "punct" && ["=", "!=", "<>", "<", "<=", ">", ">="].includes(token.text)) {
      position += 1;
      const op = (token.text === "<>" ? "!=" : token.text) as BinaryOp;
      return { kind: "binary", op, left: operand, right: parseAdditive(), column: token.column };
    }
    if (acceptKeyword("is")) {
      const negated = acceptKeyword("not");
      expectKeyword("null");
      return { kind: "isNull", operand, negated, column };
    }
    const negated =
      isKeyword(token, "not") && ["in", "like", "between"].some((word) => isKeyword(peek(1), word));
    if (negated) position += 1;
    if (acceptKeyword("in")) {
      expectPunct("(");
      const list: SqlExpr[] = [];
      do list.push(parseAdditive());
      while (acceptPunct(","));
      expectPunct(")");
      return { kind: "in", operand, list, negated, column };
    }
    if (acceptKeyword("like")) return { kind: "like", operand, pattern: parseAdditive(), negated, column };
    if (acceptKeyword("between")) {
      const low = parseAdditive();
      expectKeyword("and");
      return { kind: "between", operand, low, high: parseAdditive(), negated, column };
    }
    return operand;
  }

  function parseAdditive(): SqlExpr {
    let left = parseMultiplicative();
    for (;;) {
      const token = peek();
      if (!isPunct(token, "+") && !isPunct(token, "-")) return left;
      position += 1;
      left = {
        kind: "binary",
        op: token.text as BinaryOp,
        left,
        right: parseMultiplicative(),
        column: token.column,
      };
    }
  }

  function parseMultiplicative(): SqlExpr {
    let left = parseUnary();
    for (;;) {
      const token = peek();
      if (!isPunct(token, "*") && !isPunct(token, "/") && !isPunct(token, "%")) return left;
      position += 1;
      left = { kind: "binary", op: token.text as BinaryOp, left, right: parseUnary(), column: token.column };
    }
  }

  function parseUnary(): SqlExpr {
    const token = peek();
    if (isPunct(token, "-")) {
      position += 1;
      return { kind: "negate", operand: nested(parseUnary), column: token.column };
    }
    return parsePrimary();
  }

  function parsePrimary(): SqlExpr {
    const token = peek();
    const column = token.column;
    if (token.kind === "number") {
      position += 1;
      return { kind: "literal", value: Number(token.text), column, double: /[.eE]/.test(token.text) };
    }
    if (token.kind === "string") {
      position += 1;
      return { kind: "literal", value: token.text, column };
    }
    if (token.kind === "quotedIdent") {
      position += 1;
      return { kind: "column", name: token.text, column };
    }
    if (isPunct(token, "(")) {
      position += 1;
      const inner = nested(parseExpr);
      expectPunct(")");
      return inner;
    }
    if (token.kind === "ident") {
      const lower = token.text.toLowerCase();
      if (lower === "null") {
        position += 1;
        return { kind: "literal", value: null, column };
      }
      if (lower === "true" || lower === "false") {
        position += 1;
        return { kind: "literal", value: lower === "true", column };
      }
      if (isPunct(peek(1), "(")) {
        position += 2;
        return nested(() => parseCall(lower, column));
      }
      if (!reserved.has(lower)) {
        position += 1;
        return { kind: "column", name: token.text, column };
      }
    }
    return fail("<expression>");
  }

  function parseCall(name: string, column: number): SqlExpr {
    if (name === "cast" || name === "try_cast") {
      const operand = parseExpr();
      if (!acceptKeyword("as")) return fail("AS");
      const typeToken = peek();
      const type = typeToken.kind === "ident" ? castTypes.get(typeToken.text.toLowerCase()) : undefined;
      if (type === undefined) return fail("bigint, double or varchar");
      position += 1;
      expectPunct(")");
      return { kind: "cast", operand, type, orNull: name === "try_cast", column };
    }
    if (acceptPunct("*")) {
      expectPunct(")");
      return { kind: "call", name, args: [], star: true, distinct: false, column };
    }
    const distinct = acceptKeyword("distinct");
    const args: SqlExpr[] = [];
    if (!isPunct(peek(), ")")) {
      do args.push(parseExpr());
      while (acceptPunct(","));
    }
    expectPunct(")");
    return { kind: "call", name, args, star: false, distinct, column };
  }

  return parseStatement();
}

function eofOf(sql: string): Token {
  return { kind: "eof", text: "<EOF>", column: sql.length + 1 };
}
