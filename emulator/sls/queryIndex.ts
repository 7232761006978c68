import { queryErrors } from "./queryErrors";
import type { IndexBody } from "./schemas";

/** Bounds on a query's size, so that no query text can exhaust the stack (parse, compile or run). */
export const maxQueryTokens = 4_096;
export const maxQueryDepth = 100;

/** SLS's default delimiters (console and API default of `token`). */
export const defaultDelimiters: readonly string[] = [
  ",",
  " ",
  "'",
  '"',
  ";",
  "=",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "?",
  "@",
  "&",
  "<",
  ">",
  "/",
  ":",
  "\n",
  "\t",
  "\r",
];

/** A set of delimiter characters, tested by char code without allocating. */
export class Delimiters {
  private readonly ascii = new Uint8Array(128);
  private readonly other = new Set<number>();

  constructor(tokens: readonly string[]) {
    for (const token of tokens) {
      // SLS takes each entry as one character; escaped forms ("\\n") are sent already decoded.
      for (const char of token) {
        const code = char.charCodeAt(0);
        if (code < 128) this.ascii[code] = 1;
        else this.other.add(code);
      }
    }
  }

  has(code: number): boolean {
    return code < 128 ? this.ascii[code] === 1 : this.other.has(code);
  }

  /** The tokens of a text: the runs between delimiters, empty runs dropped. */
  split(text: string): string[] {
    const tokens: string[] = [];
    let start = 0;
    for (let index = 0; index <= text.length; index += 1) {
      if (index === text.length || this.has(text.charCodeAt(index))) {
        if (index > start) tokens.push(text.slice(start, index));
        start = index + 1;
      }
    }
    return tokens;
  }
}

export type FieldKind = "text" | "long" | "double" | "json";

/** How one key is indexed: what a search on it and SQL over it may do. */
export interface FieldIndex {
  readonly kind: FieldKind;
  readonly delimiters: Delimiters;
  readonly caseSensitive: boolean;
  /** `doc_value: true`: the key may be used in SQL. */
  readonly analytic: boolean;
}

export interface FullTextIndex {
  readonly delimiters: Delimiters;
  readonly caseSensitive: boolean;
  readonly includeKeys: ReadonlySet<string> | undefined;
  readonly excludeKeys: ReadonlySet<string>;
}

/** A logstore's index as the query engine reads it. */
export interface QueryIndex {
  readonly fullText: FullTextIndex | undefined;
  field(name: string): FieldIndex | undefined;
}

const defaultDelimiterSet = new Delimiters(defaultDelimiters);

/**
 * Reserved fields every indexed logstore can search and analyse without a key config:
 * `__topic__` and `__source__` (text, whole values as SLS indexes them) and `__time__` (long).
 * Tags (`__tag__:…`) need a key config like any field.
 */
const reservedFields: ReadonlyMap<string, FieldIndex> = new Map<string, FieldIndex>([
  ["__topic__", { kind: "text", delimiters: new Delimiters([]), caseSensitive: false, analytic: true }],
  ["__source__", { kind: "text", delimiters: new Delimiters([]), caseSensitive: false, analytic: true }],
  ["__time__", { kind: "long", delimiters: defaultDelimiterSet, caseSensitive: false, analytic: true }],
]);

/** The index of a logstore; no index config means no query at all (`IndexConfigNotExist`). */
export function queryIndexOf(body: IndexBody | undefined): QueryIndex {
  if (body === undefined) throw queryErrors.indexConfigNotExist();
  const fields = new Map<string, FieldIndex>();
  for (const [name, config] of Object.entries(body.keys ?? {})) fields.set(name, fieldIndexOf(config));
  const line = body.line;
  const fullText: FullTextIndex | undefined =
    line === undefined
      ? undefined
      : {
          delimiters: new Delimiters(line.token),
          caseSensitive: line.caseSensitive ?? false,
          includeKeys: stringSet(line.include_keys),
          excludeKeys: stringSet(line.exclude_keys) ?? new Set<string>(),
        };
  return {
    fullText,
    field: (name) => fields.get(name) ?? reservedFields.get(name),
  };
}

function fieldIndexOf(config: Readonly<Record<string, unknown>>): FieldIndex {
  const type = config.type;
  const kind: FieldKind = type === "long" || type === "double" || type === "json" ? type : "text";
  const token = config.token;
  const tokens = Array.isArray(token) ? token.filter((item): item is string => typeof item === "string") : [];
  return {
    kind,
    delimiters: tokens.length === 0 ? defaultDelimiterSet : new Delimiters(tokens),
    caseSensitive: config.caseSensitive === true,
    // The official Node SDK serialises IndexKey inside the `keys` map without its wire names, so it
    // sends `docValue`; other clients send `doc_value`. Both count (what the live service does with
    // `docValue` is unverified).
    analytic: config.doc_value === true || config.docValue === true,
  };
}

function stringSet(value: unknown): ReadonlySet<string> | undefined {
  if (!Array.isArray(value)) return undefined;
  return new Set(value.filter((item): item is string => typeof item === "string"));
}
