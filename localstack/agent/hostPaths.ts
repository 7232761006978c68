/**
 * Where a simulated host's log files are on disk. The host's `/var/log` is `<host dir>/var-log/`
 * (next to `etc-ilogtail/`, `usr-local/`, … of `hostRoot.ts`): the writers write there and the
 * agent reads there. Paths elsewhere hold no files on a simulated host.
 */
import { join } from "node:path";

export const LOG_DIR = "/var/log";
export const LOG_DIR_ON_DISK = "var-log";

/** The on-disk path of a host path under `/var/log`, or undefined for any other path. */
export function onDisk(hostDir: string, hostPath: string): string | undefined {
  if (hostPath !== LOG_DIR && !hostPath.startsWith(`${LOG_DIR}/`)) return undefined;
  const rest = hostPath.slice(LOG_DIR.length + 1);
  if (rest.split("/").some((segment) => segment === ".." || segment === ".")) return undefined;
  return rest === "" ? join(hostDir, LOG_DIR_ON_DISK) : join(hostDir, LOG_DIR_ON_DISK, rest);
}
