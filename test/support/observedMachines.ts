/** Machine-group members and instances as the planner observes them. */
import type { ObservedInstance, ObservedMachine } from "../../shared/planner/types";

/** A running Linux instance of app-b (1700000000000397) in cn-hangzhou, its serial from its id. */
export function observedInstance(id: string, fields: Partial<ObservedInstance> = {}): ObservedInstance {
  return {
    accountId: "1700000000000397",
    region: "cn-hangzhou",
    instanceId: id,
    os: "linux",
    status: "Running",
    serialNumber: `${id.slice(-8)}-0000-0000-0000-000000000000`,
    tags: {},
    ...fields,
  };
}

/** A member heartbeating `now` with `identifier`. */
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
