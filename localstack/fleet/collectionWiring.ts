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
export function slsConfigSource(sls: SlsBackend): ConfigSource {
  return (accountId, region, identity) => {
    const scope = { accountId, region, action: "ListProject" };
    const found = new Map<string, CollectionConfig>();
    for (const project of sls.listProjects(scope, { offset: 0, size: 500 }, undefined).items) {
      for (const group of project.machineGroups.values()) {
        const member =
          group.identifyType === "ip"
            ? group.machineList.includes(identity.ip)
            : identity.identifiers.some((id) => group.machineList.includes(id));
        if (!member) continue;
        for (const name of group.appliedConfigs) {
          const record = project.configs.get(name);
          if (record === undefined) continue;
          const config = collectionConfigOf(record, { accountId, region, project: project.name });
          if (config !== undefined) found.set(config.id, config);
        }
      }
    }
    return [...found.values()];
  };
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
