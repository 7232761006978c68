/**
 * The one rule for "this instance heartbeats in that machine group": a machine with the instance's
 * SMBIOS UUID (either byte order — never a guessed IP), a fresh heartbeat, and the route's
 * identifier among the ones it reports (space-joined when there are several).
 */
import { normalizeUuid, swapped } from "./smbiosUuid";
import type { ObservedMachine } from "./types";

/**
 * A group's machines by normalized UUID, built once per listing: matching every instance against
 * every machine was quadratic (about 100 s of CPU for 10,000 instances in one group).
 */
const indexes = new WeakMap<readonly ObservedMachine[], Map<string, ObservedMachine[]>>();

function machinesByUuid(machines: readonly ObservedMachine[]): Map<string, ObservedMachine[]> {
  let index = indexes.get(machines);
  if (index === undefined) {
    index = new Map();
    for (const machine of machines) {
      const uuid = normalizeUuid(machine.machineUniqueId);
      if (uuid === undefined) continue;
      index.set(uuid, [...(index.get(uuid) ?? []), machine]);
    }
    indexes.set(machines, index);
  }
  return index;
}

export function isHeartbeating(
  machines: readonly ObservedMachine[],
  instance: { serialNumber: string },
  identifier: string,
  nowSeconds: number,
  freshSeconds: number,
): boolean {
  return heartbeatingMachine(machines, instance, identifier, nowSeconds, freshSeconds) !== undefined;
}

/** The machine that heartbeats for the instance (its IP is the `__source__` of its lines), if any. */
export function heartbeatingMachine(
  machines: readonly ObservedMachine[],
  instance: { serialNumber: string },
  identifier: string,
  nowSeconds: number,
  freshSeconds: number,
): ObservedMachine | undefined {
  const serial = normalizeUuid(instance.serialNumber);
  if (serial === undefined) return undefined;
  const index = machinesByUuid(machines);
  const candidates = [...(index.get(serial) ?? []), ...(index.get(swapped(serial)) ?? [])];
  return candidates.find(
    (machine) =>
      nowSeconds - machine.lastHeartbeatTime <= freshSeconds &&
      machine.userdefinedId.split(/\s+/).includes(identifier),
  );
}
