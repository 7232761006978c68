/**
 * Why the deploy build (scripts/package.ts) prunes the SDKs: the generated API SDKs
 * (`@alicloud/ecs20140526`, `sls20201230`, `sts20150401`) are one class with every API of the
 * product (~760 for ECS) and a `models/model.js` that requires every model (~2,000 files for ECS):
 * 4 MB of a 5.4 MB bundle that takes ~500 ms to load cold (1.2 MB and ~120 ms pruned,
 * bench/bundle.ts), paid at every cold start of a function.
 *
 * What is kept: the client methods this code calls (any name that appears in the first-party
 * sources bundled, plus what those methods call on `this`, plus anything overriding the
 * openapi-core base class) and the models they or the first-party code name; a model is required
 * when first read. A file whose shape is not the generated one is left whole (slower, never
 * wrong). `npm run package -- --whole-deps` turns the pruning off. test/deploy/bundle.test.ts runs
 * the bundles against the local stack, so an SDK call the pruning missed fails there.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build, type Metafile, type Plugin } from "esbuild";

/** What the pruning kept of one SDK package (`npm run package` prints it, bench/bundle.ts reports it). */
export interface SdkPruning {
  /** `@alicloud/ecs20140526` */
  pkg: string;
  methods: { kept: number; of: number };
  /** Undefined when models/model.js was left whole. */
  models?: { kept: number; of: number };
}

/** A file of an `@alicloud/*` package: path segments as regular expressions. */
export const ALICLOUD_FILE = (...segments: string[]) =>
  new RegExp(`[\\\\/]node_modules[\\\\/]@alicloud[\\\\/]${segments.join("[\\\\/]")}$`);
const ANY_PACKAGE = "[^\\\\/]+";

const IDENTIFIER = /[A-Za-z_$][\w$]*/g;

/**
 * Every identifier in the first-party code the functions bundle (what it could call on an SDK
 * client or name from an SDK's models): a build that leaves every package external.
 */
export async function firstPartyNames(root: string, entries: string[]): Promise<Set<string>> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: entries,
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "cjs",
    outdir: join(root, ".first-party"),
    logLevel: "silent",
    plugins: [
      {
        name: "first-party-only",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.kind === "entry-point" ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  const names = new Set<string>();
  for (const input of Object.keys((result.metafile as Metafile).inputs)) {
    for (const match of readFileSync(join(root, input), "utf8").matchAll(IDENTIFIER)) names.add(match[0]);
  }
  return names;
}

interface PrunedClient {
  text: string;
  methods: { kept: number; of: number };
  /** `$_model.X` names the kept code uses. */
  models: Set<string>;
}

/**
 * Prunes the generated API SDKs to what the first-party code uses (see the header): `plugin()` for
 * esbuild, `report()` for what was kept of each package.
 */
export class SdkPruner {
  private readonly clients = new Map<string, PrunedClient | undefined>();
  private readonly models = new Map<string, { kept: number; of: number } | undefined>();

  constructor(private readonly used: ReadonlySet<string>) {}

  plugin(): Plugin {
    return {
      name: "logtail-xacct-prune-sdk",
      setup: (b) => {
        b.onLoad({ filter: ALICLOUD_FILE(ANY_PACKAGE, "dist", "client\\.js") }, (args) => {
          const pruned = this.client(args.path);
          return pruned ? { loader: "js", contents: pruned.text } : undefined;
        });
        b.onLoad({ filter: ALICLOUD_FILE(ANY_PACKAGE, "dist", "models", "model\\.js") }, (args) => {
          const client = this.client(join(dirname(dirname(args.path)), "client.js"));
          if (!client) return undefined;
          const text = readFileSync(args.path, "utf8");
          const pruned = pruneModelIndex(text, (name) => this.used.has(name) || client.models.has(name));
          this.models.set(packageOf(args.path), pruned && { kept: pruned.kept, of: pruned.of });
          return pruned ? { loader: "js", contents: pruned.text } : undefined;
        });
      },
    };
  }

  private client(path: string): PrunedClient | undefined {
    if (this.clients.has(path)) return this.clients.get(path);
    let pruned: PrunedClient | undefined;
    if (existsSync(path)) {
      const text = readFileSync(path, "utf8");
      if (/^class Client extends openapi_core_1\.default \{$/m.test(text) && text.includes("$_model")) {
        const base = baseClientMethods(path);
        if (base) pruned = pruneClientClass(text, (name) => this.used.has(name) || base.has(name));
      }
    }
    this.clients.set(path, pruned);
    return pruned;
  }

  report(): SdkPruning[] {
    return [...this.clients]
      .filter((entry): entry is [string, PrunedClient] => entry[1] !== undefined)
      .map(([path, client]) => {
        const pkg = packageOf(path);
        const models = this.models.get(pkg);
        return { pkg, methods: client.methods, ...(models ? { models } : {}) };
      })
      .sort((a, b) => a.pkg.localeCompare(b.pkg));
  }
}

/** `@alicloud/x` of `…/node_modules/@alicloud/x/dist/…`. */
function packageOf(path: string): string {
  const parts = path.split(/[\\/]/);
  const at = parts.lastIndexOf("node_modules");
  return parts.slice(at + 1, at + 3).join("/");
}

const METHOD_HEAD = /^ {4}(?:static )?(?:async )?([A-Za-z_$][\w$]*)\(.*\) \{$/;

/** The method names of openapi-core's Client (a subclass method overriding one is always kept). */
function baseClientMethods(clientPath: string): Set<string> | undefined {
  try {
    const base = require.resolve("@alicloud/openapi-core", { paths: [dirname(clientPath)] });
    const names = new Set<string>();
    for (const line of readFileSync(base, "utf8").split("\n")) {
      const name = METHOD_HEAD.exec(line)?.[1];
      if (name !== undefined) names.add(name);
    }
    return names.size > 0 ? names : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keeps the constructor, the methods `keep` names and what they call on `this`; undefined when
 * the class is not laid out as the SDK generator writes it (then the file is bundled whole).
 */
export function pruneClientClass(text: string, keep: (name: string) => boolean): PrunedClient | undefined {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => /^class Client extends [\w$.]+ \{$/.test(line));
  const end = lines.findIndex((line, i) => i > start && line === "}");
  if (start < 0 || end < 0) return undefined;
  const members = new Map<string, string[]>();
  let current: { name: string; lines: string[] } | undefined;
  for (const line of lines.slice(start + 1, end)) {
    if (current) {
      current.lines.push(line);
      if (line === "    }") {
        members.set(current.name, current.lines);
        current = undefined;
      }
      continue;
    }
    const name = METHOD_HEAD.exec(line)?.[1];
    if (name !== undefined) {
      if (members.has(name)) return undefined;
      current = { name, lines: [line] };
    } else if (!/^\s*$/.test(line) && !/^ {4}(?:\/\*\*| \*|\/\/)/.test(line)) {
      return undefined;
    }
  }
  if (current || !members.has("constructor")) return undefined;
  const kept = new Set(["constructor", ...[...members.keys()].filter(keep)]);
  const pending = [...kept];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    for (const match of (members.get(name) ?? []).join("\n").matchAll(/\bthis\.([A-Za-z_$][\w$]*)/g)) {
      const called = match[1];
      if (called !== undefined && members.has(called) && !kept.has(called)) {
        kept.add(called);
        pending.push(called);
      }
    }
  }
  const body = [...members].filter(([name]) => kept.has(name)).flatMap(([, member]) => member);
  const pruned = [...lines.slice(0, start + 1), ...body, ...lines.slice(end)].join("\n");
  const models = new Set<string>();
  for (const match of pruned.matchAll(/\$_model\.([A-Za-z_$][\w$]*)/g)) if (match[1]) models.add(match[1]);
  return { text: pruned, methods: { kept: kept.size, of: members.size }, models };
}

/**
 * Rewrites a generated `models/model.js` (`var X_1 = require("./X")` + one re-export getter per
 * model) to re-export only the models `keep` names, each required when first read. Undefined when
 * a line is not of the generated shape.
 */
export function pruneModelIndex(
  text: string,
  keep: (name: string) => boolean,
): { text: string; kept: number; of: number } | undefined {
  const lines = text.split("\n");
  const sources = new Map<string, string>();
  for (const line of lines) {
    const match = /^var ([\w$]+) = require\(("\.\/[^"]+")\);$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) sources.set(match[1], match[2]);
  }
  const out: string[] = [];
  let of = 0;
  let kept = 0;
  for (const line of lines) {
    if (
      line === '"use strict";' ||
      line === 'Object.defineProperty(exports, "__esModule", { value: true });' ||
      /^\s*$/.test(line)
    ) {
      out.push(line);
      continue;
    }
    if (
      /^\/\/# sourceMappingURL=/.test(line) ||
      /^exports\.[\w$]+ = (?:exports\.[\w$]+ = )*void 0;$/.test(line) ||
      /^var [\w$]+ = require\("\.\/[^"]+"\);$/.test(line)
    )
      continue;
    const getter =
      /^Object\.defineProperty\(exports, "([\w$]+)", \{ enumerable: true, get: function \(\) \{ return ([\w$]+)\.([\w$]+); \} \}\);$/.exec(
        line,
      );
    const [, name, variable, member] = getter ?? [];
    const from = variable === undefined ? undefined : sources.get(variable);
    if (name === undefined || member === undefined || from === undefined) return undefined;
    of += 1;
    if (!keep(name)) continue;
    kept += 1;
    out.push(
      `Object.defineProperty(exports, "${name}", { enumerable: true, get: function () { return require(${from}).${member}; } });`,
    );
  }
  return { text: out.join("\n"), kept, of };
}
