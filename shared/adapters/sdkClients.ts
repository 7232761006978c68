/**
 * Builds official SDK clients from explicit endpoints and credentials; nothing is built at import
 * time. A client is reused while its credentials object is the same one (credentials ports hand out
 * the same object until they refresh it).
 */
import Ecs from "@alicloud/ecs20140526";
import MnsClient from "@alicloud/mns";
import * as $OpenApiClient from "@alicloud/openapi-client";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import Oss from "@alicloud/oss20190517";
import Sls from "@alicloud/sls20201230";
import Sts from "@alicloud/sts20150401";
import type { CloudCredentials } from "../ports/credentials";
import type { EndpointResolver, ServiceEndpoint } from "../ports/endpoints";

export interface SdkTimeouts {
  connectTimeoutMs: number;
  readTimeoutMs: number;
}

export interface SdkClients {
  ecs(region: string, credentials: CloudCredentials): Ecs;
  sls(region: string, credentials: CloudCredentials): Sls;
  sts(region: string, credentials: CloudCredentials): Sts;
  mns(accountId: string, region: string, credentials: CloudCredentials): MnsClient;
  oss(region: string, credentials: CloudCredentials): Oss;
}

export function createSdkClients(
  endpoints: EndpointResolver,
  timeouts: SdkTimeouts = { connectTimeoutMs: 5_000, readTimeoutMs: 15_000 },
): SdkClients {
  const settings = (endpoint: ServiceEndpoint, region: string, credentials: CloudCredentials) => ({
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    securityToken: credentials.securityToken,
    regionId: region,
    endpoint: endpoint.host,
    protocol: endpoint.protocol,
    connectTimeout: timeouts.connectTimeoutMs,
    readTimeout: timeouts.readTimeoutMs,
  });
  const config = (endpoint: ServiceEndpoint, region: string, credentials: CloudCredentials) =>
    new $OpenApiUtil.Config(settings(endpoint, region, credentials));
  // One cache per client kind: credentials object → key (region, account) → client.
  const cache = <C>() => {
    const byCredentials = new WeakMap<CloudCredentials, Map<string, C>>();
    return (credentials: CloudCredentials, key: string, build: () => C): C => {
      const clients = byCredentials.get(credentials) ?? new Map<string, C>();
      byCredentials.set(credentials, clients);
      const client = clients.get(key) ?? build();
      clients.set(key, client);
      return client;
    };
  };
  const ecs = cache<Ecs>();
  const sls = cache<Sls>();
  const sts = cache<Sts>();
  const mns = cache<MnsClient>();
  const oss = cache<Oss>();
  return {
    ecs: (region, credentials) =>
      ecs(credentials, region, () => new Ecs(config(endpoints.ecs(region), region, credentials))),
    sls: (region, credentials) =>
      sls(credentials, region, () => new Sls(config(endpoints.sls(region), region, credentials))),
    sts: (region, credentials) =>
      sts(credentials, region, () => new Sts(config(endpoints.sts(region), region, credentials))),
    mns: (accountId, region, credentials) =>
      mns(
        credentials,
        `${accountId}/${region}`,
        () =>
          new MnsClient(accountId, {
            accessKeyId: credentials.accessKeyId,
            accessKeySecret: credentials.accessKeySecret,
            ...(credentials.securityToken === undefined ? {} : { securityToken: credentials.securityToken }),
            endpoint: endpoints.mns(accountId, region),
            connectTimeout: timeouts.connectTimeoutMs,
            // Long polls last up to 30 s: the read timeout must outlast them.
            readTimeout: Math.max(timeouts.readTimeoutMs, 40_000),
          }),
      ),
    // The OSS SDK is of the older Tea generation: its Config class is openapi-client's.
    oss: (region, credentials) =>
      oss(
        credentials,
        region,
        () => new Oss(new $OpenApiClient.Config(settings(endpoints.oss(region), region, credentials))),
      ),
  };
}
