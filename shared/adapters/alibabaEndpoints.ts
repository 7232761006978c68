/**
 * Alibaba Cloud's own endpoints (https). `public` works from anywhere, FC included; `vpc` is for
 * functions attached to a VPC in the same region (ecs-vpc, <region>-intranet.log, sts-vpc,
 * <uid>.mns.<region>-internal, oss-<region>-internal), which keeps API traffic off the internet.
 * Sources: the ECS, SLS, MNS, STS and OSS endpoint tables in Alibaba's documentation.
 */
import type { EndpointResolver, ServiceEndpoint } from "../ports/endpoints";

export type AlibabaNetwork = "public" | "vpc";

export interface AlibabaEndpointOptions {
  /** How the functions reach the APIs. Default public. */
  network?: AlibabaNetwork;
  /**
   * The SLS endpoint agents and ETL sinks use. Default `<region>-intranet.log.aliyuncs.com`: ECS
   * instances in the project's region reach it without internet access. Hosts in another region
   * (or another cloud) need `public`.
   */
  slsDataNetwork?: "intranet" | "public";
}

export function alibabaEndpoints(options: AlibabaEndpointOptions = {}): EndpointResolver {
  const vpc = options.network === "vpc";
  const https = (host: string): ServiceEndpoint => ({ host, protocol: "https" });
  return {
    ecs: (region) => https(vpc ? `ecs-vpc.${region}.aliyuncs.com` : `ecs.${region}.aliyuncs.com`),
    sls: (region) => https(vpc ? `${region}-intranet.log.aliyuncs.com` : `${region}.log.aliyuncs.com`),
    // The global STS endpoint answers for every region; the VPC one is per region.
    sts: (region) => https(vpc ? `sts-vpc.${region}.aliyuncs.com` : "sts.aliyuncs.com"),
    // FC reaches the internal OSS endpoint of its own region.
    oss: (region) => https(vpc ? `oss-${region}-internal.aliyuncs.com` : `oss-${region}.aliyuncs.com`),
    // MNS internal endpoints are documented as http only.
    mns: (accountId, region) =>
      vpc
        ? `http://${accountId}.mns.${region}-internal.aliyuncs.com`
        : `https://${accountId}.mns.${region}.aliyuncs.com`,
    // A route that crosses regions says `internet`: its hosts cannot reach another region's intranet.
    slsDataEndpoint: (region, network) =>
      network === "internet" || options.slsDataNetwork === "public"
        ? `${region}.log.aliyuncs.com`
        : `${region}-intranet.log.aliyuncs.com`,
  };
}
