/**
 * Renders what Cloud Assistant receives for one host action: the host script with its validated
 * arguments bound in front of it. Values are validated here (and again inside the script) before
 * anything is sent; Cloud Assistant's own `{{parameter}}` substitution is deliberately not used,
 * because it pastes values into the script text unquoted.
 */
import { ACCOUNT_UID, CUSTOM_IDENTIFIER } from "../config/patterns";
import type { OperatingSystem } from "../config/routesSchema";

/**
 * The smallest limit Alibaba's current documentation gives for Base64 command content: 18 KB (ROS
 * ALIYUN::ECS::Command; the RunCommand reference says 24 KB; a 16 KB figure survives only in an
 * old CreateCommand page). Staying under the smallest current one means a rendered command is
 * never refused for its size.
 */
export const MAX_COMMAND_CONTENT_BASE64_BYTES = 18 * 1024;

/** Seconds Cloud Assistant lets one run take; the script itself waits at most 30 s for its lock. */
export const HOST_COMMAND_TIMEOUT_SECONDS = 60;

export type HostAction =
  | {
      action: "authorize";
      uid: string;
      identifier: string;
      /**
       * The host was onboarded before (by a version of the script that kept no record): what it
       * has of this UID and identifier is ours, and revoke removes it. Linux only.
       */
      adopt?: boolean;
    }
  /**
   * Removes each of `identifiers` (Linux: any number, one command for all the routes of a
   * destination; Windows: one); the UID file stays while one of `otherIdentifiers` is on the host.
   */
  | {
      action: "revoke";
      uid: string;
      identifiers: readonly string[];
      otherIdentifiers: readonly string[];
    }
  /** With `files`, inspect also counts the files matching the paths, and those changed since. */
  | { action: "inspect"; files?: { paths: readonly string[]; sinceSeconds: number } };

export interface HostScripts {
  linux: string;
  windows: string;
}

export interface RenderedHostCommand {
  type: "RunShellScript" | "RunPowerShellScript";
  contentEncoding: "Base64";
  /** Base64 of the exact script text the host runs. */
  commandContent: string;
  timeoutSeconds: number;
}

export class HostCommandError extends Error {
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(`${argument}: ${message}`);
    this.name = "HostCommandError";
  }
}

/** Checks every value against the patterns the script enforces; throws HostCommandError naming the first bad one. */
export function validateHostAction(action: HostAction): void {
  if (action.action === "inspect") {
    if (action.files === undefined) return;
    const { paths, sinceSeconds } = action.files;
    if (!Number.isSafeInteger(sinceSeconds) || sinceSeconds < 0 || sinceSeconds > 999_999_999_999)
      throw new HostCommandError("files.sinceSeconds", "must be Unix seconds");
    if (!Array.isArray(paths) || paths.length === 0 || paths.length > 20)
      throw new HostCommandError("files.paths", "must be 1-20 paths");
    paths.forEach((path, i) => {
      if (typeof path !== "string" || !isInspectablePath(path))
        throw new HostCommandError(
          `files.paths[${i}]`,
          "must be an absolute Linux path of 2-1024 characters without control characters or '..'",
        );
    });
    return;
  }
  if (typeof action.uid !== "string" || !ACCOUNT_UID.test(action.uid)) {
    throw new HostCommandError("uid", "must be a 16-digit account UID");
  }
  const checkIdentifier = (argument: string, value: unknown) => {
    if (typeof value !== "string" || !CUSTOM_IDENTIFIER.test(value)) {
      throw new HostCommandError(
        argument,
        "must be 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit",
      );
    }
  };
  if (action.action === "authorize") {
    checkIdentifier("identifier", action.identifier);
    if (action.adopt !== undefined && typeof action.adopt !== "boolean")
      throw new HostCommandError("adopt", "must be true or false");
  }
  if (action.action === "revoke") {
    if (!Array.isArray(action.identifiers) || action.identifiers.length === 0)
      throw new HostCommandError("identifiers", "must be a list of at least one");
    action.identifiers.forEach((identifier, i) => {
      checkIdentifier(`identifiers[${i}]`, identifier);
    });
    if (!Array.isArray(action.otherIdentifiers))
      throw new HostCommandError("otherIdentifiers", "must be a list");
    action.otherIdentifiers.forEach((other, i) => {
      checkIdentifier(`otherIdentifiers[${i}]`, other);
    });
  }
}

/** The rule linux.sh applies to `--path` (the routes schema's Linux path, bounded). */
function isInspectablePath(path: string): boolean {
  return (
    path.length >= 2 &&
    path.length <= 1024 &&
    path.startsWith("/") &&
    !/\p{Cc}/u.test(path) &&
    !path.split("/").includes("..")
  );
}

/** The script's command line for an action, as separate words. */
export function hostActionArguments(action: HostAction): string[] {
  switch (action.action) {
    case "inspect":
      return action.files === undefined
        ? ["inspect"]
        : [
            "inspect",
            "--since",
            String(action.files.sinceSeconds),
            ...action.files.paths.flatMap((path) => ["--path", path]),
          ];
    case "authorize":
      return [
        "authorize",
        "--uid",
        action.uid,
        "--id",
        action.identifier,
        ...(action.adopt ? ["--adopt"] : []),
      ];
    case "revoke":
      return [
        "revoke",
        "--uid",
        action.uid,
        ...action.identifiers.flatMap((identifier) => ["--id", identifier]),
        ...action.otherIdentifiers.flatMap((other) => ["--other-id", other]),
      ];
  }
}

/**
 * Drops what only a reader needs (comment lines, blank lines, indentation) so the command stays far
 * under the size limit. Safe for our scripts because they have no here-documents, and their
 * multi-line strings (awk programs, a newline inside a value) lose nothing when indentation and
 * `#` lines go: awk ignores leading blanks and no line of them starts with `#`; the tests run this
 * rendered form, not the file.
 */
export function compactScript(script: string, commentPrefix = "#"): string {
  const lines = script.split("\n");
  const first = lines[0] ?? "";
  const kept = (first.startsWith("#!") ? lines.slice(1) : lines)
    .map((line) => line.trimStart())
    .filter((line) => line !== "" && !line.startsWith(commentPrefix));
  return `${first.startsWith("#!") ? `${first}\n` : ""}${kept.join("\n")}\n`;
}

/**
 * Drops the lines between `# {<name>` and `# <name>}`: code only some actions need (inspect's file
 * listing) is not sent with the others, which keeps every command far under the size limit.
 */
export function withoutSection(script: string, name: string): string {
  const kept: string[] = [];
  let inside = false;
  for (const line of script.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith(`# {${name}`)) {
      if (inside) throw new HostCommandError("script", `section ${name} opened twice`);
      inside = true;
    } else if (trimmed === `# ${name}}`) {
      if (!inside) throw new HostCommandError("script", `section ${name} closed without opening`);
      inside = false;
    } else if (!inside) kept.push(line);
  }
  // An unclosed section would drop the rest of the script, its main call included.
  if (inside) throw new HostCommandError("script", `section ${name} is never closed`);
  return kept.join("\n");
}

/** The sections of linux.sh an action never runs: left out of its command, to stay under the limit. */
function linuxSectionsFor(action: HostAction): string[] {
  const listsFiles = action.action === "inspect" && action.files !== undefined;
  return [
    ...(listsFiles ? [] : ["inspect-files"]),
    ...(action.action === "authorize" ? [] : ["authorize-only"]),
    ...(action.action === "revoke" ? ["host-facts"] : ["revoke-only"]),
  ];
}

const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const powershellQuote = (word: string) => `'${word.replaceAll("'", "''")}'`;

/** The exact script text a host runs for this action (before Base64). */
export function renderHostScript(os: OperatingSystem, action: HostAction, scripts: HostScripts): string {
  validateHostAction(action);
  const words = hostActionArguments(action);
  if (os === "linux") {
    const body = compactScript(linuxSectionsFor(action).reduce(withoutSection, scripts.linux));
    const newline = body.indexOf("\n");
    // `set --` gives the script the same positional arguments it gets when run by hand.
    return `${body.slice(0, newline + 1)}set -- ${words.map(shellQuote).join(" ")}\n${body.slice(newline + 1)}`;
  }
  // windows.ps1 keeps no record of what it created (nothing to adopt) and revokes one identifier.
  if (action.action === "authorize" && action.adopt)
    throw new HostCommandError("adopt", "is for the Linux script only");
  if (action.action === "revoke" && action.identifiers.length !== 1)
    throw new HostCommandError("identifiers", "the Windows script revokes one identifier a command");
  return `$LtxArguments = @(${words.map(powershellQuote).join(", ")})\n${compactScript(scripts.windows)}`;
}

/** What to pass to RunCommand for this action; throws HostCommandError before anything is sent. */
export function renderHostCommand(
  os: OperatingSystem,
  action: HostAction,
  scripts: HostScripts,
): RenderedHostCommand {
  const script = renderHostScript(os, action, scripts);
  const commandContent = Buffer.from(script, "utf8").toString("base64");
  if (commandContent.length > MAX_COMMAND_CONTENT_BASE64_BYTES) {
    throw new HostCommandError(
      "script",
      `renders to ${commandContent.length} bytes of Base64, over Cloud Assistant's ${MAX_COMMAND_CONTENT_BASE64_BYTES}`,
    );
  }
  return {
    type: os === "linux" ? "RunShellScript" : "RunPowerShellScript",
    contentEncoding: "Base64",
    commandContent,
    timeoutSeconds: HOST_COMMAND_TIMEOUT_SECONDS,
  };
}
