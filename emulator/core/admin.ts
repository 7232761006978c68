import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { isoSeconds } from "./clock";
import { type FaultRule, type FaultRuleInput, faultRuleSchema } from "./faults";
import { type RateLimitRule, rateLimitRuleSchema } from "./limits";
import type { MetricsSnapshot } from "./metrics";
import type { ServiceRequest, ServiceResponse } from "./types";

/** What the admin API can do; implemented by the emulator handle (emulator/index.ts). */
export interface AdminActions {
  reset(options: { fleet: "initial" | "empty" }): Promise<unknown>;
  loadFleet(document: unknown): Promise<unknown>;
  endpoints(): unknown;
  addFault(rule: FaultRuleInput): FaultRule;
  removeFault(id: string): boolean;
  clearFaults(): void;
  listFaults(): readonly FaultRule[];
  setRateLimits(rules: RateLimitRule[]): void;
  listRateLimits(): readonly RateLimitRule[];
  clock(): { now: number; scale: number };
  advanceClock(ms: number): void;
  setClockScale(scale: number): void;
  metrics(): MetricsSnapshot;
  resetMetrics(): void;
  instances(filter: { accountId?: string; regionId?: string }): unknown;
  injectDuplicateDeliveries(fault: z.output<typeof duplicateDeliveryBody>): void;
  clearDuplicateDeliveries(): void;
}

export class AdminRequestError extends Error {
  override name = "AdminRequestError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const resetBody = z.strictObject({ fleet: z.enum(["initial", "empty"]).default("initial") });
const advanceBody = z
  .strictObject({ ms: z.number().min(0).optional(), seconds: z.number().min(0).optional() })
  .refine(
    (body) => (body.ms === undefined) !== (body.seconds === undefined),
    "give exactly one of ms, seconds",
  );
const scaleBody = z.strictObject({ scale: z.number().min(0).max(1_000_000) });
const duplicateDeliveryBody = z.strictObject({
  probability: z.number().min(0).max(1).optional(),
  nextCount: z.number().int().min(0).optional(),
  seed: z.number().int().optional(),
  outOfOrder: z.boolean().optional(),
});
const rateLimitsBody = z.strictObject({ rules: z.array(rateLimitRuleSchema) });

/** The admin HTTP API: JSON in, JSON out, under `/_admin/` (documented in emulator/README.md). */
export function createAdminHandler(actions: AdminActions): (req: ServiceRequest) => Promise<ServiceResponse> {
  return async (req) => {
    try {
      const path = req.path.replace(/^\/_admin/, "").replace(/\/+$/, "") || "/";
      const route = `${req.method} ${path}`;
      switch (true) {
        case route === "GET /" || route === "GET /health":
          return ok({ ok: true });
        case route === "GET /endpoints":
          return ok(actions.endpoints());
        case route === "POST /reset":
          return ok(await actions.reset(parse(resetBody, jsonBody(req, {}))));
        case route === "POST /fleet":
          return ok(await actions.loadFleet(documentBody(req)));
        case route === "GET /faults":
          return ok({ faults: actions.listFaults() });
        case route === "POST /faults":
          return ok(actions.addFault(parse(faultRuleSchema, jsonBody(req))));
        case route === "DELETE /faults":
          actions.clearFaults();
          return ok({ faults: [] });
        case req.method === "DELETE" && path.startsWith("/faults/"): {
          const id = path.slice("/faults/".length);
          if (!actions.removeFault(id)) throw new AdminRequestError(404, `no fault ${id}`);
          return ok({ removed: id });
        }
        case route === "GET /rate-limits":
          return ok({ rules: actions.listRateLimits() });
        case route === "PUT /rate-limits": {
          const body = parse(rateLimitsBody, jsonBody(req));
          actions.setRateLimits(body.rules);
          return ok({ rules: actions.listRateLimits() });
        }
        case route === "GET /clock":
          return ok(clockView(actions));
        case route === "POST /clock/advance": {
          const body = parse(advanceBody, jsonBody(req));
          actions.advanceClock(body.ms ?? (body.seconds ?? 0) * 1000);
          return ok(clockView(actions));
        }
        case route === "PUT /clock":
          actions.setClockScale(parse(scaleBody, jsonBody(req)).scale);
          return ok(clockView(actions));
        case route === "GET /metrics":
          return ok(actions.metrics());
        case route === "DELETE /metrics":
          actions.resetMetrics();
          return ok(actions.metrics());
        case route === "POST /mns/duplicate-deliveries":
          actions.injectDuplicateDeliveries(parse(duplicateDeliveryBody, jsonBody(req)));
          return ok({ ok: true });
        case route === "DELETE /mns/duplicate-deliveries":
          actions.clearDuplicateDeliveries();
          return ok({ ok: true });
        case route === "GET /instances": {
          const accountId = req.query.account;
          const regionId = req.query.region;
          return ok({
            instances: actions.instances({
              ...(accountId === undefined ? {} : { accountId }),
              ...(regionId === undefined ? {} : { regionId }),
            }),
          });
        }
        default:
          throw new AdminRequestError(404, `no admin route ${req.method} ${req.path}`);
      }
    } catch (error) {
      if (error instanceof AdminRequestError) return reply(error.status, { error: error.message });
      return reply(400, { error: error instanceof Error ? error.message : String(error) });
    }
  };
}

function clockView(actions: AdminActions): { now: number; iso: string; scale: number } {
  const { now, scale } = actions.clock();
  return { now, iso: isoSeconds(now), scale };
}

function jsonBody(req: ServiceRequest, fallback?: unknown): unknown {
  const text = req.body.toString("utf8").trim();
  if (text === "") {
    if (fallback !== undefined) return fallback;
    throw new AdminRequestError(400, "a JSON body is required");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AdminRequestError(400, "the body is not valid JSON");
  }
}

/** Fleet documents may be JSON or YAML. */
function documentBody(req: ServiceRequest): unknown {
  const text = req.body.toString("utf8");
  if (text.trim() === "") throw new AdminRequestError(400, "a fleet document (JSON or YAML) is required");
  try {
    return parseYaml(text);
  } catch (error) {
    throw new AdminRequestError(
      400,
      `not valid JSON/YAML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AdminRequestError(
      400,
      result.error.issues
        .map((issue) => `${issue.path.length === 0 ? "(body)" : issue.path.join(".")}: ${issue.message}`)
        .join("; "),
    );
  }
  return result.data;
}

function ok(body: unknown): ServiceResponse {
  return reply(200, body);
}

function reply(status: number, body: unknown): ServiceResponse {
  return {
    status,
    headers: { "content-type": "application/json;charset=utf-8" },
    body: `${JSON.stringify(body, null, 2)}\n`,
  };
}
