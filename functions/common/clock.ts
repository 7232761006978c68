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

export async function functionClock(endpointsFile: string | undefined): Promise<() => number> {
  if (endpointsFile === undefined) return () => Date.now();
  const { admin } = endpointsAdmin.parse(JSON.parse(await readFile(endpointsFile, "utf8")));
  const response = await fetch(`${admin}/clock`);
  const emulator = clockView.parse(await response.json());
  const wallAtRead = Date.now();
  return () => emulator.now + (Date.now() - wallAtRead) * emulator.scale;
}
