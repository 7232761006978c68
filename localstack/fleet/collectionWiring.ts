/**
 * What the collector needs from the emulator: the configs that reach a host (from the SLS backend,
 * as Alibaba's config server would hand them out — that part of the agent is closed, so it is read
 * in process, like heartbeats), each account's AccessKey, and PutLogs over HTTP.
 */
import type { AccountStore } from "../../emulator/core/accounts";
import type { SlsBackend } from "../../emulator/sls/backend";
import { type CollectionConfig, collectionConfigOf } from "../agent/collectionRules";
import type { ConfigSource } from "../agent/logCollector";
import type { AccessKey } from "../agent/putLogsClient";

/**
 * Configs of `accountId`'s projects in `region` bound to a machine group the host belongs to:
 * a custom-identifier group sharing one of its identifiers, or an IP group listing its IP.
 */
export function slsConfigSource(sls: SlsBackend, now: () => number): ConfigSource {
  // Every host of an account asks in the same tick: read the account's groups once per tick.
  let cacheAt = Number.NaN;
  const cache = new Map<string, BoundGroup[]>();
  const groupsOf = (accountId: string, region: string): BoundGroup[] => {
    const at = now();
    if (at !== cacheAt) {
      cache.clear();
      cacheAt = at;
    }
    const key = `${accountId}|${region}`;
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const groups: BoundGroup[] = [];
    const scope = { accountId, region, action: "ListProject" };
    for (const project of sls.listProjects(scope, { offset: 0, size: 500 }, undefined).items) {
      for (const group of project.machineGroups.values()) {
        const configs: CollectionConfig[] = [];
        for (const name of group.appliedConfigs) {
          const record = project.configs.get(name);
          if (record === undefined) continue;
          const config = collectionConfigOf(record, { accountId, region, project: project.name });
          if (config !== undefined) configs.push(config);
        }
        if (configs.length > 0)
          groups.push({ byIp: group.identifyType === "ip", members: new Set(group.machineList), configs });
      }
    }
    cache.set(key, groups);
    return groups;
  };
  return (accountId, region, identity) => {
    const found = new Map<string, CollectionConfig>();
    for (const group of groupsOf(accountId, region)) {
      const member = group.byIp
        ? group.members.has(identity.ip)
        : identity.identifiers.some((id) => group.members.has(id));
      if (!member) continue;
      for (const config of group.configs) found.set(config.id, config);
    }
    return [...found.values()];
  };
}

interface BoundGroup {
  byIp: boolean;
  members: Set<string>;
  configs: CollectionConfig[];
}

/** The AccessKey an account's agents sign with: the account's seeded key. */
export function accountKeys(accounts: AccountStore): (accountId: string) => AccessKey | undefined {
  return (accountId) => {
    const key = accounts.seededKeys().find((candidate) => candidate.accountId === accountId);
    return key === undefined
      ? undefined
      : { accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret };
  };
}
