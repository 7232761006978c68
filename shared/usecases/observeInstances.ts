/** Re-observing the instances that messages name, as every consumer of a message does first. */
import type { EcsPort, InstanceRecord } from "../ports/ecs";

export interface NamedInstances {
  accountId: string;
  region: string;
  instanceIds: readonly string[];
}

/** One DescribeInstances batch per account and region; instance id → what ECS says now. */
export async function observeInstances(
  ecs: (scope: { accountId: string; region: string }) => EcsPort,
  named: Iterable<NamedInstances>,
): Promise<Map<string, InstanceRecord>> {
  const byScope = new Map<string, { scope: { accountId: string; region: string }; ids: Set<string> }>();
  for (const { accountId, region, instanceIds } of named) {
    const key = `${accountId}|${region}`;
    const entry = byScope.get(key) ?? { scope: { accountId, region }, ids: new Set<string>() };
    for (const id of instanceIds) entry.ids.add(id);
    byScope.set(key, entry);
  }
  const instances = new Map<string, InstanceRecord>();
  for (const { scope, ids } of byScope.values())
    for (const record of await ecs(scope).describeInstances({ instanceIds: [...ids] }))
      instances.set(record.instanceId, record);
  return instances;
}
