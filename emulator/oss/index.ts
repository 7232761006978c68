import { hexRequestId } from "../core/requestIds";
import type {
  EmulatedService,
  ServiceContext,
  ServiceFactory,
  ServiceRequest,
  ServiceResponse,
} from "../core/types";
import { authenticateOss } from "./auth";
import { OssBackend } from "./backend";
import { OssError, ossErrors } from "./errors";
import { ossHandlers } from "./operations";
import { isOssHost, type OssOperation, parseOssHost, routeOssRequest } from "./routing";
import { node, xmlDocument } from "./xml";

export type { BucketAcl, OssBucket, OssObject, StorageClass } from "./backend";
export { OssBackend } from "./backend";
export { OssError } from "./errors";
export type { OssOperation } from "./routing";

/** The OSS service plus its backend (tests and tools seed or inspect buckets through it). */
export interface OssService extends EmulatedService {
  name: "oss";
  backend: OssBackend;
}

/** RAM actions are `oss:<Operation>`, except HeadObject, which OSS authorizes as `oss:GetObject`. */
function ramAction(operation: OssOperation): string {
  return operation === "HeadObject" ? "oss:GetObject" : `oss:${operation}`;
}

export function createOssServiceWithBackend(ctx: ServiceContext, backend: OssBackend): OssService {
  async function handle(req: ServiceRequest): Promise<ServiceResponse> {
    const requestId = hexRequestId(ctx.clock.now(), ctx.nextId());
    const baseHeaders = { "x-oss-request-id": requestId, server: "AliyunOSS" };
    try {
      const target = parseOssHost(req.host);
      const key = authenticateOss(req, target.bucket, ctx);
      const route = routeOssRequest(req.method, req.path, req.query);
      const bucket = backend.findBucket(target.bucket);
      // A new bucket belongs to the caller; a taken name is PutBucket's own 409, not a refusal.
      const ownerAccountId =
        route.operation === "PutBucket" ? key.accountId : (bucket?.ownerAccountId ?? key.accountId);
      // Buckets are private and bucket policies are not emulated: only the owner's keys reach them.
      if (key.accountId !== ownerAccountId) throw ossErrors.notBucketOwner();
      if (bucket !== undefined && route.operation !== "PutBucket" && bucket.region !== target.region)
        throw ossErrors.wrongEndpoint(bucket.name, `oss-${bucket.region}.localhost`);

      const admission = await ctx.admit({
        service: "oss",
        operation: route.operation,
        accountId: ownerAccountId,
        region: target.region,
        caller: key.arn,
      });
      if (admission.kind === "throttled") throw ossErrors.throttled();
      if (admission.kind === "fault") throw new OssError(admission.status, admission.code, admission.message);

      // RAM resources: `acs:oss:*:<owner>:<bucket>` for bucket operations, `…:<bucket>/<key>` for objects.
      const bucketArn = `acs:oss:*:${ownerAccountId}:${target.bucket}`;
      const resource = route.key === undefined ? bucketArn : `${bucketArn}/${route.key}`;
      const action = ramAction(route.operation);
      const decision = ctx.authorize(key, { action, resources: [{ arn: resource }] });
      if (!decision.allowed) throw ossErrors.ramDenied(action, resource);

      const result = ossHandlers[route.operation](backend, {
        bucket: target.bucket,
        region: target.region,
        key: route.key,
        callerAccountId: key.accountId,
        headers: req.headers,
        query: req.query,
        body: req.body,
      });
      return { status: result.status, headers: { ...baseHeaders, ...result.headers }, body: result.body };
    } catch (error) {
      const failure = error instanceof OssError ? error : ossErrors.internal();
      return {
        status: failure.status,
        headers: { ...baseHeaders, "content-type": "application/xml" },
        body: xmlDocument("Error", [
          node("Code", failure.code),
          node("Message", failure.message),
          node("RequestId", requestId),
          node("HostId", req.host),
          ...failure.details.map(([name, value]) => node(name, value)),
        ]),
      };
    }
  }

  return { name: "oss", matchesHost: isOssHost, handle, reset: () => backend.reset(), backend };
}

/** Factory the core assembles: OSS on `<bucket>.oss-<region>.localhost`. */
export const createOssService: ServiceFactory<OssService> = (ctx) =>
  createOssServiceWithBackend(ctx, new OssBackend(ctx.clock));
