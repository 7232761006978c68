/** A machine-group member as the planner observes it, heartbeating `now` with `identifier`. */
import type { ObservedMachine } from "../../shared/planner/types";

export function machineFactory(now: number, identifier: string) {
  return (fields: Partial<ObservedMachine>): ObservedMachine => ({
    machineUniqueId: "00000000-0000-0000-0000-000000000000",
    userdefinedId: identifier,
    lastHeartbeatTime: now - 10,
    ip: "10.0.0.9",
    hostId: "",
    ...fields,
  });
}
