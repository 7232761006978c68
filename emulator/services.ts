/**
 * The services the emulator assembles. ECS and STS need core internals (scheduler, account store)
 * and are built in emulator/index.ts; SLS, MNS and OSS plug in through the plain `ServiceFactory`
 * contract.
 */
import type { ServiceContext } from "./core/types";
import { createMnsService, type MnsService } from "./mns/index";
import { createOssService, type OssService } from "./oss/index";
import { createSlsService, type SlsService } from "./sls/index";

export interface PartnerServices {
  sls: SlsService;
  mns: MnsService;
  oss: OssService;
}

export function createPartnerServices(ctx: ServiceContext): PartnerServices {
  return { sls: createSlsService(ctx), mns: createMnsService(ctx), oss: createOssService(ctx) };
}
