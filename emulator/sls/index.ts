import { normalizeRoleArn } from "../core/accounts";
import type {
  EmulatedService,
  ServiceContext,
  ServiceFactory,
  ServiceRequest,
  ServiceResponse,
} from "../core/types";
import { authenticateSls, verifyBodyDigest } from "./auth";
import { SlsBackend, type SlsBackendOptions } from "./backend";
import { SlsError, slsErrors } from "./errors";
import { slsHandlers } from "./operations";
import {
  binaryResponse,
  emptyResponse,
  errorResponse,
  isSlsHost,
  jsonResponse,
  parseJsonBody,
  parseQuery,
  parseSlsHost,
  slsRequestId,
  toSlsError,
} from "./protocol";
import { etlReadRole, type SlsRamInput, slsRamRequest } from "./ram";
import { routeSlsRequest } from "./routing";

export type { HeartbeatInput, MachineIdentity, SlsBackendOptions, SlsRoleDirectory } from "./backend";
export { SlsBackend } from "./backend";
export { SlsError } from "./errors";
export type { LogRow, LogRowSource } from "./logRows";
export type { LogStore, StoredGroup } from "./logStore";
export type { SlsOperation } from "./routing";

/** The SLS service plus its backend, which the core's admin API and the simulated agents drive. */
export interface SlsService extends EmulatedService {
  name: "sls";
  backend: SlsBackend;
}

export function createSlsServiceWithOptions(
  ctx: ServiceContext,
  options: Partial<SlsBackendOptions> = {},
): SlsService {
  const backend = new SlsBackend(ctx.clock, options);

  async function handle(req: ServiceRequest): Promise<ServiceResponse> {
    const requestId = slsRequestId(ctx.clock.now(), ctx.nextId());
    try {
      const target = parseSlsHost(req.host);
      const query = parseQuery(req.rawQuery);
      const caller = authenticateSls(req, ctx, target.region, query);
      verifyBodyDigest(req);
      const route = routeSlsRequest(req.method, req.path, target.project !== undefined, query);
      const admission = await ctx.admit({
        service: "sls",
        operation: route.operation,
        accountId: caller.accountId,
        region: target.region,
        caller: caller.arn,
      });
      if (admission.kind === "throttled") throw slsErrors.throttled();
      if (admission.kind === "fault") throw new SlsError(admission.status, admission.code, admission.message);
      authorizeSls(ctx, caller, {
        operation: route.operation,
        accountId: caller.accountId,
        region: target.region,
        project: target.project,
        params: route.params,
        body: () => parseJsonBody(req),
      });

      const result = slsHandlers[route.operation](backend, {
        scope: { accountId: caller.accountId, region: target.region, action: route.operation },
        project: target.project ?? "",
        params: route.params,
        query: new Map(query.map((pair) => [pair.key, pair.value])),
        body: () => parseJsonBody(req),
        headers: req.headers,
        rawBody: req.body,
      });
      if (result === undefined) return emptyResponse(requestId);
      if ("binary" in result) return binaryResponse(requestId, result.binary, result.headers);
      return jsonResponse(requestId, result.json, 200, result.headers);
    } catch (error) {
      return errorResponse(requestId, toSlsError(error));
    }
  }

  return {
    name: "sls",
    matchesHost: isSlsHost,
    handle,
    reset: () => backend.reset(),
    backend,
  };
}

/** RAM's verdict, as SLS answers a refusal: 401 Unauthorized, "denied by sts or ram". */
function authorizeSls(ctx: ServiceContext, caller: { arn: string }, input: SlsRamInput): void {
  const requests = [slsRamRequest(input)];
  const passed = input.operation === "CreateETL" ? etlReadRole(input.body()) : undefined;
  if (passed !== undefined)
    requests.push({ action: "ram:PassRole", resources: [{ arn: normalizeRoleArn(passed) }] });
  for (const request of requests) {
    const decision = ctx.authorize(caller, request);
    if (!decision.allowed)
      throw new SlsError(
        401,
        "Unauthorized",
        `denied by sts or ram, action: ${decision.action}, resource: ${decision.resource}`,
      );
  }
}

/** Factory the core assembles: SLS on `<region>.log.localhost` and `<project>.<region>.log.localhost`. */
export const createSlsService: ServiceFactory<SlsService> = (ctx) => createSlsServiceWithOptions(ctx);
