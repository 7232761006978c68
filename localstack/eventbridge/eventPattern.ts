/**
 * Alibaba Cloud EventBridge event patterns (help.aliyun.com "Event patterns", doc 181432): a JSON
 * object with the event's nesting; keys are ANDed, the values in a field's array are ORed. A leaf
 * condition is an exact value (string, number, boolean, null, "") or an operator object: `prefix`,
 * `suffix`, `contains`, `anything-but` (value, list, `{prefix}` or `{suffix}`), `numeric`
 * (`[">", 0, "<=", 5]`), `cidr` (IPv4), `exists`. Several operators in one object must all hold
 * (`{"prefix": "acs:oss:", "suffix": ".txt"}` is in Alibaba's own example). When the event's value
 * is an array, the condition holds when it holds for any element. Matching is case-sensitive and
 * never rewrites strings.
 */
import { isJsonObject, type JsonObject } from "../../shared/util/json";
import { EventPatternError } from "./errors";

export type EventMatcher = (event: unknown) => boolean;

type Leaf = (value: unknown, present: boolean) => boolean;

const NUMERIC_OPERATORS = new Set(["=", "<", "<=", ">", ">="]);

/** Validates a pattern (object or JSON text) and returns its matcher. Throws EventPatternError. */
export function compileEventPattern(pattern: unknown): EventMatcher {
  const parsed = typeof pattern === "string" ? parsePatternText(pattern) : pattern;
  if (!isJsonObject(parsed)) throw new EventPatternError("", "a pattern is a JSON object");
  const matchObject = compileObject(parsed, "");
  return (event) => isJsonObject(event) && matchObject(event);
}

/** Convenience for one-off checks (tests, the FC runtime's trigger filter). */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  return compileEventPattern(pattern)(event);
}

function parsePatternText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EventPatternError("", `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function compileObject(pattern: JsonObject, path: string): (event: JsonObject) => boolean {
  const fields = Object.entries(pattern).map(([key, condition]) => {
    const fieldPath = path ? `${path}.${key}` : key;
    if (Array.isArray(condition)) {
      if (condition.length === 0) throw new EventPatternError(fieldPath, "an empty list matches nothing");
      const leaves = condition.map((item, index) => compileLeaf(item, `${fieldPath}[${index}]`));
      return (event: JsonObject) => {
        const present = Object.hasOwn(event, key);
        const value = event[key];
        return leaves.some((leaf) => leaf(value, present));
      };
    }
    if (isJsonObject(condition)) {
      const nested = compileObject(condition, fieldPath);
      return (event: JsonObject) => {
        const value = event[key];
        return isJsonObject(value) && nested(value);
      };
    }
    throw new EventPatternError(fieldPath, "a field's condition is a list of values or a nested object");
  });
  return (event) => fields.every((field) => field(event));
}

function compileLeaf(condition: unknown, path: string): Leaf {
  if (condition === null || ["string", "number", "boolean"].includes(typeof condition)) {
    return (value, present) => present && anyElement(value, (item) => item === condition);
  }
  if (!isJsonObject(condition))
    throw new EventPatternError(path, "a value is a scalar or an operator object");
  const operators = Object.entries(condition);
  if (operators.length === 0) throw new EventPatternError(path, "an empty operator object");
  if (Object.hasOwn(condition, "exists")) {
    if (operators.length > 1)
      throw new EventPatternError(path, "exists cannot be combined with other operators");
    const exists = condition.exists;
    if (typeof exists !== "boolean")
      throw new EventPatternError(`${path}.exists`, "exists takes true or false");
    return (_value, present) => present === exists;
  }
  const tests = operators.map(([name, argument]) => compileOperator(name, argument, `${path}.${name}`));
  return (value, present) => present && anyElement(value, (item) => tests.every((test) => test(item)));
}

function compileOperator(name: string, argument: unknown, path: string): (value: unknown) => boolean {
  switch (name) {
    case "prefix": {
      const prefix = requireString(argument, path);
      return (value) => typeof value === "string" && value.startsWith(prefix);
    }
    case "suffix": {
      const suffix = requireString(argument, path);
      return (value) => typeof value === "string" && value.endsWith(suffix);
    }
    case "contains": {
      const part = requireString(argument, path);
      return (value) => typeof value === "string" && value.includes(part);
    }
    case "anything-but":
      return compileAnythingBut(argument, path);
    case "numeric":
      return compileNumeric(argument, path);
    case "cidr":
      return compileCidr(argument, path);
    default:
      throw new EventPatternError(path, `unknown operator ${JSON.stringify(name)}`);
  }
}

function compileAnythingBut(argument: unknown, path: string): (value: unknown) => boolean {
  if (isJsonObject(argument)) {
    const entries = Object.entries(argument);
    const [first] = entries;
    if (entries.length !== 1 || first === undefined || (first[0] !== "prefix" && first[0] !== "suffix")) {
      throw new EventPatternError(path, "anything-but takes a value, a list, {prefix} or {suffix}");
    }
    const inner = compileOperator(first[0], first[1], `${path}.${first[0]}`);
    return (value) => typeof value === "string" && !inner(value);
  }
  const excluded = Array.isArray(argument) ? argument : [argument];
  for (const [index, item] of excluded.entries()) {
    if (typeof item !== "string" && typeof item !== "number") {
      throw new EventPatternError(`${path}[${index}]`, "anything-but excludes strings or numbers");
    }
  }
  return (value) => (typeof value === "string" || typeof value === "number") && !excluded.includes(value);
}

function compileNumeric(argument: unknown, path: string): (value: unknown) => boolean {
  if (!Array.isArray(argument) || (argument.length !== 2 && argument.length !== 4)) {
    throw new EventPatternError(path, 'numeric takes [op, n] or [op, n, op, n], e.g. [">", 0, "<=", 5]');
  }
  const checks: Array<(n: number) => boolean> = [];
  for (let i = 0; i < argument.length; i += 2) {
    const op = argument[i];
    const bound = argument[i + 1];
    if (typeof op !== "string" || !NUMERIC_OPERATORS.has(op)) {
      throw new EventPatternError(`${path}[${i}]`, `unknown comparison ${JSON.stringify(op)}`);
    }
    if (typeof bound !== "number" || !Number.isFinite(bound)) {
      throw new EventPatternError(`${path}[${i + 1}]`, "a numeric bound is a number");
    }
    checks.push(comparison(op, bound));
  }
  return (value) => typeof value === "number" && checks.every((check) => check(value));
}

function comparison(op: string, bound: number): (n: number) => boolean {
  switch (op) {
    case "=":
      return (n) => n === bound;
    case "<":
      return (n) => n < bound;
    case "<=":
      return (n) => n <= bound;
    case ">":
      return (n) => n > bound;
    default:
      return (n) => n >= bound;
  }
}

function compileCidr(argument: unknown, path: string): (value: unknown) => boolean {
  const text = requireString(argument, path);
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text);
  const base = match?.[1] === undefined ? undefined : ipv4ToNumber(match[1]);
  const bits = Number(match?.[2]);
  if (base === undefined || !(bits >= 0 && bits <= 32)) {
    throw new EventPatternError(path, `${JSON.stringify(text)} is not an IPv4 CIDR block`);
  }
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (value) => {
    const address = typeof value === "string" ? ipv4ToNumber(value) : undefined;
    return address !== undefined && (address & mask) >>> 0 === (base & mask) >>> 0;
  };
}

function ipv4ToNumber(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let result = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    result = result * 256 + octet;
  }
  return result;
}

function requireString(argument: unknown, path: string): string {
  if (typeof argument !== "string") throw new EventPatternError(path, "takes a string");
  return argument;
}

function anyElement(value: unknown, test: (item: unknown) => boolean): boolean {
  return Array.isArray(value) ? value.some(test) : test(value);
}
