/**
 * "The destination is ready and the config is bound", observed once and shared. Every apply
 * message made the destination ready again — project, logstore, index, machine group, config, then
 * the binding: six SLS calls per message, most of them for a state the previous message had just
 * made. After a full pass, apply leaves a record in the hub's snapshot store with a digest of what
 * it made; an apply within READY_MAX_AGE_MS whose route asks for the same (same digest) skips the
 * pass. A stale record costs no correctness: `collecting` is earned by lines, which an unbound
 * config never ships, and the next apply past the age (or reconcile) makes everything again. A
 * store that fails costs its reader the full pass, never the step.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { OperatingSystem } from "../config/routesSchema";
import { errorCode, errorMessage } from "../ports/errors";
import type { SlsScope } from "../ports/sls";
import { readSnapshot, type SnapshotFailure, writeSnapshot } from "./snapshotObjects";
import type { StepDeps } from "./stepDeps";

/** One heartbeat timer period, as for the group listings. */
export const READY_MAX_AGE_MS = 60_000;

/** The key prefix of every readiness record (the functions' role may touch this prefix). */
export const READY_PREFIX = "ready/";

export type ReadyDeps = Pick<StepDeps, "now" | "log" | "snapshots">;

export function readyKey(scope: SlsScope, route: string, os: OperatingSystem): string {
  return `${READY_PREFIX}v1/${scope.accountId}/${scope.region}/${scope.project}/${route}/${os}.json.gz`;
}

const storedReady = z.strictObject({
  v: z.literal(1),
  at: z.number().int().nonnegative(),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
});

/** A digest of everything the pass makes: a record for other settings does not serve. */
export function readyDigest(made: unknown): string {
  return createHash("sha256").update(JSON.stringify(made)).digest("hex");
}

/** Whether a pass that made exactly this (same digest) ended less than READY_MAX_AGE_MS ago. */
export async function readyRecently(
  deps: ReadyDeps,
  scope: SlsScope,
  route: string,
  os: OperatingSystem,
  digest: string,
): Promise<boolean> {
  if (deps.snapshots === undefined) return false;
  const key = readyKey(scope, route, os);
  const stored = await readSnapshot(deps.snapshots, key, storedReady, storeFailed(deps, scope));
  if (stored === undefined || stored.digest !== digest) return false;
  const age = deps.now() - stored.at;
  // A record from the future (a clock that went back) is not trusted to be young.
  return age >= 0 && age <= READY_MAX_AGE_MS;
}

/** Leaves the record after a full pass ended with the config bound. */
export async function rememberReady(
  deps: ReadyDeps,
  scope: SlsScope,
  route: string,
  os: OperatingSystem,
  digest: string,
): Promise<void> {
  if (deps.snapshots === undefined) return;
  await writeSnapshot(
    deps.snapshots,
    readyKey(scope, route, os),
    { v: 1, at: Math.floor(deps.now()), digest },
    storeFailed(deps, scope),
  );
}

function storeFailed(deps: ReadyDeps, scope: SlsScope): SnapshotFailure {
  return (what, key, error) =>
    deps.log({
      action: "destination-ready",
      outcome: "failed",
      accountId: scope.accountId,
      region: scope.region,
      instanceIds: [],
      reason: errorCode(error) ?? (error instanceof Error ? error.name : "Error"),
      detail: `${what} ${key}: ${errorMessage(error)}; the destination is made ready by this run instead`,
    });
}
