/**
 * The part of Serverless Devs' variable syntax the deploy needs: `${vars.name}` (nested paths too),
 * `${env(NAME)}` / `${env('NAME', 'default')}` and `${config('AccountID')}`. A value that is one
 * expression keeps the type of what it refers to (`memorySize: ${vars.memory}` stays a number);
 * inside a longer string it is interpolated. Anything else is refused with the path of the value,
 * rather than passed through as a literal `${…}` that would fail later and far away.
 */
import { isJsonObject } from "../../shared/util/json";
import { ServerlessSpecError } from "./errors";

export interface VariableSources {
  /** The environment `${env(…)}` reads: passed in, never read from process.env here. */
  env: Readonly<Record<string, string | undefined>>;
  /** What `${config('AccountID')}` and friends return (the `s config` access of the deploy). */
  config?: Readonly<Record<string, string>>;
  vars?: unknown;
}

const EXPRESSION = /\$\{([^}]*)\}/g;
const WHOLE = /^\$\{([^}]*)\}$/;

export function substituteVariables(
  value: unknown,
  sources: VariableSources,
  file: string,
  path = "",
): unknown {
  if (typeof value === "string") return substituteString(value, sources, file, path);
  if (Array.isArray(value)) {
    return value.map((item, index) => substituteVariables(item, sources, file, `${path}[${index}]`));
  }
  if (isJsonObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = substituteVariables(item, sources, file, path ? `${path}.${key}` : key);
    }
    return out;
  }
  return value;
}

function substituteString(text: string, sources: VariableSources, file: string, path: string): unknown {
  const whole = WHOLE.exec(text);
  if (whole?.[1] !== undefined) return evaluate(whole[1], sources, file, path);
  return text.replace(EXPRESSION, (_match, expression: string) => {
    const result = evaluate(expression, sources, file, path);
    if (typeof result === "object" && result !== null) {
      throw new ServerlessSpecError(
        file,
        path,
        `\${${expression}} is not a scalar and cannot be interpolated`,
      );
    }
    return String(result);
  });
}

function evaluate(expression: string, sources: VariableSources, file: string, path: string): unknown {
  const text = expression.trim();
  const fail = (reason: string): never => {
    throw new ServerlessSpecError(file, path, `\${${text}}: ${reason}`);
  };
  const call = /^(env|config)\(\s*(.*?)\s*\)$/.exec(text);
  if (call?.[1] !== undefined) {
    const args = splitArguments(call[2] ?? "");
    const name = args[0];
    if (name === undefined || name === "") return fail("names no variable");
    if (call[1] === "config") {
      return sources.config?.[name] ?? fail(`no value for config ${name} (pass it to the loader)`);
    }
    return sources.env[name] ?? args[1] ?? fail(`environment variable ${name} is not set and has no default`);
  }
  if (text.startsWith("vars.")) {
    let current: unknown = sources.vars;
    for (const key of text.slice("vars.".length).split(".")) {
      current = isJsonObject(current) ? current[key] : undefined;
    }
    return current ?? fail("no such variable under vars");
  }
  return fail("unsupported expression (supported: vars.x, env(NAME[, default]), config(Name))");
}

/** `'A', "b", c` → [A, b, c]. */
function splitArguments(text: string): string[] {
  if (text === "") return [];
  return text.split(",").map((arg) => arg.trim().replace(/^(['"])(.*)\1$/, "$2"));
}
