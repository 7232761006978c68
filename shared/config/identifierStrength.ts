/**
 * Identifiers anyone can guess (pure). A machine group of custom identifiers takes in every agent
 * that heartbeats with its identifier to the destination's UID: a host that knows both joins the
 * group, receives the route's config and writes into its logstore. The destination UID is no
 * secret, and neither are the route's names: the route is a tag value on every opted-in instance,
 * the group and config names are listed in the destination project. An identifier made of those
 * names is one anyone with such a view can write; a random part makes it one only the hosts the
 * tool authorized carry.
 */
import { OPERATING_SYSTEMS, type OperatingSystem, type RoutesFile } from "./routesSchema";

/** Characters an identifier needs beyond the route's visible names: 8 random ones are 40+ bits. */
export const MIN_SECRET_CHARACTERS = 8;

export interface GuessableIdentifier {
  route: string;
  os: OperatingSystem;
  identifier: string;
  /** The visible names it is made of. */
  madeOf: string[];
}

export function guessableIdentifiers(config: RoutesFile): GuessableIdentifier[] {
  const found: GuessableIdentifier[] = [];
  for (const [name, route] of Object.entries(config.routes)) {
    for (const os of OPERATING_SYSTEMS) {
      const identifier = route.identifier[os];
      if (identifier === undefined) continue;
      const visible = [
        name,
        route.machineGroup[os],
        route.logtailConfig[os]?.name,
        route.project,
        route.logstore,
        os,
      ].filter((text): text is string => text !== undefined && text.length > 0);
      // Longest names first, so a group name that contains the route name is taken out whole.
      let rest = identifier.toLowerCase();
      const madeOf: string[] = [];
      for (const text of [...new Set(visible)].sort((a, b) => b.length - a.length)) {
        if (!rest.includes(text.toLowerCase())) continue;
        rest = rest.split(text.toLowerCase()).join("");
        madeOf.push(text);
      }
      const secret = rest.replace(/[-_.\s]/g, "");
      if (secret.length < MIN_SECRET_CHARACTERS) found.push({ route: name, os, identifier, madeOf });
    }
  }
  return found;
}
