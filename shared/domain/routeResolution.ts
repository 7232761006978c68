/**
 * Which route, if any, an instance's tag selects. The tag value names a route by exact name and
 * nothing else: the destination, project and identifiers all come from the routes file.
 */
import { ROUTE_NAME } from "../config/patterns";
import type { OperatingSystem, Route, RoutesFile } from "../config/routesSchema";
import type { ReasonCode } from "./status";

export interface InstanceIdentity {
  accountId: string;
  region: string;
  os: OperatingSystem;
}

export type RouteResolution =
  | { kind: "untagged" }
  | { kind: "route"; name: string; route: Route }
  | { kind: "refused"; reason: ReasonCode; detail: string };

export function resolveRoute(
  config: RoutesFile,
  instance: InstanceIdentity,
  tagValue: string | undefined,
): RouteResolution {
  if (tagValue === undefined || tagValue === "") return { kind: "untagged" };
  if (!ROUTE_NAME.test(tagValue)) {
    return {
      kind: "refused",
      reason: "InvalidRouteTag",
      detail: "the route tag's value is not a route name",
    };
  }
  const refused = scopeRefusal(config, instance, tagValue);
  if (refused) return { kind: "refused", ...refused };
  // Own properties only (checked by scopeRefusal): a tag value such as "constructor" finds nothing.
  const route = config.routes[tagValue];
  if (!route) return { kind: "refused", reason: "UnknownRoute", detail: `no route named ${tagValue}` };
  if (route.identifier[instance.os] === undefined) {
    return {
      kind: "refused",
      reason: "OsNotSupportedByRoute",
      detail: `route ${tagValue} has no ${instance.os} settings`,
    };
  }
  if (
    instance.os === "windows" &&
    route.handover.windows === "keep-source" &&
    handsOver(route, instance.accountId)
  ) {
    return {
      kind: "refused",
      reason: "HandoverUnverifiedOnWindows",
      detail: `route ${tagValue} hands account ${instance.accountId}'s hosts over from their old config, which is not verified on Windows: the host keeps its own collection (handover.windows: keep-source)`,
    };
  }
  return { kind: "route", name: tagValue, route };
}

/** Routes that hand Windows hosts over by the protocol (`handover.windows: protocol`), unverified there. */
export function unverifiedWindowsHandovers(config: RoutesFile): string[] {
  return Object.entries(config.routes)
    .filter(
      ([, route]) =>
        route.handover.windows === "protocol" &&
        route.logtailConfig.windows !== undefined &&
        route.sources.some((source) => handsOver(route, source.account)),
    )
    .map(([name]) => name);
}

/** The route hands this account's hosts over from their old config (a `retire` with a copy). */
export function handsOver(route: Route, accountId: string): boolean {
  return (
    route.backfill !== undefined &&
    route.sources.some(
      (source) =>
        source.account === accountId && source.retire !== undefined && source.backfill !== undefined,
    )
  );
}

/**
 * Why the routes file does not cover this account and region — and, when one is named, this route
 * for that account; undefined when it does. Events, messages and tags are all checked with it.
 */
export function scopeRefusal(
  config: RoutesFile,
  scope: { accountId: string; region: string },
  routeName?: string,
): { reason: ReasonCode; detail: string } | undefined {
  const account = config.sourceAccounts.find((a) => a.uid === scope.accountId);
  if (!account)
    return { reason: "AccountNotConfigured", detail: `account ${scope.accountId} is not a source account` };
  if (!account.regions.includes(scope.region)) {
    return {
      reason: "RegionNotConfigured",
      detail: `region ${scope.region} is not configured for account ${scope.accountId}`,
    };
  }
  if (routeName === undefined) return undefined;
  const route = Object.hasOwn(config.routes, routeName) ? config.routes[routeName] : undefined;
  if (!route) return { reason: "UnknownRoute", detail: `no route named ${routeName}` };
  if (!route.sources.some((source) => source.account === scope.accountId)) {
    return {
      reason: "RouteNotAllowedForAccount",
      detail: `route ${routeName} does not list account ${scope.accountId}`,
    };
  }
  return undefined;
}
