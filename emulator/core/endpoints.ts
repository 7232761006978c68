import { rename, writeFile } from "node:fs/promises";
import type { AccountStore } from "./accounts";

export interface RegionEndpoints {
  /** Tea SDK `Config.endpoint` takes the host:port part (`new URL(url).host`) with `protocol: "http"`. */
  ecs: string;
  sls: string;
  mns: string;
  /** Regional endpoint; requests go to `<bucket>.<host>` (the OSS SDK prepends the bucket). */
  oss: string;
}

export interface AccountEndpoints {
  id: string;
  name: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** The principal the key acts as (`acs:ram::<uid>:user/…` or `…:root`). */
  principalArn: string;
  roles: Array<{ name: string; arn: string; trustedAccounts: string[] }>;
  sts: string;
  regions: Record<string, RegionEndpoints>;
}

export interface EndpointsDocument {
  /** Format version of this file. */
  version: 1;
  port: number;
  admin: string;
  /** Host patterns, for regions not listed per account. */
  templates: { ecs: string; sls: string; slsProject: string; mns: string; sts: string; oss: string };
  accounts: AccountEndpoints[];
}

export function regionEndpoints(port: number, accountId: string, region: string): RegionEndpoints {
  return {
    ecs: `http://ecs.${region}.localhost:${port}`,
    sls: `http://${region}.log.localhost:${port}`,
    mns: `http://${accountId}.mns.${region}.localhost:${port}`,
    oss: `http://oss-${region}.localhost:${port}`,
  };
}

export function buildEndpoints(
  port: number,
  accounts: AccountStore,
  regionsOf: (accountId: string) => Iterable<string>,
): EndpointsDocument {
  return {
    version: 1,
    port,
    admin: `http://127.0.0.1:${port}/_admin`,
    templates: {
      ecs: `http://ecs.{region}.localhost:${port}`,
      sls: `http://{region}.log.localhost:${port}`,
      slsProject: `http://{project}.{region}.log.localhost:${port}`,
      mns: `http://{accountId}.mns.{region}.localhost:${port}`,
      sts: `http://sts.localhost:${port}`,
      oss: `http://oss-{region}.localhost:${port}`,
    },
    accounts: accounts.seededKeys().map((key) => {
      const account = accounts.getAccount(key.accountId);
      const regions = [...new Set(regionsOf(key.accountId))].sort();
      return {
        id: key.accountId,
        name: key.accountName,
        accessKeyId: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
        principalArn: key.arn,
        roles: [...(account?.roles.values() ?? [])].map((role) => ({
          name: role.name,
          arn: role.arn,
          trustedAccounts: role.trustedAccounts,
        })),
        sts: `http://sts.localhost:${port}`,
        regions: Object.fromEntries(
          regions.map((region) => [region, regionEndpoints(port, key.accountId, region)]),
        ),
      };
    }),
  };
}

/** Writes atomically (temp file + rename) so a reader never sees half a file. Mode 0600: it holds secrets. */
export async function writeEndpointsFile(path: string, document: EndpointsDocument): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}
