import { hexRequestId } from "../core/requestIds";
import type {
  EmulatedService,
  ServiceContext,
  ServiceFactory,
  ServiceRequest,
  ServiceResponse,
} from "../core/types";
import { authenticateMns } from "./auth";
import { MnsBackend, type MnsBackendOptions } from "./backend";
import { MnsError, mnsErrors } from "./errors";
import { type MnsResult, mnsHandlers } from "./operations";
import { isMnsHost, parseMnsHost, routeMnsRequest } from "./routing";
import { xmlDocument } from "./xml";

export type { DuplicateDeliveryFault, MnsBackendOptions, QueueAttributes } from "./backend";
export { MnsBackend } from "./backend";
export { MnsError } from "./errors";
export type { MnsOperation } from "./routing";

/** The MNS service plus its backend (the core's admin API calls `backend.injectDuplicateDeliveries`). */
export interface MnsService extends EmulatedService {
  name: "mns";
  backend: MnsBackend;
}

export function createMnsServiceWithOptions(
  ctx: ServiceContext,
  options: Partial<MnsBackendOptions> = {},
): MnsService {
  const backend = new MnsBackend(ctx.clock, options);

  async function handle(req: ServiceRequest): Promise<ServiceResponse> {
    const requestId = hexRequestId(ctx.clock.now(), ctx.nextId());
    const hostId = `http://${req.host}`;
    const baseHeaders = {
      "x-mns-request-id": requestId,
      "x-mns-version": "2015-06-06",
      server: "MNS-emulator",
    };
    try {
      const target = parseMnsHost(req.host);
      const key = authenticateMns(req, ctx);
      // Queues live in the account named by the host; a key of another account may not touch them.
      if (key.accountId !== target.accountId) throw mnsErrors.accessDenied();
      const query = new Map(Object.entries(req.query));
      const route = routeMnsRequest(req.method, req.path, query, req.body);
      const admission = await ctx.admit({
        service: "mns",
        operation: route.operation,
        accountId: key.accountId,
        region: target.region,
        caller: key.arn,
      });
      if (admission.kind === "throttled") throw mnsErrors.throttled();
      if (admission.kind === "fault") throw new MnsError(admission.status, admission.code, admission.message);
      // RAM (each API page's authorization table): `mns:<Operation>` on the queue, or on its messages.
      const queueArn = `acs:mns:${target.region}:${target.accountId}:/queues/${route.queueName ?? "*"}`;
      const onMessages = ![
        "CreateQueue",
        "SetQueueAttributes",
        "GetQueueAttributes",
        "DeleteQueue",
        "ListQueue",
      ].includes(route.operation);
      const decision = ctx.authorize(key, {
        action: `mns:${route.operation}`,
        resources: [{ arn: onMessages ? `${queueArn}/messages` : queueArn }],
      });
      if (!decision.allowed) throw mnsErrors.accessDenied();

      const result = await mnsHandlers[route.operation](backend, {
        accountId: target.accountId,
        region: target.region,
        queueName: route.queueName,
        query,
        headers: req.headers,
        document: route.document,
        queueUrl: (name) => `http://${req.headers.host ?? req.host}/queues/${name}`,
      });
      return toResponse(result, baseHeaders);
    } catch (error) {
      const failure = error instanceof MnsError ? error : mnsErrors.internal();
      return {
        status: failure.status,
        headers: { ...baseHeaders, "content-type": "text/xml;charset=utf-8" },
        body: xmlDocument("Error", [
          { name: "Code", value: failure.code },
          { name: "Message", value: failure.message },
          { name: "RequestId", value: requestId },
          { name: "HostId", value: hostId },
        ]),
      };
    }
  }

  return { name: "mns", matchesHost: isMnsHost, handle, reset: () => backend.reset(), backend };
}

function toResponse(result: MnsResult, baseHeaders: Record<string, string>): ServiceResponse {
  if ("root" in result) {
    return {
      status: result.status,
      headers: { ...baseHeaders, "content-type": "text/xml;charset=utf-8" },
      body: xmlDocument(result.root, result.children),
    };
  }
  return { status: result.status, headers: { ...baseHeaders, ...(result.headers ?? {}) }, body: "" };
}

/** Factory the core assembles: MNS on `<accountId>.mns.<region>.localhost`. */
export const createMnsService: ServiceFactory<MnsService> = (ctx) => createMnsServiceWithOptions(ctx);
