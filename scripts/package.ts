/**
 * The deploy build: validates the routes file, then bundles each `functions/<name>/index.ts` with
 * esbuild into one file, `<out>/<name>/index.js`, beside what the code reads next to itself at run
 * time (the functions take `routes.yaml` from `__dirname` — functions/common/functionEnv.ts — and
 * the host scripts from `readHostScripts(__dirname)` — shared/hostscript/hostScripts.ts). Each
 * `<out>/<name>` is what s.yaml deploys (`code: ./dist/<name>`, `handler: index.handler`).
 *
 *   npm run package [-- --config FILE] [--out DIR] [--whole-deps]
 *
 * What esbuild cannot take as it is from the SDKs (handled by the plugins below):
 * - `@alicloud/mns` picks its code at run time: `lib/` (async functions) or a Babel `es5/` build
 *   whose `babel-runtime` is not installed. Node 20 always takes `lib/`: resolved to it directly.
 * - `lz4-napi` (via `@alicloud/sls20201230` → gateway-sls → gateway-sls-util) loads a native addon
 *   when it is required, for the machine that ran `npm install` — not necessarily FC's
 *   linux-x64. It is only for the log data APIs (PutLogs, PullLogs, GetLogsV2, PreviewSPL), which
 *   this project never calls. It is replaced by a stub that throws if used, and gateway-sls-util is
 *   told lz4 is unavailable, so even those APIs would fall back to deflate/gzip (zlib).
 * - The generated API SDKs (`@alicloud/ecs20140526`, `sls20201230`, `sts20150401`) are pruned to
 *   the client methods and models this code uses (scripts/sdkPruning.ts says why and how).
 *   `--whole-deps` turns this and the next point off.
 * - zod's `z.locales` (error messages in 50 languages, 260 KB) is dropped when the first-party code
 *   never names `locales`: English, zod's default, stays.
 * Nothing else in the dependency tree needs a file at run time or is left unresolved: the packager
 * reports any `require` of a non-builtin module left in a bundle.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build, type Plugin } from "esbuild";
import { loadRoutesConfig, RoutesConfigError, summarizeRoutesConfig } from "../shared/config/routesConfig";
import { LINUX_SCRIPT_FILE, WINDOWS_SCRIPT_FILE } from "../shared/hostscript/hostScripts";
import { ALICLOUD_FILE, firstPartyNames, SdkPruner, type SdkPruning } from "./sdkPruning";

/** The repository (this file is `<root>/scripts/package.ts`). */
export const REPO_ROOT = resolve(__dirname, "..");
/** The name the functions read beside themselves (functionEnv's LOGTAIL_XACCT_ROUTES_FILE default). */
export const BUNDLED_ROUTES_FILE = "routes.yaml";
export const BUNDLE_FILE = "index.js";

export type RoutesFileSource =
  | "--config"
  | "LOGTAIL_XACCT_ROUTES_FILE"
  | "config/routes.yaml"
  | "config/routes.example.yaml";

export interface PackageOptions {
  /** Where `<name>/index.js` go; relative to the working directory. Default `<root>/dist`. */
  outDir?: string;
  /** The routes file; relative to the working directory. Default: see `resolveRoutesFile`. */
  config?: string;
  /** Default `process.env` (for LOGTAIL_XACCT_ROUTES_FILE). */
  env?: NodeJS.ProcessEnv;
  /** Default the repository this script is in. */
  root?: string;
  /** Bundle the dependencies whole: no pruning of unused SDK APIs and models, zod's locales kept. */
  wholeDependencies?: boolean;
  /** Progress lines; default stdout. */
  log?: (line: string) => void;
}

export interface PackagedFunction {
  name: string;
  /** `<out>/<name>` */
  dir: string;
  /** `<out>/<name>/index.js` */
  bundle: string;
  bytes: number;
  /** esbuild's warnings, formatted. */
  warnings: string[];
}

export interface PackageResult {
  routes: { file: string; source: RoutesFileSource; summary: string };
  outDir: string;
  functions: PackagedFunction[];
  sdk: SdkPruning[];
}

export class PackageError extends Error {
  override name = "PackageError";
}

/** `--config`, else LOGTAIL_XACCT_ROUTES_FILE, else config/routes.yaml if present, else the example. */
export function resolveRoutesFile(options: { config?: string; env?: NodeJS.ProcessEnv; root?: string }): {
  file: string;
  source: RoutesFileSource;
} {
  const root = options.root ?? REPO_ROOT;
  if (options.config !== undefined) return { file: resolve(options.config), source: "--config" };
  const fromEnv = (options.env ?? process.env).LOGTAIL_XACCT_ROUTES_FILE;
  if (fromEnv !== undefined && fromEnv !== "")
    return { file: resolve(fromEnv), source: "LOGTAIL_XACCT_ROUTES_FILE" };
  const own = join(root, "config", "routes.yaml");
  if (existsSync(own)) return { file: own, source: "config/routes.yaml" };
  return { file: join(root, "config", "routes.example.yaml"), source: "config/routes.example.yaml" };
}

/** The deployable functions: folders of `functions/` with an `index.ts` (not `common`), sorted. */
export function listFunctions(root: string = REPO_ROOT): string[] {
  const dir = join(root, "functions");
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== "common")
    .filter((entry) => existsSync(join(dir, entry.name, "index.ts")))
    .map((entry) => entry.name)
    .sort();
}

/**
 * Validates the routes file (throws RoutesConfigError naming every problem, before anything is
 * written), bundles every function into a staging folder inside the out dir, and only when all
 * are built swaps each `<out>/<name>` for its new version (rename, not copy).
 */
export async function packageFunctions(options: PackageOptions = {}): Promise<PackageResult> {
  const root = options.root ?? REPO_ROOT;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const routes = resolveRoutesFile(options);
  const config = loadRoutesConfig(routes.file);
  const summary = summarizeRoutesConfig(config);
  const why: Record<RoutesFileSource, string> = {
    "--config": "from --config",
    LOGTAIL_XACCT_ROUTES_FILE: "from LOGTAIL_XACCT_ROUTES_FILE",
    "config/routes.yaml": "the default",
    "config/routes.example.yaml": "no config/routes.yaml: the example",
  };
  log(`routes file: ${displayPath(routes.file)} (${why[routes.source]}), valid: ${summary}`);

  const names = listFunctions(root);
  if (names.length === 0) throw new PackageError(`no functions/<name>/index.ts under ${root}`);
  const scripts = [LINUX_SCRIPT_FILE, WINDOWS_SCRIPT_FILE].map((file) => ({
    file,
    source: join(root, "shared", "hostscript", file),
  }));
  for (const { source } of scripts) if (!existsSync(source)) throw new PackageError(`missing ${source}`);
  const entryOf = (name: string) => join(root, "functions", name, "index.ts");
  const entries = names.map(entryOf);
  const firstParty = options.wholeDependencies ? undefined : await firstPartyNames(root, entries);
  const pruning = firstParty && new SdkPruner(firstParty);
  const trims = firstParty && !firstParty.has("locales") ? [zodLocales()] : [];

  const outDir = resolve(options.outDir ?? join(root, "dist"));
  mkdirSync(outDir, { recursive: true });
  const staging = mkdtempSync(join(outDir, ".staging-"));
  try {
    const built = await Promise.all(
      names.map(async (name): Promise<PackagedFunction> => {
        const dir = join(staging, name);
        const bundle = join(dir, BUNDLE_FILE);
        const result = await build({
          absWorkingDir: root,
          entryPoints: [entryOf(name)],
          outfile: bundle,
          bundle: true,
          platform: "node",
          target: "node20",
          format: "cjs",
          minify: true,
          // Function and class names stay readable in stack traces and logs (`error.name` is used).
          keepNames: true,
          // index.js.map beside the bundle, linked by a comment (node --enable-source-maps reads it).
          // Without the sources' text: paths and lines are what a stack trace needs, at a tenth the size.
          sourcemap: "linked",
          sourcesContent: false,
          // License comments go to index.js.LEGAL.txt rather than into the minified code.
          legalComments: "linked",
          metafile: true,
          logLevel: "silent",
          plugins: [sdkFixes(), ...(pruning ? [pruning.plugin()] : []), ...trims],
        });
        // Build metadata stays out of the code package: beside it, for bundle-size analysis.
        writeFileSync(join(staging, `${name}${METAFILE_SUFFIX}`), JSON.stringify(result.metafile));
        copyFileSync(routes.file, join(dir, BUNDLED_ROUTES_FILE));
        for (const { file, source } of scripts) copyFileSync(source, join(dir, file));
        const warnings = result.warnings.map((w) => `${w.location?.file ?? ""}: ${w.text}`);
        const code = readFileSync(bundle);
        const leftOver = unbundledRequires(code.toString("utf8"));
        if (leftOver.length > 0)
          warnings.push(`still required at run time (not in the bundle): ${leftOver.join(", ")}`);
        const final = join(outDir, name);
        return { name, dir: final, bundle: join(final, BUNDLE_FILE), bytes: code.length, warnings };
      }),
    );
    // Every function built: swap each folder in (the previous one is moved aside, then removed).
    for (const fn of built) {
      const fresh = join(staging, fn.name);
      if (existsSync(fn.dir)) renameSync(fn.dir, join(staging, `${fn.name}.previous`));
      renameSync(fresh, fn.dir);
      renameSync(join(staging, `${fn.name}${METAFILE_SUFFIX}`), join(outDir, `${fn.name}${METAFILE_SUFFIX}`));
      log(`${fn.name.padEnd(12)} ${(fn.bytes / 1024).toFixed(1).padStart(8)} KB  ${displayPath(fn.bundle)}`);
      for (const warning of fn.warnings) log(`  warning: ${warning}`);
    }
    return { routes: { ...routes, summary }, outDir, functions: built, sdk: pruning?.report() ?? [] };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** esbuild's metafile of a function, `dist/<function>.meta.json`: outside `dist/<function>/`. */
export const METAFILE_SUFFIX = ".meta.json";

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") || rel === "" ? path : rel;
}

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/**
 * Optional modules a dependency requires inside try/catch and does without: not bundled (they are
 * native addons) and not needed.
 */
export const OPTIONAL_REQUIRES: Readonly<Record<string, string>> = {
  // ws (openapi-core's websocket support, unused here): optional native speed-ups.
  bufferutil: "ws",
  "utf-8-validate": "ws",
};

/** Modules a bundle still `require`s by a literal name that Node does not provide itself. */
export function unbundledRequires(code: string): string[] {
  const names = new Set<string>();
  for (const match of code.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)) {
    const name = match[1];
    if (name !== undefined && !BUILTINS.has(name) && !(name in OPTIONAL_REQUIRES)) names.add(name);
  }
  return [...names].sort();
}

/** The SDK quirks esbuild cannot follow on its own (see the header). */
function sdkFixes(): Plugin {
  return {
    name: "logtail-xacct-sdk-fixes",
    setup(b) {
      b.onResolve({ filter: /^@alicloud\/mns$/ }, (args) => ({
        path: require.resolve("@alicloud/mns/lib/client.js", { paths: [args.resolveDir] }),
      }));
      b.onResolve({ filter: /^lz4-napi$/ }, () => ({ path: "lz4-napi", namespace: "logtail-xacct-stub" }));
      b.onLoad({ filter: /.*/, namespace: "logtail-xacct-stub" }, () => ({
        loader: "js",
        contents: `"use strict";
const unavailable = (name) => () => {
  throw new Error("lz4-napi." + name + " is not in this bundle (native addon left out by scripts/package.ts); use deflate or gzip");
};
for (const name of ["compress", "compressSync", "compressFrame", "compressFrameSync", "uncompress", "uncompressSync", "decompressFrame", "decompressFrameSync"])
  exports[name] = unavailable(name);`,
      }));
      // gateway-sls-util offers lz4 first when it can: say it cannot, so zlib is chosen.
      b.onLoad({ filter: ALICLOUD_FILE("gateway-sls-util", "dist", "(?:de)?compress\\.js") }, (args) => {
        const text = readFileSync(args.path, "utf8");
        const patched = text.replace(/(const supported(?:De)?[Cc]ompressor = \[)'lz4', /, "$1");
        return {
          loader: "js",
          contents: patched,
          ...(patched === text
            ? { warnings: [{ text: `${args.path}: lz4 not found in its supported list (SDK changed?)` }] }
            : {}),
        };
      });
    },
  };
}

/** zod's locales index, reduced to English (what zod configures itself with). */
function zodLocales(): Plugin {
  return {
    name: "logtail-xacct-zod-locales",
    setup(b) {
      b.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => {
        const text = readFileSync(args.path, "utf8");
        const english = 'export { default as en } from "./en.js";';
        return text.includes(english) ? { loader: "js", contents: `${english}\n` } : undefined;
      });
    },
  };
}

async function main(argv: string[]): Promise<number> {
  let values: { config?: string; out?: string; "whole-deps"?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: "string" },
        out: { type: "string" },
        "whole-deps": { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(
      `${error instanceof Error ? error.message : String(error)}\nusage: npm run package [-- --config FILE] [--out DIR] [--whole-deps]\n`,
    );
    return 2;
  }
  try {
    const result = await packageFunctions({
      ...(values.config === undefined ? {} : { config: values.config }),
      ...(values.out === undefined ? {} : { outDir: values.out }),
      ...(values["whole-deps"] ? { wholeDependencies: true } : {}),
    });
    for (const sdk of result.sdk) {
      const models = sdk.models ? `, ${sdk.models.kept} of ${sdk.models.of} models` : ", models whole";
      process.stdout.write(`sdk ${sdk.pkg}: ${sdk.methods.kept} of ${sdk.methods.of} methods${models}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof RoutesConfigError) {
      process.stderr.write(`the routes file is not valid; nothing was built.\n${error.message}\n`);
    } else {
      process.stderr.write(`package failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
