/**
 * The scalar (per-row) functions the emulator's SQL knows: the binary ones `verify` uses to tell a
 * line's copies from other lines at the same position (`to_hex(md5(to_utf8(content)))`), and
 * `length`, which the handover uses for where a read ended (`length(to_utf8(content))`: bytes).
 * Presto's signatures, as Alibaba's "Binary functions" and "String functions" pages list them for
 * SQL: `to_utf8(varchar) → varbinary`, `md5(varbinary) → varbinary`, `to_hex(varbinary) → varchar`
 * (upper-case hex), `length(varchar) → bigint` (characters), `length(varbinary) → bigint` (bytes).
 * A call with the wrong argument type fails as Presto fails it.
 *
 * A VARBINARY value is carried as its lower-case hex digits; only its type says it is binary, and
 * it prints as Base64, as SLS shows a binary result.
 */
import { createHash } from "node:crypto";
import type { SqlValue } from "./querySqlParser";

export type ScalarType = "varchar" | "varbinary" | "bigint";

export interface ScalarOverload {
  parameter: ScalarType;
  returns: ScalarType;
  apply(value: string): SqlValue;
}

interface ScalarFunction {
  /** The argument types it takes (one argument), each with what it returns. */
  overloads: readonly ScalarOverload[];
}

const one = (
  parameter: ScalarType,
  returns: ScalarType,
  apply: (value: string) => SqlValue,
): ScalarFunction => ({
  overloads: [{ parameter, returns, apply }],
});

const scalarFunctions = new Map<string, ScalarFunction>([
  ["to_utf8", one("varchar", "varbinary", (text) => Buffer.from(text, "utf8").toString("hex"))],
  [
    "md5",
    one("varbinary", "varbinary", (hex) => createHash("md5").update(Buffer.from(hex, "hex")).digest("hex")),
  ],
  ["to_hex", one("varbinary", "varchar", (hex) => hex.toUpperCase())],
  [
    "length",
    {
      overloads: [
        { parameter: "varchar", returns: "bigint", apply: (text) => [...text].length },
        { parameter: "varbinary", returns: "bigint", apply: (hex) => hex.length / 2 },
      ],
    },
  ],
]);

export function scalarFunction(name: string): ScalarFunction | undefined {
  return scalarFunctions.get(name);
}

/** The overload for an argument of this type; a NULL literal (`unknown`) takes the first. */
export function scalarOverload(fn: ScalarFunction, argument: string): ScalarOverload | undefined {
  return fn.overloads.find((overload) => overload.parameter === argument || argument === "unknown");
}

/** Applies a scalar function to its argument's value: NULL in, NULL out (Presto's rule). */
export function applyScalar(overload: ScalarOverload, value: SqlValue): SqlValue {
  if (value === null) return null;
  return overload.apply(String(value));
}

/** How SLS prints a VARBINARY: Base64 of its bytes. */
export function formatBinary(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}
