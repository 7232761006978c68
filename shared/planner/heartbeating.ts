/**
 * The one rule for "this instance heartbeats in that machine group": a machine with the instance's
 * SMBIOS UUID (either byte order — never a guessed IP), a fresh heartbeat, and the route's
 * identifier among the ones it reports (space-joined when there are several).
 */
import { sameSmbiosUuid } from "./smbiosUuid";
import type { ObservedMachine } from "./types";

export function isHeartbeating(
  machines: readonly ObservedMachine[],
  instance: { serialNumber: string },
  identifier: string,
  nowSeconds: number,
  freshSeconds: number,
): boolean {
  return machines.some(
    (machine) =>
      sameSmbiosUuid(machine.machineUniqueId, instance.serialNumber) &&
      nowSeconds - machine.lastHeartbeatTime <= freshSeconds &&
      machine.userdefinedId.split(/\s+/).includes(identifier),
  );
}
