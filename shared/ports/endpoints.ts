/** Where each Alibaba Cloud API is reached, per account and region. */

/** What the Tea/Darabonba SDKs take: `Config.endpoint` (host[:port]) and `Config.protocol`. */
export interface ServiceEndpoint {
  host: string;
  protocol: "http" | "https";
}

export interface EndpointResolver {
  ecs(region: string): ServiceEndpoint;
  /** The account-level SLS endpoint; the SDK sends project calls to `<project>.<host>`. */
  sls(region: string): ServiceEndpoint;
  sts(region: string): ServiceEndpoint;
  /** OSS (the hub's snapshot bucket); the SDK sends bucket calls to `<bucket>.<host>`. */
  oss(region: string): ServiceEndpoint;
  /** The MNS endpoint URL of an account (`@alicloud/mns` takes the URL as is). */
  mns(accountId: string, region: string): string;
  /**
   * The SLS endpoint written into resources the service itself uses: a Logtail config's
   * `flusher_sls.Endpoint` and an ETL job's sink endpoint (host only, no scheme).
   */
  slsDataEndpoint(region: string, network?: DataNetwork): string;
}

/** How a route's hosts and copy jobs reach the destination's SLS (routes file: `network`). */
export type DataNetwork = "intranet" | "internet";
