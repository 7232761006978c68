/**
 * Members of a route's machine group that no observed instance accounts for (pure). Two kinds:
 * - an onboarded instance whose route and status tags were both removed (infrastructure as code that
 *   owns the tag set does exactly that): no tag lists it any more, yet its host still carries the
 *   route's identifier and ships to the destination. Reconcile traces it and offboards it;
 * - a stranger: any host that knows the destination UID and an identifier joins the group and
 *   receives the route's config. It is reported (status, plan, reconcile's log), never acted on.
 */
import type { OperatingSystem, RoutesFile } from "../config/routesSchema";
import type { LogLine } from "../ports/log";
import { heartbeatMatch, isLiveMember } from "./heartbeating";
import {
  DEFAULT_PLANNER_OPTIONS,
  type Observed,
  type ObservedInstance,
  type ObservedMachine,
  type PlannerOptions,
} from "./types";

export interface UnaccountedMember {
  route: string;
  os: OperatingSystem;
  machine: ObservedMachine;
}

/**
 * Fresh members carrying the route's identifier that no observed instance accounts for, by its
 * heartbeat keys or its private IP (an ARM host before its agent-id tag is written).
 */
export function unaccountedMembers(
  config: RoutesFile,
  observed: Observed,
  options: PlannerOptions = DEFAULT_PLANNER_OPTIONS,
): UnaccountedMember[] {
  const found: UnaccountedMember[] = [];
  for (const [name, route] of Object.entries(config.routes)) {
    for (const [os, group] of Object.entries(observed.routes[name]?.groups ?? {}) as Array<
      [OperatingSystem, NonNullable<Observed["routes"][string]["groups"][OperatingSystem]>]
    >) {
      const identifier = route.identifier[os];
      if (identifier === undefined || !group.exists) continue;
      const at = (group.listedAt ?? observed.now) / 1000;
      const matched = new Set<ObservedMachine>();
      const ips = new Set<string>();
      for (const instance of observed.instances) {
        if (instance.os !== os) continue;
        const match = heartbeatMatch(group.machines, instance, identifier, at, options.heartbeatFreshSeconds);
        if (match) matched.add(match.machine);
        for (const ip of instance.privateIps ?? []) ips.add(ip);
      }
      for (const machine of group.machines) {
        const live = isLiveMember(machine, identifier, at, options.heartbeatFreshSeconds);
        if (live && !matched.has(machine) && !ips.has(machine.ip)) found.push({ route: name, os, machine });
      }
    }
  }
  return found;
}

/**
 * The route groups each instance was traced into, and the members traced to none (strangers). An
 * instance is traced by its heartbeat keys, or by its private IP (an ARM host's agent-id tag went
 * with the others).
 * Only instances of the accounts the route's sources name; an IP is matched only when one instance
 * has it, so a reused address in another VPC traces nothing.
 */
export function traceMembers(
  config: RoutesFile,
  members: readonly UnaccountedMember[],
  candidates: readonly ObservedInstance[],
  nowSeconds: number,
  options: PlannerOptions = DEFAULT_PLANNER_OPTIONS,
): { traced: Map<ObservedInstance, string[]>; strangers: UnaccountedMember[] } {
  const traced = new Map<ObservedInstance, string[]>();
  const strangers: UnaccountedMember[] = [];
  const add = (instance: ObservedInstance, route: string) => {
    const routes = traced.get(instance) ?? [];
    if (!routes.includes(route)) traced.set(instance, [...routes, route]);
  };
  for (const member of members) {
    const route = config.routes[member.route];
    const identifier = route?.identifier[member.os];
    if (route === undefined || identifier === undefined) {
      strangers.push(member);
      continue;
    }
    const sources = new Set(route.sources.map((source) => source.account));
    const eligible = candidates.filter((i) => i.os === member.os && sources.has(i.accountId));
    const byKeys = eligible.find(
      (i) =>
        heartbeatMatch([member.machine], i, identifier, nowSeconds, options.heartbeatFreshSeconds) !==
        undefined,
    );
    const byIp = eligible.filter((i) => i.privateIps?.includes(member.machine.ip) === true);
    const instance = byKeys ?? (byIp.length === 1 ? byIp[0] : undefined);
    if (instance !== undefined) add(instance, member.route);
    else strangers.push(member);
  }
  return { traced, strangers };
}

/** How a stranger is reported (reconcile's log, the timer's census check): never acted on. */
export function strangerLine(stranger: UnaccountedMember): LogLine {
  const { machine } = stranger;
  return {
    action: "reconcile",
    outcome: "skipped",
    accountId: "",
    region: "",
    instanceIds: [],
    detail: `stranger: a machine in route ${stranger.route}'s ${stranger.os} group matches no instance of its accounts: ip ${machine.ip}, machine id ${machine.machineUniqueId}${machine.hostId ? `, host id ${machine.hostId}` : ""}`,
  };
}
