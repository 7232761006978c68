/**
 * The decisions, once: what to do about one instance, and when a source account cuts over. The
 * planner (reconcile, `plan`) calls them with everything it observed; authorize calls the instance
 * decision with only what an event run sees (tags, state). Neither decides anything on its own:
 * they observe, call these, and act.
 */
import type { RoutesFile } from "../config/routesSchema";
import { resolveRoute } from "../domain/routeResolution";
import {
  isHostFailure,
  isRefusal,
  parseStatus,
  type ReasonCode,
  type Stage,
  type Status,
} from "../domain/status";
import type { InstanceRecord } from "../ports/ecs";
import type { RouteResource } from "./types";

/** ECS states in which no command runs: the start event brings the instance back. */
export const NOT_RUNNING: ReadonlySet<string> = new Set(["Stopped", "Stopping", "Starting", "Pending"]);

/** What is known about an instance besides its tags and state; absent: not observed. */
export interface InstanceFacts {
  /** Routes whose identifier the host sends in a fresh heartbeat to their machine group. */
  heartbeatingIn?: readonly string[];
  /** Whether the machine group of the instance's route for its OS exists. */
  machineGroupExists?: boolean;
  /** The route's destination resources missing for the instance's OS. */
  missingResources?: readonly RouteResource[];
  cloudAssistantOnline?: boolean;
}

export interface InstanceDecision {
  /** The route the instance's tag resolves to, when it resolves to one. */
  route?: string;
  /** The tag or the routes file refuse the instance (the verdict says why). */
  refused?: true;
  /** Where the instance stands; absent for an untagged instance this tool has nothing to do with. */
  verdict?: { stage: Stage; reason?: ReasonCode; detail?: string };
  /**
   * Whether the verdict's status is to be written now. False when a later step gives it: the host
   * command's result (revoke), the heartbeat check (authorized, a retried failure).
   */
  writeStatus: boolean;
  /** Run the host script to authorize the instance for this route. */
  authorize?: string;
  /**
   * Remove these routes' identifiers from the host; `offboards`: the instance leaves this tool
   * (marked `revoked` once every one is removed), rather than a re-tag cleaning up old routes;
   * `presumed`: no heartbeat showed them, they are every route the host may carry.
   */
  revoke?: { routes: string[]; offboards: boolean; presumed: boolean };
  /** Authorized and not heartbeating yet: hand the wait to the heartbeat check. */
  awaitHeartbeat?: string;
  /** Heartbeating and not collecting: apply binds the config and marks it if its lines are there. */
  checkDelivery?: string;
}

/** Routes whose identifier an instance of this account and OS may carry. */
export function candidateRoutes(
  config: RoutesFile,
  instance: Pick<InstanceRecord, "accountId" | "os">,
): string[] {
  return Object.entries(config.routes)
    .filter(
      ([, route]) =>
        route.identifier[instance.os] !== undefined &&
        route.sources.some((source) => source.account === instance.accountId),
    )
    .map(([name]) => name);
}

/** The status a successful authorize command leaves: a retried host failure keeps its reason until
 * the heartbeat check gives a new verdict, so it does not flap to authorized and back. */
export function statusAfterAuthorize(current: Status | undefined): Status {
  return current !== undefined && isHostFailure(current) ? current : { stage: "authorized" };
}

/** The status tag a verdict stands for. */
export function verdictStatus(verdict: { stage: Stage; reason?: ReasonCode }): Status {
  return verdict.stage === "failed"
    ? { stage: "failed", reason: verdict.reason ?? "HostScriptFailed" }
    : { stage: verdict.stage };
}

export function decideInstance(
  config: RoutesFile,
  instance: Pick<InstanceRecord, "accountId" | "region" | "os" | "status" | "tags">,
  facts: InstanceFacts = {},
): InstanceDecision {
  const current = parseStatus(instance.tags[config.statusTagKey]);
  const resolution = resolveRoute(config, instance, instance.tags[config.tagKey]);
  const running = !NOT_RUNNING.has(instance.status);
  const seenIn = facts.heartbeatingIn ?? [];
  const none: InstanceDecision = { writeStatus: false };

  if (resolution.kind === "refused") {
    // Tagged with a route it may not use: it leaves the routes it is seen in or, unobserved, every
    // route it may carry if it was onboarded. A host refused from the start (or already taken off)
    // is left alone; removing an identifier that is not there changes nothing on the host.
    const onboarded = current !== undefined && current.stage !== "revoked" && !isRefusal(current);
    const carried = seenIn.length > 0 ? [...seenIn] : onboarded ? candidateRoutes(config, instance) : [];
    return {
      refused: true,
      verdict: { stage: "failed", reason: resolution.reason, detail: resolution.detail },
      writeStatus: true,
      ...(running && carried.length > 0
        ? { revoke: { routes: carried, offboards: false, presumed: seenIn.length === 0 } }
        : {}),
    };
  }

  if (resolution.kind === "untagged") {
    if (!running) return none;
    if (seenIn.length > 0) {
      return {
        verdict: { stage: "revoked", detail: `untagged, still in ${seenIn.join(", ")}` },
        writeStatus: false,
        revoke: { routes: [...seenIn], offboards: true, presumed: false },
      };
    }
    // Not heartbeating but onboarded once: the identifier may still be on disk.
    if (current === undefined || current.stage === "revoked") return none;
    const candidates = candidateRoutes(config, instance);
    return {
      verdict: { stage: "revoked", detail: "untagged" },
      writeStatus: false,
      ...(candidates.length > 0 ? { revoke: { routes: candidates, offboards: true, presumed: true } } : {}),
    };
  }

  const route = resolution.name;
  if (!running) {
    // Onboarded when it starts: the start event wakes authorize, reconcile is the safety net.
    return {
      route,
      verdict: { stage: "pending", detail: `instance is ${instance.status}` },
      writeStatus: true,
    };
  }
  // Seen heartbeating in other routes (a re-tag): those identifiers come off the host.
  const seenElsewhere = seenIn.filter((name) => name !== route);
  const revokeSeen =
    seenElsewhere.length > 0 ? { revoke: { routes: seenElsewhere, offboards: false, presumed: false } } : {};

  if (seenIn.includes(route)) {
    const missing = facts.missingResources ?? [];
    if (missing.length > 0) {
      return {
        route,
        verdict: { stage: "authorized", detail: `heartbeating, but ${missing.join(", ")} missing` },
        writeStatus: true,
        ...revokeSeen,
      };
    }
    // Lines earn `collecting`, and a heartbeat keeps it (an idle host sends nothing). A host that
    // heartbeats without having delivered is the heartbeat check's: it waits for the host's lines
    // and diagnoses it past the route's delivery timeout.
    if (current?.stage === "collecting") {
      return { route, verdict: { stage: "collecting" }, writeStatus: true, ...revokeSeen };
    }
    if (current !== undefined && isHostFailure(current)) {
      return {
        route,
        verdict: {
          stage: "failed",
          reason: current.reason,
          detail: "heartbeating: looking for its lines again",
        },
        writeStatus: false,
        awaitHeartbeat: route,
        checkDelivery: route,
        ...revokeSeen,
      };
    }
    return {
      route,
      verdict: { stage: "authorized", detail: "heartbeating, waiting for its first line" },
      writeStatus: true,
      awaitHeartbeat: route,
      checkDelivery: route,
      ...revokeSeen,
    };
  }
  if (
    facts.machineGroupExists === false &&
    seenIn.length === 0 &&
    (current?.stage === "collecting" || current?.stage === "authorized")
  ) {
    // Without its machine group no heartbeat can be seen: the route's group is made again first
    // and the next look judges the host. Running the host script now would change nothing on it.
    return {
      route,
      verdict: { stage: current.stage, detail: "machine group missing: made again first" },
      writeStatus: false,
    };
  }
  if (facts.cloudAssistantOnline === false) {
    return {
      route,
      verdict: { stage: "failed", reason: "CloudAssistantOffline" },
      writeStatus: true,
      ...revokeSeen,
    };
  }
  if (facts.heartbeatingIn !== undefined && current?.stage === "authorized") {
    // Authorized and not heartbeating yet: the heartbeat function owns the wait and its timeout.
    return {
      route,
      verdict: { stage: "authorized", detail: "waiting for the first heartbeat" },
      writeStatus: false,
      awaitHeartbeat: route,
      ...revokeSeen,
    };
  }

  // Anything else — new, pending, revoked, failed (the host may have been fixed), or collecting
  // without a heartbeat (drift) — is authorized again; on a converged host that changes nothing.
  // Onboarded before, possibly under another route: the other routes' identifiers this account
  // may carry come off the host too. A pending host never got that far; a refused one was taken
  // off when it was refused, and is authorized as new.
  const onboarded =
    current !== undefined &&
    current.stage !== "pending" &&
    current.stage !== "revoked" &&
    !isRefusal(current);
  const others = onboarded
    ? [...new Set([...seenElsewhere, ...candidateRoutes(config, instance).filter((name) => name !== route)])]
    : seenElsewhere;
  const revoke =
    others.length > 0
      ? { revoke: { routes: others.sort(), offboards: false, presumed: seenElsewhere.length === 0 } }
      : {};
  if (current !== undefined && isHostFailure(current)) {
    return {
      route,
      verdict: { stage: "failed", reason: current.reason, detail: "retried: the host may have been fixed" },
      writeStatus: false,
      authorize: route,
      ...revoke,
    };
  }
  const detail = current?.stage === "collecting" ? "was collecting, no heartbeat now (drift)" : undefined;
  return {
    route,
    verdict: { stage: "pending", ...(detail ? { detail } : {}) },
    writeStatus: true,
    authorize: route,
    ...revoke,
  };
}

/**
 * Whether a host action decided from an earlier observation still applies to the instance as it
 * is now: an authorize whose tag still names its route, an offboarding revoke of an instance that is
 * still off every route, a re-tag's clean-up of routes the tag does not name again. A change since
 * brought its own event, whose run decides anew.
 */
export function hostActionStillApplies(
  config: RoutesFile,
  instance: Pick<InstanceRecord, "accountId" | "region" | "os" | "status" | "tags">,
  action:
    | { kind: "authorize"; route: string }
    | { kind: "revoke"; routes: readonly string[]; offboards: boolean },
): boolean {
  if (NOT_RUNNING.has(instance.status)) return false;
  const resolution = resolveRoute(config, instance, instance.tags[config.tagKey]);
  const route = resolution.kind === "route" ? resolution.name : undefined;
  if (action.kind === "authorize") return route === action.route;
  if (action.offboards) return route === undefined;
  return route === undefined || !action.routes.includes(route);
}

/** What a source account's cutover still has to do, as observed (absent: not observed yet). */
export interface CutoverFacts {
  retireConfigured: boolean;
  backfillConfigured: boolean;
  retireBindingPresent?: boolean;
  backfillJobExists?: boolean;
}

export interface CutoverSteps {
  retire: boolean;
  createBackfill: boolean;
}

/** The cutover's steps not done yet; both false: done (or nothing to do) whoever collects. */
export function pendingCutoverSteps(facts: CutoverFacts): CutoverSteps {
  return {
    retire: facts.retireConfigured && facts.retireBindingPresent !== false,
    createBackfill: facts.backfillConfigured && facts.backfillJobExists !== true,
  };
}

/**
 * A source account cuts over once none of its running instances on the route is still on its way
 * (counted across all its regions): each collects or has failed, and at least one collects. A
 * failed host does not hold the others back; its lines stay in the source, and the source config
 * is retired only when its whole group is migrated.
 */
export function readyForCutover(counts: { running: number; collecting: number; failed?: number }): boolean {
  return counts.collecting > 0 && counts.collecting + (counts.failed ?? 0) >= counts.running;
}
