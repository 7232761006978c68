/**
 * The host-script action a route asks of a host, from the routes file alone (pure): shared by
 * authorize, which sends it, and validate-config, which checks that the largest one fits.
 */
import type { OperatingSystem, RoutesFile } from "../config/routesSchema";
import { type HostAction, HostCommandError, type HostScripts, renderHostCommand } from "./hostCommand";

export function authorizeAction(
  config: RoutesFile,
  routeName: string,
  os: OperatingSystem,
): HostAction | undefined {
  const route = config.routes[routeName];
  const identifier = route?.identifier[os];
  const destination = route ? config.destinations[route.destination] : undefined;
  if (identifier === undefined || destination === undefined) return undefined;
  return { action: "authorize", uid: destination.uid, identifier };
}

/** A revoke and the routes whose identifiers it removes. */
export interface RouteRevoke {
  routes: string[];
  action: Extract<HostAction, { action: "revoke" }>;
}

/**
 * Revoke routes' identifiers: on Linux one command per destination UID carrying every identifier
 * of those routes, on Windows one per route (its script revokes one). The UID file stays while an
 * identifier of another route of that UID is on the host.
 */
export function revokeActions(
  config: RoutesFile,
  routeNames: readonly string[],
  os: OperatingSystem,
): RouteRevoke[] {
  const uidOf = (name: string) => {
    const route = config.routes[name];
    return route ? config.destinations[route.destination]?.uid : undefined;
  };
  const groups = new Map<string, string[]>();
  for (const name of routeNames) {
    const key = os === "linux" ? (uidOf(name) ?? "") : name;
    groups.set(key, [...(groups.get(key) ?? []), name]);
  }
  return [...groups.values()].map((routes) => {
    const uid = uidOf(routes[0] ?? "");
    const identifiers = [...new Set(routes.map((name) => config.routes[name]?.identifier[os] ?? ""))];
    const otherIdentifiers = Object.entries(config.routes)
      .filter(([name]) => !routes.includes(name) && uidOf(name) === uid)
      .map(([, other]) => other.identifier[os])
      .filter((id): id is string => id !== undefined && !identifiers.includes(id));
    return {
      routes,
      action: {
        action: "revoke",
        uid: uid ?? "",
        identifiers,
        otherIdentifiers: [...new Set(otherIdentifiers)],
      },
    };
  });
}

export interface OversizedCommand {
  route: string;
  os: OperatingSystem;
  message: string;
}

/**
 * Every route's own revoke (the largest command: it names the other identifiers of the same
 * destination UID with the longer flag; a revoke of several routes names the same identifiers)
 * that would not fit Cloud Assistant's content limit. A revoke that does not fit could never be
 * sent, so the hosts of that route could never be offboarded: refused before deploying.
 */
export function oversizedRevokes(config: RoutesFile, scripts: HostScripts): OversizedCommand[] {
  const found: OversizedCommand[] = [];
  for (const [route, spec] of Object.entries(config.routes)) {
    for (const os of ["linux", "windows"] as const) {
      if (spec.identifier[os] === undefined) continue;
      try {
        for (const revoke of revokeActions(config, [route], os))
          renderHostCommand(os, revoke.action, scripts);
      } catch (error) {
        if (!(error instanceof HostCommandError)) throw error;
        found.push({ route, os, message: error.message });
      }
    }
  }
  return found;
}
