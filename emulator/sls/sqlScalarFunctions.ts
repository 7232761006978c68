/**
 * The scalar (per-row) functions the emulator's SQL knows: the binary ones `verify` uses to tell a
 * line's copies from other lines at the same position (`to_hex(md5(to_utf8(content)))`). Presto's
 * signatures, as Alibaba's "Binary functions" and "String functions" pages list them for SQL:
 * `to_utf8(varchar) → varbinary`, `md5(varbinary) → varbinary`, `to_hex(varbinary) → varchar`
 * (upper-case hex). A call with the wrong argument type fails as Presto fails it.
 *
 * A VARBINARY value is carried as its lower-case hex digits; only its type says it is binary, and
 * it prints as Base64, as SLS shows a binary result.
 */
import { createHash } from "node:crypto";
import type { SqlValue } from "./querySqlParser";

export type ScalarType = "varchar" | "varbinary";

interface ScalarFunction {
  parameter: ScalarType;
  returns: ScalarType;
  apply(value: string): string;
}

const scalarFunctions = new Map<string, ScalarFunction>([
  [
    "to_utf8",
    {
      parameter: "varchar",
      returns: "varbinary",
      apply: (text) => Buffer.from(text, "utf8").toString("hex"),
    },
  ],
  [
    "md5",
    {
      parameter: "varbinary",
      returns: "varbinary",
      apply: (hex) => createHash("md5").update(Buffer.from(hex, "hex")).digest("hex"),
    },
  ],
  ["to_hex", { parameter: "varbinary", returns: "varchar", apply: (hex) => hex.toUpperCase() }],
]);

export function scalarFunction(name: string): ScalarFunction | undefined {
  return scalarFunctions.get(name);
}

/** Applies a scalar function to its argument's value: NULL in, NULL out (Presto's rule). */
export function applyScalar(fn: ScalarFunction, value: SqlValue): SqlValue {
  if (value === null) return null;
  return fn.apply(String(value));
}

/** How SLS prints a VARBINARY: Base64 of its bytes. */
export function formatBinary(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}
