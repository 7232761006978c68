/**
 * Where the local runtime finds the code of a deployed function — the one place that maps the
 * bundle s.yaml deploys to the TypeScript source it was built from:
 *
 * 1. `<code>/<file>.ts` exists (the code folder *is* source, as in test fixtures) → that file;
 * 2. `code` is `<base>/dist/<name>` → `<base>/functions/<name>/<file>.ts` (the bundle of
 *    `functions/<name>/` that `npm run package` writes to `dist/<name>/`);
 * 3. `<code>/<file>.js` exists (a bundle, e.g. to test the artifact itself) → that file.
 *
 * `<file>` and the export come from `handler` (`index.handler` → file `index`, export `handler`).
 */
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { HandlerLoadError } from "./errors";

export interface HandlerLocation {
  modulePath: string;
  exportName: string;
}

export function locateHandler(codeDir: string, handler: string): HandlerLocation {
  const dot = handler.lastIndexOf(".");
  const file = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  if (dot <= 0 || exportName === "") throw new HandlerLoadError(`handler ${handler} is not <file>.<export>`);
  const candidates = [join(codeDir, `${file}.ts`)];
  if (basename(dirname(codeDir)) === "dist") {
    candidates.push(join(dirname(dirname(codeDir)), "functions", basename(codeDir), `${file}.ts`));
  }
  candidates.push(join(codeDir, `${file}.js`));
  const modulePath = candidates.find((candidate) => existsSync(candidate));
  if (modulePath === undefined) {
    throw new HandlerLoadError(
      `no module for handler ${handler} of ${codeDir}; looked at ${candidates.join(", ")}`,
    );
  }
  return { modulePath, exportName };
}

export type FcHandler = (event: Buffer, context: FcContext) => unknown;

/** What FC 3.0 passes a Node.js handler as `context` (the fields this project relies on). */
export interface FcContext {
  requestId: string;
  credentials: { accessKeyId: string; accessKeySecret: string; securityToken: string };
  function: { name: string; handler: string; memory: number; timeout: number };
  region: string;
  accountId: string;
  logger: {
    info(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
  };
}

/** Loads a module and returns its handler export. The default loader is `require` (tsx or ts-jest compile .ts). */
export function loadHandler(
  location: HandlerLocation,
  load: (modulePath: string) => unknown = (modulePath) => require(modulePath),
): FcHandler {
  let loaded: unknown;
  try {
    loaded = load(location.modulePath);
  } catch (error) {
    throw new HandlerLoadError(`cannot load ${location.modulePath}`, { cause: error });
  }
  const candidate =
    typeof loaded === "object" && loaded !== null ? Reflect.get(loaded, location.exportName) : undefined;
  if (typeof candidate !== "function") {
    throw new HandlerLoadError(`${location.modulePath} exports no function ${location.exportName}`);
  }
  return (event, context) => Reflect.apply(candidate, undefined, [event, context]);
}
