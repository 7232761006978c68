/** The hub and spoke accounts the local-stack tests load, and official-SDK clients for them. */
import Ecs from "@alicloud/ecs20140526";
import { $OpenApiUtil } from "@alicloud/openapi-core";
import Sls from "@alicloud/sls20201230";

export const REGION = "cn-hangzhou";
export const IDENTIFIER = "app-b-prod-linux";

export const HUB = {
  id: "1200000000000456",
  name: "hub",
  accessKeyId: "LTAIhubKey0001",
  accessKeySecret: "hub-secret-0001",
};

export const SPOKE = {
  id: "1700000000000397",
  name: "app-b",
  accessKeyId: "LTAIspokeKey01",
  accessKeySecret: "spoke-secret-01",
};

type Key = { accessKeyId: string; accessKeySecret: string };

const config = (endpoint: string, key: Key) =>
  new $OpenApiUtil.Config({
    accessKeyId: key.accessKeyId,
    accessKeySecret: key.accessKeySecret,
    regionId: REGION,
    endpoint,
    protocol: "http",
  });

export const ecsClient = (port: number, key: Key) => new Ecs(config(`ecs.${REGION}.localhost:${port}`, key));
export const slsClient = (port: number, key: Key) => new Sls(config(`${REGION}.log.localhost:${port}`, key));
