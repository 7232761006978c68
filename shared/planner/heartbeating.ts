/**
 * The one rule for "this instance heartbeats in that machine group": a machine with a fresh
 * heartbeat and the route's identifier among the ones it reports (space-joined when there are
 * several), found by the first key the host gives (never a guessed IP):
 * 1. `host-id` equal to the instance id (LoongCollector reports the ECS instance id);
 * 2. `machine-uniqueid` equal to the UUID the host's own agent reported to the host script
 *    (kept on the instance as the agent-id tag: an ARM host, whose agent does not read DMI);
 * 3. `machine-uniqueid` equal to ECS's `SerialNumber`, in either byte order (x86 Logtail).
 */
import { normalizeUuid, swapped } from "./smbiosUuid";
import type { ObservedInstance, ObservedMachine } from "./types";

/**
 * The tag that keeps the UUID a host's agent reported, where neither its host-id nor the serial
 * number would find it (written by authorize, README "Heartbeat identity").
 */
export const AGENT_ID_TAG_KEY = "logtail-xacct-agent-id";

export type HeartbeatKey = "host-id" | "agent-uuid" | "serial";

type Identified = Pick<ObservedInstance, "instanceId" | "serialNumber" | "tags">;

interface MachineIndex {
  byUuid: Map<string, ObservedMachine[]>;
  byHostId: Map<string, ObservedMachine[]>;
}

/**
 * A group's machines by normalized UUID and by host-id, built once per listing: matching every
 * instance against every machine was quadratic (about 100 s of CPU for 10,000 instances in one group).
 */
const indexes = new WeakMap<readonly ObservedMachine[], MachineIndex>();

function indexOf(machines: readonly ObservedMachine[]): MachineIndex {
  let index = indexes.get(machines);
  if (index === undefined) {
    index = { byUuid: new Map(), byHostId: new Map() };
    for (const machine of machines) {
      const uuid = normalizeUuid(machine.machineUniqueId);
      if (uuid !== undefined) index.byUuid.set(uuid, [...(index.byUuid.get(uuid) ?? []), machine]);
      const hostId = machine.hostId?.trim() ?? "";
      if (hostId !== "") index.byHostId.set(hostId, [...(index.byHostId.get(hostId) ?? []), machine]);
    }
    indexes.set(machines, index);
  }
  return index;
}

function byUuid(index: MachineIndex, text: string | undefined): ObservedMachine[] {
  const uuid = text === undefined ? undefined : normalizeUuid(text);
  if (uuid === undefined) return [];
  return [...(index.byUuid.get(uuid) ?? []), ...(index.byUuid.get(swapped(uuid)) ?? [])];
}

/** The machine heartbeats fresh with `identifier` among its identifiers. */
export function isLiveMember(
  machine: ObservedMachine,
  identifier: string,
  nowSeconds: number,
  freshSeconds: number,
): boolean {
  return (
    nowSeconds - machine.lastHeartbeatTime <= freshSeconds &&
    machine.userdefinedId.split(/\s+/).includes(identifier)
  );
}

export function isHeartbeating(
  machines: readonly ObservedMachine[],
  instance: Identified,
  identifier: string,
  nowSeconds: number,
  freshSeconds: number,
): boolean {
  return heartbeatMatch(machines, instance, identifier, nowSeconds, freshSeconds) !== undefined;
}

/** The machine that heartbeats for the instance (its IP is the `__source__` of its lines), if any. */
export function heartbeatingMachine(
  machines: readonly ObservedMachine[],
  instance: Identified,
  identifier: string,
  nowSeconds: number,
  freshSeconds: number,
): ObservedMachine | undefined {
  return heartbeatMatch(machines, instance, identifier, nowSeconds, freshSeconds)?.machine;
}

/** The heartbeating machine and the key that found it. */
export function heartbeatMatch(
  machines: readonly ObservedMachine[],
  instance: Identified,
  identifier: string,
  nowSeconds: number,
  freshSeconds: number,
): { machine: ObservedMachine; key: HeartbeatKey } | undefined {
  const index = indexOf(machines);
  const live = (machine: ObservedMachine) => isLiveMember(machine, identifier, nowSeconds, freshSeconds);
  const candidates: Array<[HeartbeatKey, readonly ObservedMachine[]]> = [
    ["host-id", index.byHostId.get(instance.instanceId) ?? []],
    ["agent-uuid", byUuid(index, instance.tags[AGENT_ID_TAG_KEY])],
    ["serial", byUuid(index, instance.serialNumber)],
  ];
  for (const [key, found] of candidates) {
    const machine = found.find(live);
    if (machine !== undefined) return { machine, key };
  }
  return undefined;
}

/**
 * The agent-id tag to write after an authorize whose report names the host's agent: the agent's
 * UUID when neither its host-id nor the serial number would find its heartbeats, and the tag does
 * not already say so. Undefined: nothing to write. The value is from a host, so only a well-formed
 * UUID (canonical form) is ever written.
 */
export function agentIdToRecord(
  instance: Identified,
  agent: { agentUuid?: string | null; agentHostId?: string | null },
): string | undefined {
  if ((agent.agentHostId ?? "").trim() === instance.instanceId) return undefined;
  const uuid = agent.agentUuid ? normalizeUuid(agent.agentUuid) : undefined;
  if (uuid === undefined) return undefined;
  const serial = normalizeUuid(instance.serialNumber);
  if (serial !== undefined && (serial === uuid || swapped(serial) === uuid)) return undefined;
  if (normalizeUuid(instance.tags[AGENT_ID_TAG_KEY] ?? "") === uuid) return undefined;
  return uuid;
}
