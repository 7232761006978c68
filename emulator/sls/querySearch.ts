import type { LogRow } from "./logRows";
import { queryErrors } from "./queryErrors";
import {
  type Delimiters,
  type FullTextIndex,
  maxQueryDepth,
  maxQueryTokens,
  type QueryIndex,
} from "./queryIndex";

/** A compiled search statement: whether one stored line matches. */
export type RowPredicate = (row: LogRow) => boolean;

/** The search statement (before `|`) as parsed; positions are 1-based columns in the query text. */
export type SearchNode =
  | { kind: "all" }
  | { kind: "and" | "or"; left: SearchNode; right: SearchNode }
  | { kind: "not"; operand: SearchNode }
  | { kind: "term"; key: string | undefined; value: string; quoted: boolean; column: number }
  | { kind: "range"; key: string; op: RangeOp; value: number; column: number };

export type RangeOp = "=" | ">" | ">=" | "<" | "<=";

interface Token {
  kind: "word" | "quoted" | "(" | ")" | ":" | RangeOp;
  text: string;
  /** 1-based column of the token's first character. */
  column: number;
}

const wordBreak = /[\s()":<>=]/;

function lex(text: string, offset: number): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text.charAt(index);
    const column = offset + index + 1;
    if (/\s/.test(char)) {
      index += 1;
    } else if (char === "(" || char === ")" || char === ":") {
      tokens.push({ kind: char, text: char, column });
      index += 1;
    } else if (char === "<" || char === ">" || char === "=") {
      const op = text.charAt(index + 1) === "=" && char !== "=" ? `${char}=` : char;
      tokens.push({ kind: op as RangeOp, text: op, column });
      index += op.length;
    } else if (char === '"') {
      let value = "";
      let end = index + 1;
      while (end < text.length && text.charAt(end) !== '"') {
        if (text.charAt(end) === "\\" && end + 1 < text.length) end += 1;
        value += text.charAt(end);
        end += 1;
      }
      if (end >= text.length) throw queryErrors.searchSyntax(column, offset + text.length, '"');
      tokens.push({ kind: "quoted", text: value, column });
      index = end + 1;
    } else {
      let end = index;
      while (end < text.length && !wordBreak.test(text.charAt(end))) end += 1;
      tokens.push({ kind: "word", text: text.slice(index, end), column });
      index = end;
    }
  }
  return tokens;
}

/** Parses a search statement; `offset` is where it starts in the whole query (for error columns). */
export function parseSearch(text: string, offset = 0): SearchNode {
  const tokens = mergeTagKeys(lex(text, offset));
  if (tokens.length > maxQueryTokens) throw queryErrors.tooComplex(maxQueryTokens, maxQueryDepth);
  let position = 0;
  let depth = 0;
  const enter = (): void => {
    depth += 1;
    if (depth > maxQueryDepth) throw queryErrors.tooComplex(maxQueryTokens, maxQueryDepth);
  };
  const endColumn = offset + text.length;

  const peek = (): Token | undefined => tokens[position];
  const keyword = (token: Token | undefined, word: string): boolean =>
    token?.kind === "word" && token.text.toLowerCase() === word;
  const fail = (token: Token | undefined): never => {
    if (token === undefined) throw queryErrors.searchSyntax(endColumn, endColumn, "<EOF>");
    throw queryErrors.searchSyntax(token.column, token.column + token.text.length, token.text);
  };

  function parseOr(): SearchNode {
    let left = parseAnd();
    while (keyword(peek(), "or")) {
      position += 1;
      left = { kind: "or", left, right: parseAnd() };
    }
    return left;
  }

  function parseAnd(): SearchNode {
    let left = parseNot();
    for (;;) {
      const next = peek();
      if (next === undefined || next.kind === ")" || keyword(next, "or")) return left;
      if (keyword(next, "and")) position += 1;
      left = { kind: "and", left, right: parseNot() };
    }
  }

  function parseNot(): SearchNode {
    if (keyword(peek(), "not")) {
      position += 1;
      enter();
      const operand = parseNot();
      depth -= 1;
      return { kind: "not", operand };
    }
    return parsePrimary();
  }

  function parsePrimary(): SearchNode {
    const token = peek();
    if (token === undefined) return fail(token);
    position += 1;
    if (token.kind === "(") {
      enter();
      const inner = parseOr();
      if (peek()?.kind !== ")") fail(peek());
      position += 1;
      depth -= 1;
      return inner;
    }
    if (token.kind === "quoted")
      return { kind: "term", key: undefined, value: token.text, quoted: true, column: token.column };
    if (token.kind !== "word" || isOperatorWord(token.text)) return fail(token);
    const next = peek();
    if (next?.kind === ":") {
      position += 1;
      const value = peek();
      if (value === undefined || (value.kind !== "word" && value.kind !== "quoted")) return fail(value);
      if (value.kind === "word" && isOperatorWord(value.text)) return fail(value);
      position += 1;
      return {
        kind: "term",
        key: token.text,
        value: value.text,
        quoted: value.kind === "quoted",
        column: token.column,
      };
    }
    if (next !== undefined && isRangeOp(next.kind)) {
      position += 1;
      const value = peek();
      const number = value?.kind === "word" ? Number(value.text) : Number.NaN;
      if (value === undefined || value.text === "" || Number.isNaN(number)) return fail(value);
      position += 1;
      return {
        kind: "range",
        key: token.text,
        op: next.kind as RangeOp,
        value: number,
        column: token.column,
      };
    }
    if (token.text === "*") return { kind: "all" };
    return { kind: "term", key: undefined, value: token.text, quoted: false, column: token.column };
  }

  if (tokens.length === 0) return { kind: "all" };
  const tree = parseOr();
  if (position < tokens.length) fail(peek());
  return tree;
}

function isOperatorWord(text: string): boolean {
  const lower = text.toLowerCase();
  return lower === "and" || lower === "or" || lower === "not";
}

function isRangeOp(kind: Token["kind"]): boolean {
  return kind === "=" || kind === ">" || kind === ">=" || kind === "<" || kind === "<=";
}

/** `__tag__` `:` `__path__` is one key, `__tag__:__path__`, when a `:` and a value follow. */
function mergeTagKeys(tokens: Token[]): Token[] {
  const merged: Token[] = [];
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index];
    const colon = tokens[index + 1];
    const name = tokens[index + 2];
    if (token === undefined) continue;
    if (
      token.kind === "word" &&
      token.text === "__tag__" &&
      colon?.kind === ":" &&
      name?.kind === "word" &&
      tokens[index + 3]?.kind === ":"
    ) {
      merged.push({ kind: "word", text: `__tag__:${name.text}`, column: token.column });
      index += 2;
    } else {
      merged.push(token);
    }
  }
  return merged;
}

/** Compiles a parsed search against the logstore's index; index errors surface here, before any scan. */
export function compileSearch(node: SearchNode, index: QueryIndex): RowPredicate | undefined {
  switch (node.kind) {
    case "all":
      return undefined;
    case "and": {
      const left = compileSearch(node.left, index);
      const right = compileSearch(node.right, index);
      if (left === undefined) return right;
      if (right === undefined) return left;
      return (row) => left(row) && right(row);
    }
    case "or": {
      const left = compileSearch(node.left, index);
      const right = compileSearch(node.right, index);
      if (left === undefined || right === undefined) return undefined;
      return (row) => left(row) || right(row);
    }
    case "not": {
      const operand = compileSearch(node.operand, index);
      if (operand === undefined) return () => false;
      return (row) => !operand(row);
    }
    case "range":
      return compileRange(node.key, node.op, node.value, index);
    case "term":
      return node.key === undefined
        ? compileFullText(node.value, index.fullText)
        : compileFieldTerm(node.key, node.value, index);
  }
}

function compileFieldTerm(key: string, value: string, index: QueryIndex): RowPredicate {
  const field = index.field(key);
  if (field === undefined) throw queryErrors.keyNotIndexed(key);
  if (field.kind === "long" || field.kind === "double") {
    const wanted = Number(value);
    if (value.trim() === "" || Number.isNaN(wanted)) return () => false;
    return (row) => numberOf(row, key) === wanted;
  }
  if (value === "*") return (row) => (row.get(key) ?? "") !== "";
  const matcher = tokenMatcher(value, field.delimiters, field.caseSensitive);
  return (row) => {
    const text = row.get(key);
    return text !== undefined && matcher(text);
  };
}

function compileRange(key: string, op: RangeOp, value: number, index: QueryIndex): RowPredicate {
  const field = index.field(key);
  if (field === undefined) throw queryErrors.keyNotIndexed(key);
  if (field.kind !== "long" && field.kind !== "double") throw queryErrors.keyNotNumeric(key);
  const compare = numberComparison(op, value);
  return (row) => {
    const number = numberOf(row, key);
    return number !== undefined && compare(number);
  };
}

function numberComparison(op: RangeOp, value: number): (number: number) => boolean {
  switch (op) {
    case "=":
      return (number) => number === value;
    case ">":
      return (number) => number > value;
    case ">=":
      return (number) => number >= value;
    case "<":
      return (number) => number < value;
    case "<=":
      return (number) => number <= value;
  }
}

function numberOf(row: LogRow, key: string): number | undefined {
  if (key === "__time__") return row.time;
  const text = row.get(key);
  if (text === undefined || text.trim() === "") return undefined;
  const number = Number(text);
  return Number.isNaN(number) ? undefined : number;
}

/**
 * A bare word: with a full-text index, any token of any content field (not tags, `__time__`,
 * `__source__`, `__topic__`; `include_keys` / `exclude_keys` honoured). Without one, nothing matches.
 */
function compileFullText(value: string, fullText: FullTextIndex | undefined): RowPredicate {
  if (fullText === undefined) return () => false;
  const matcher = tokenMatcher(value, fullText.delimiters, fullText.caseSensitive);
  const { includeKeys, excludeKeys } = fullText;
  return (row) => {
    for (const [key, text] of row.entries()) {
      if (key.startsWith("__") && isReserved(key)) continue;
      if (includeKeys !== undefined && !includeKeys.has(key)) continue;
      if (excludeKeys.has(key)) continue;
      if (matcher(text)) return true;
    }
    return false;
  };
}

function isReserved(key: string): boolean {
  return key.startsWith("__tag__:") || key === "__time__" || key === "__source__" || key === "__topic__";
}

/**
 * Whether a text holds every token of the searched value as a whole token (SLS: a value with
 * delimiters is its tokens, all required, in any order). A trailing `*` makes the last one a prefix.
 * Scans with indexOf and checks the neighbours are delimiters: no per-row token arrays.
 */
export function tokenMatcher(
  value: string,
  delimiters: Delimiters,
  caseSensitive: boolean,
): (text: string) => boolean {
  const prefix = value.endsWith("*");
  const raw = prefix ? value.slice(0, -1) : value;
  const terms = delimiters.split(caseSensitive ? raw : raw.toLowerCase());
  if (terms.length === 0) return prefix ? (text) => text !== "" : () => false;
  const last = terms.length - 1;
  return (original) => {
    const text = caseSensitive ? original : original.toLowerCase();
    for (let term = 0; term < terms.length; term += 1) {
      const wanted = terms[term] ?? "";
      if (!containsToken(text, wanted, delimiters, prefix && term === last)) return false;
    }
    return true;
  };
}

function containsToken(text: string, term: string, delimiters: Delimiters, prefix: boolean): boolean {
  let at = text.indexOf(term);
  while (at >= 0) {
    const end = at + term.length;
    const startsToken = at === 0 || delimiters.has(text.charCodeAt(at - 1));
    const endsToken = prefix || end === text.length || delimiters.has(text.charCodeAt(end));
    if (startsToken && endsToken) return true;
    at = text.indexOf(term, at + 1);
  }
  return false;
}
