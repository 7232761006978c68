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

/** Revoke one route's identifier; the UID file stays while another route of that UID is on the host. */
export function revokeAction(config: RoutesFile, routeName: string, os: OperatingSystem): HostAction {
  const route = config.routes[routeName];
  const destination = route ? config.destinations[route.destination] : undefined;
  const identifier = route?.identifier[os] ?? "";
  const otherIdentifiers = Object.entries(config.routes)
    .filter(
      ([name, other]) =>
        name !== routeName && config.destinations[other.destination]?.uid === destination?.uid,
    )
    .map(([, other]) => other.identifier[os])
    .filter((id): id is string => id !== undefined && id !== identifier);
  return { action: "revoke", uid: destination?.uid ?? "", identifier, otherIdentifiers };
}

export interface OversizedCommand {
  route: string;
  os: OperatingSystem;
  message: string;
}

/**
 * Every route's revoke (the largest command: it names the other identifiers of the same destination
 * UID) that would not fit Cloud Assistant's content limit. A revoke that does not fit could never be
 * sent, so the hosts of that route could never be offboarded: refused before deploying.
 */
export function oversizedRevokes(config: RoutesFile, scripts: HostScripts): OversizedCommand[] {
  const found: OversizedCommand[] = [];
  for (const [route, spec] of Object.entries(config.routes)) {
    for (const os of ["linux", "windows"] as const) {
      if (spec.identifier[os] === undefined) continue;
      try {
        renderHostCommand(os, revokeAction(config, route, os), scripts);
      } catch (error) {
        if (!(error instanceof HostCommandError)) throw error;
        found.push({ route, os, message: error.message });
      }
    }
  }
  return found;
}
