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
  const account = config.sourceAccounts.find((a) => a.uid === instance.accountId);
  if (!account) {
    return {
      kind: "refused",
      reason: "AccountNotConfigured",
      detail: `account ${instance.accountId} is not a source account`,
    };
  }
  if (!account.regions.includes(instance.region)) {
    return {
      kind: "refused",
      reason: "RegionNotConfigured",
      detail: `region ${instance.region} is not configured for account ${instance.accountId}`,
    };
  }
  // Own properties only: a tag value such as "constructor" must not find anything.
  const route = Object.hasOwn(config.routes, tagValue) ? config.routes[tagValue] : undefined;
  if (!route) return { kind: "refused", reason: "UnknownRoute", detail: `no route named ${tagValue}` };
  if (!route.sources.some((source) => source.account === instance.accountId)) {
    return {
      kind: "refused",
      reason: "RouteNotAllowedForAccount",
      detail: `route ${tagValue} does not list account ${instance.accountId}`,
    };
  }
  if (route.identifier[instance.os] === undefined) {
    return {
      kind: "refused",
      reason: "OsNotSupportedByRoute",
      detail: `route ${tagValue} has no ${instance.os} settings`,
    };
  }
  return { kind: "route", name: tagValue, route };
}
