import type { Scheduler } from "../eventbridge/types";

/** Wall-clock time for one-off runs (`invoke`); the local stack passes the emulator clock instead. */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  setTimer(at, callback) {
    const handle = setTimeout(callback, Math.max(0, at - Date.now()));
    handle.unref();
    return () => clearTimeout(handle);
  },
};
