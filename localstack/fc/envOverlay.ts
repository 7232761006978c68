/**
 * FC gives each function instance its own process environment (its variables plus the role's
 * `ALIBABA_CLOUD_*` credentials). Here many functions share one process and run concurrently, so
 * writing `process.env` before an invocation would leak one function's credentials into another's
 * concurrent invocation. Instead, while any runtime is active, `process.env` is a proxy that serves
 * the variables of the invocation in whose async context it is read (AsyncLocalStorage) over the
 * runner's own environment; writes made by a handler stay in its invocation's overlay. Outside an
 * invocation the proxy reads and writes the real environment. `release()` of the last user puts
 * the original object back. Code that captures env at module load sees the runner's env: read it
 * per invocation (or use `context.credentials`), which is what the functions do.
 */
import { AsyncLocalStorage } from "node:async_hooks";

type Env = Record<string, string | undefined>;

const storage = new AsyncLocalStorage<Env>();
let original: NodeJS.ProcessEnv | undefined;
let users = 0;

/** Installs the proxy (idempotent, counted). Call `release()` when done. */
export function acquireEnvOverlay(): { release(): void } {
  if (users === 0) install();
  users += 1;
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      users -= 1;
      if (users === 0 && original !== undefined) {
        process.env = original;
        original = undefined;
      }
    },
  };
}

/** Runs `fn` with `env` layered over the runner's environment for everything `fn` starts. */
export function runWithEnv<T>(env: Readonly<Record<string, string>>, fn: () => T): T {
  return storage.run({ ...env }, fn);
}

function install(): void {
  const base = process.env;
  original = base;
  const overlay = (): Env | undefined => storage.getStore();
  process.env = new Proxy(base, {
    get(target, key) {
      const layer = overlay();
      if (layer !== undefined && typeof key === "string" && Object.hasOwn(layer, key)) return layer[key];
      return Reflect.get(target, key);
    },
    set(target, key, value) {
      const layer = overlay();
      if (layer === undefined || typeof key !== "string") return Reflect.set(target, key, value);
      layer[key] = String(value);
      return true;
    },
    deleteProperty(target, key) {
      const layer = overlay();
      if (layer === undefined || typeof key !== "string") return Reflect.deleteProperty(target, key);
      // A deleted key must hide the runner's value too.
      layer[key] = undefined;
      return true;
    },
    has(target, key) {
      const layer = overlay();
      if (layer !== undefined && typeof key === "string" && Object.hasOwn(layer, key)) {
        return layer[key] !== undefined;
      }
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      const layer = overlay();
      const keys = new Set(Reflect.ownKeys(target));
      if (layer === undefined) return [...keys];
      for (const [key, value] of Object.entries(layer)) {
        if (value === undefined) keys.delete(key);
        else keys.add(key);
      }
      return [...keys];
    },
    getOwnPropertyDescriptor(target, key) {
      const layer = overlay();
      if (layer !== undefined && typeof key === "string" && Object.hasOwn(layer, key)) {
        const value = layer[key];
        return value === undefined
          ? undefined
          : { value, writable: true, enumerable: true, configurable: true };
      }
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}
