/**
 * Request ids in the form MNS and OSS answer with: 24 upper-case hex digits, the time in seconds
 * (8) then a counter (16), so ids sort by time and never repeat within a run.
 */
export function hexRequestId(nowMs: number, sequence: number): string {
  const time = Math.floor(nowMs / 1000)
    .toString(16)
    .toUpperCase()
    .padStart(8, "0")
    .slice(-8);
  return `${time}${sequence.toString(16).toUpperCase().padStart(16, "0").slice(-16)}`;
}
