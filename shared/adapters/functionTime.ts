/**
 * The functions' time. On Alibaba Cloud it is the wall clock. On the local stack it is the
 * emulator's (which tests and demos scale or advance): read once per invocation from the emulator's
 * admin API named in the endpoints file, then carried forward at the emulator's scale — so
 * heartbeat freshness and timeouts compare like with like.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";

const endpointsAdmin = z.object({ admin: z.string().regex(/^http:\/\/127\.0\.0\.1:\d+\/_admin$/) });
const clockView = z.object({ now: z.number(), scale: z.number().nonnegative() });

export interface FunctionTime {
  now(): number;
  /**
   * Waits `ms` of the functions' time: at ×20 a 5 s wait for a command's result is 250 ms of wall
   * time (a wall-time wait let 100 s of emulated time pass, and the result wait gave up after one
   * look). A frozen clock (scale 0, tests that advance it by hand) waits wall time.
   */
  sleep(ms: number): Promise<void>;
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One read of the clock per invocation serves both its time and its waits. */
export async function functionTime(endpointsFile: string | undefined): Promise<FunctionTime> {
  if (endpointsFile === undefined) return { now: () => Date.now(), sleep: wait };
  const { admin } = endpointsAdmin.parse(JSON.parse(await readFile(endpointsFile, "utf8")));
  const response = await fetch(`${admin}/clock`);
  const emulator = clockView.parse(await response.json());
  const wallAtRead = Date.now();
  // On a frozen clock the invocation's own time passes at wall speed, as its waits do: otherwise
  // a wait bounded by a deadline on that clock (a command's result) would never end.
  const scale = emulator.scale > 0 ? emulator.scale : 1;
  return {
    now: () => emulator.now + (Date.now() - wallAtRead) * scale,
    sleep: (ms) => wait(ms / scale),
  };
}
