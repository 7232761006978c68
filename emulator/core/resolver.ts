import dns from "node:dns";

type LookupCallback = (error: NodeJS.ErrnoException | null, address: unknown, family?: number) => void;

let holders = 0;
let originalLookup: typeof dns.lookup | undefined;

/** True for names the emulator serves: `*.localhost` (RFC 6761 reserves it for loopback). */
export function isEmulatorHostName(hostname: string): boolean {
  return hostname.toLowerCase().endsWith(".localhost");
}

/**
 * Makes `*.localhost` resolve to 127.0.0.1 inside this Node process, without touching system DNS or
 * `/etc/hosts`. Every official SDK used here (the Tea/Darabonba stack and `@alicloud/mns`) sends its
 * requests through `httpx` → `http.request` → `net.connect`, which resolves names with `dns.lookup`
 * at connect time; replacing that function is therefore enough, and it also covers `fetch`-less code
 * paths of plain `http`/`https`. Other names go to the original resolver untouched.
 *
 * Call it explicitly (never at import time). Calls nest: the override stays until every returned
 * release function has been called.
 */
export function installLocalhostResolver(): () => void {
  holders += 1;
  if (holders === 1) {
    const original = dns.lookup;
    originalLookup = original;
    const lookup = (hostname: string, options: unknown, callback?: LookupCallback): void => {
      if (!isEmulatorHostName(hostname)) {
        Reflect.apply(
          original,
          dns,
          [hostname, options, callback].filter((argument) => argument !== undefined),
        );
        return;
      }
      const done = typeof options === "function" ? options : callback;
      if (typeof done !== "function") throw new TypeError("dns.lookup needs a callback");
      const wantsAll =
        typeof options === "object" && options !== null && Reflect.get(options, "all") === true;
      process.nextTick(() => {
        if (wantsAll) Reflect.apply(done, undefined, [null, [{ address: "127.0.0.1", family: 4 }]]);
        else Reflect.apply(done, undefined, [null, "127.0.0.1", 4]);
      });
    };
    Object.assign(dns, { lookup });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders -= 1;
    if (holders === 0 && originalLookup !== undefined) {
      Object.assign(dns, { lookup: originalLookup });
      originalLookup = undefined;
    }
  };
}
