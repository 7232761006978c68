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
  | { action: "authorize"; uid: string; identifier: string }
  | { action: "revoke"; uid: string; identifier: string; otherIdentifiers: readonly string[] }
  | { action: "inspect" };

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
  if (action.action === "inspect") return;
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
  checkIdentifier("identifier", action.identifier);
  if (action.action === "revoke") {
    if (!Array.isArray(action.otherIdentifiers))
      throw new HostCommandError("otherIdentifiers", "must be a list");
    action.otherIdentifiers.forEach((other, i) => {
      checkIdentifier(`otherIdentifiers[${i}]`, other);
    });
  }
}

/** The script's command line for an action, as separate words. */
export function hostActionArguments(action: HostAction): string[] {
  switch (action.action) {
    case "inspect":
      return ["inspect"];
    case "authorize":
      return ["authorize", "--uid", action.uid, "--id", action.identifier];
    case "revoke":
      return [
        "revoke",
        "--uid",
        action.uid,
        "--id",
        action.identifier,
        ...action.otherIdentifiers.flatMap((other) => ["--other-id", other]),
      ];
  }
}

/**
 * Drops what only a reader needs (comment lines, blank lines, indentation) so the command stays far
 * under the size limit. Safe for our scripts because they have no here-documents or multi-line
 * strings; the tests run this rendered form, not the file.
 */
export function compactScript(script: string, commentPrefix = "#"): string {
  const lines = script.split("\n");
  const first = lines[0] ?? "";
  const kept = (first.startsWith("#!") ? lines.slice(1) : lines)
    .map((line) => line.trimStart())
    .filter((line) => line !== "" && !line.startsWith(commentPrefix));
  return `${first.startsWith("#!") ? `${first}\n` : ""}${kept.join("\n")}\n`;
}

const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const powershellQuote = (word: string) => `'${word.replaceAll("'", "''")}'`;

/** The exact script text a host runs for this action (before Base64). */
export function renderHostScript(os: OperatingSystem, action: HostAction, scripts: HostScripts): string {
  validateHostAction(action);
  const words = hostActionArguments(action);
  if (os === "linux") {
    const body = compactScript(scripts.linux);
    const newline = body.indexOf("\n");
    // `set --` gives the script the same positional arguments it gets when run by hand.
    return `${body.slice(0, newline + 1)}set -- ${words.map(shellQuote).join(" ")}\n${body.slice(newline + 1)}`;
  }
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
