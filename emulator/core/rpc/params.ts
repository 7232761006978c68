import { gatewayErrors, RpcError } from "./errors";

/**
 * The parameters of one RPC call (query string and form body merged; the body wins), with typed
 * readers that answer a malformed value with the gateway's error instead of guessing.
 */
export class RpcParams {
  constructor(private readonly values: ReadonlyMap<string, string>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  entries(): IterableIterator<[string, string]> {
    return this.values.entries();
  }

  optional(name: string): string | undefined {
    const value = this.values.get(name);
    return value === undefined || value === "" ? undefined : value;
  }

  required(name: string): string {
    const value = this.optional(name);
    if (value === undefined) throw gatewayErrors.missingParameter(name);
    return value;
  }

  integer(name: string, bounds: { min?: number; max?: number } = {}): number | undefined {
    const text = this.optional(name);
    if (text === undefined) return undefined;
    if (!/^-?\d+$/.test(text)) throw gatewayErrors.invalidParameter(name, "It must be an integer.");
    const value = Number(text);
    if (
      (bounds.min !== undefined && value < bounds.min) ||
      (bounds.max !== undefined && value > bounds.max)
    ) {
      throw gatewayErrors.invalidParameter(
        name,
        `It must be between ${bounds.min ?? "-∞"} and ${bounds.max ?? "∞"}.`,
      );
    }
    return value;
  }

  boolean(name: string): boolean | undefined {
    const text = this.optional(name);
    if (text === undefined) return undefined;
    if (text === "true") return true;
    if (text === "false") return false;
    throw gatewayErrors.invalidParameter(name, "It must be true or false.");
  }

  /** `Name.1`, `Name.2`, … (the RPC "repeat list" encoding), in index order. */
  list(name: string): string[] {
    return this.indexed(name)
      .map(([, suffix]) => this.values.get(`${name}.${suffix}`) ?? "")
      .filter((value) => value !== "");
  }

  /** `Name.N.Field` groups, e.g. `Tag.1.Key` / `Tag.1.Value`, in index order. */
  objects<F extends string>(name: string, fields: readonly F[]): Array<Partial<Record<F, string>>> {
    const indexes = new Set<number>();
    const pattern = new RegExp(`^${escapeRegExp(name)}\\.(\\d+)\\.(${fields.map(escapeRegExp).join("|")})$`);
    for (const key of this.values.keys()) {
      const match = pattern.exec(key);
      if (match !== null) indexes.add(Number(match[1]));
    }
    return [...indexes]
      .sort((a, b) => a - b)
      .map((index) => {
        const entry: Partial<Record<F, string>> = {};
        for (const field of fields) {
          const value = this.values.get(`${name}.${index}.${field}`);
          if (value !== undefined) entry[field] = value;
        }
        return entry;
      });
  }

  /** A parameter carrying a JSON array of strings (e.g. `InstanceIds=["i-1","i-2"]`). */
  jsonStringArray(name: string): string[] | undefined {
    const text = this.optional(name);
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw gatewayErrors.invalidParameter(name, "It must be a JSON array.");
    }
    if (!Array.isArray(parsed) || !parsed.every((item): item is string => typeof item === "string")) {
      throw gatewayErrors.invalidParameter(name, "It must be a JSON array of strings.");
    }
    return parsed;
  }

  /** A parameter carrying a JSON object (e.g. `Parameters={"name":"value"}`). */
  jsonObject(name: string): Record<string, unknown> | undefined {
    const text = this.optional(name);
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw gatewayErrors.invalidParameter(name, "It must be a JSON object.");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw gatewayErrors.invalidParameter(name, "It must be a JSON object.");
    }
    return Object.fromEntries(Object.entries(parsed));
  }

  private indexed(name: string): Array<[number, string]> {
    const pattern = new RegExp(`^${escapeRegExp(name)}\\.(\\d+)$`);
    const found: Array<[number, string]> = [];
    for (const key of this.values.keys()) {
      const match = pattern.exec(key);
      if (match?.[1] !== undefined) found.push([Number(match[1]), match[1]]);
    }
    return found.sort((a, b) => a[0] - b[0]);
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export { RpcError };
