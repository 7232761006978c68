/**
 * The one place adapters are assembled, from explicit options: endpoints, the hub's credentials,
 * the roles to assume. Handlers build this once per invocation (or keep it across warm starts).
 */
import type { BucketAdminPort } from "../deploy/hubBucket";
import type { CloudCredentials, CredentialsPort } from "../ports/credentials";
import type { AccountRegion, EcsPort } from "../ports/ecs";
import type { EndpointResolver } from "../ports/endpoints";
import type { QueuePort, QueueScope } from "../ports/queue";
import type { SlsPort, SlsScope } from "../ports/sls";
import type { SnapshotStore } from "../ports/snapshots";
import { AssumeRoleCredentials, type RoleToAssume } from "./assumeRoleCredentials";
import { type CallGate, openGate } from "./callGate";
import type { CallPolicy } from "./cloudCall";
import { EcsAdapter } from "./ecsAdapter";
import { MnsQueueAdapter } from "./mnsQueueAdapter";
import { OssSnapshotStore } from "./ossSnapshotStore";
import type { RetryOptions } from "./retry";
import { createSdkClients, type SdkClients, type SdkTimeouts } from "./sdkClients";
import { type ConsistencyRetry, SlsAdapter } from "./slsAdapter";

export interface AlibabaAdaptersOptions {
  endpoints: EndpointResolver;
  hub: {
    accountId: string;
    region: string;
    /** FC's credentials (context.credentials), or a key pair; called on every use. */
    credentials: () => CloudCredentials | Promise<CloudCredentials>;
  };
  /** Account UID → role the hub assumes there (see rolesFromRoutes). */
  roles: ReadonlyMap<string, RoleToAssume>;
  sessionName?: string;
  /** Clock for credential expiry; default Date.now. */
  now?: () => number;
  retry?: Partial<RetryOptions>;
  /**
   * How the adapters wait (retry backoff, SLS's eventual consistency): the function's clock, which on
   * the local stack is the emulator's. Default: wall time.
   */
  sleep?: (ms: number) => Promise<void>;
  /** Rate-limiting seam; default lets every call through. */
  gate?: CallGate;
  slsConsistency?: Partial<ConsistencyRetry>;
  timeouts?: SdkTimeouts;
}

export interface AlibabaAdapters {
  credentials: CredentialsPort;
  clients: SdkClients;
  ecs(scope: AccountRegion): EcsPort;
  sls(scope: SlsScope): SlsPort;
  queue(scope?: QueueScope): QueuePort;
  /** A bucket of the hub, in the hub's region, as the store of shared observations. */
  snapshotStore(bucket: string): SnapshotStore & BucketAdminPort & Pick<OssSnapshotStore, "createOnce">;
}

export function createAlibabaAdapters(options: AlibabaAdaptersOptions): AlibabaAdapters {
  const clients = createSdkClients(options.endpoints, options.timeouts);
  const sleep = options.sleep === undefined ? {} : { sleep: options.sleep };
  const policy: CallPolicy = { gate: options.gate ?? openGate, retry: { ...sleep, ...options.retry } };
  const credentials = new AssumeRoleCredentials({
    hubAccountId: options.hub.accountId,
    hubCredentials: options.hub.credentials,
    roles: options.roles,
    clients,
    stsRegion: options.hub.region,
    ...(options.sessionName === undefined ? {} : { sessionName: options.sessionName }),
    ...(options.now === undefined ? {} : { now: options.now }),
    gate: policy.gate,
    retry: policy.retry,
  });
  return {
    credentials,
    clients,
    ecs: (scope) => new EcsAdapter(scope, { clients, credentials, policy }),
    sls: (scope) =>
      new SlsAdapter(scope, {
        clients,
        credentials,
        policy,
        consistency: { ...sleep, ...options.slsConsistency },
      }),
    queue: (scope = { accountId: options.hub.accountId, region: options.hub.region }) =>
      new MnsQueueAdapter(scope, { clients, credentials, policy }),
    snapshotStore: (bucket) =>
      new OssSnapshotStore(
        { accountId: options.hub.accountId, region: options.hub.region, bucket },
        { clients, credentials, policy },
      ),
  };
}
