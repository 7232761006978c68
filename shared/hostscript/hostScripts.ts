/**
 * Reads the host scripts shipped beside this module. A bundled function gets them the same way:
 * the bundler copies the two files next to the bundle (see the deploy notes in the README).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { HostScripts } from "./hostCommand";

export const LINUX_SCRIPT_FILE = "linux.sh";
export const WINDOWS_SCRIPT_FILE = "windows.ps1";

export function readHostScripts(dir: string = __dirname): HostScripts {
  return {
    linux: readFileSync(join(dir, LINUX_SCRIPT_FILE), "utf8"),
    windows: readFileSync(join(dir, WINDOWS_SCRIPT_FILE), "utf8"),
  };
}
