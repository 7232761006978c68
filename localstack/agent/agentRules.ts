/**
 * How the Logtail agent reads its identity files, as the real one does: one identifier per line of
 * `user_defined_id`, only spaces (and the line's `\n`) trimmed — a CR or tab stays part of the
 * identifier, so such a line matches no machine group — and empty lines skipped; every file in
 * `users/` whose name does not start with `.` names an account the host may send logs to.
 */

export function identifiersFromFile(content: string | undefined): string[] {
  if (content === undefined) return [];
  const identifiers: string[] = [];
  for (const line of content.split("\n")) {
    const trimmed = line.replace(/^ +| +$/g, "");
    if (trimmed !== "" && !identifiers.includes(trimmed)) identifiers.push(trimmed);
  }
  return identifiers;
}

export function accountsFromUidFiles(names: readonly string[]): string[] {
  return names.filter((name) => !name.startsWith(".")).sort();
}
