import { CronExpressionError, parseCronExpression } from "../../localstack/fc";

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

describe("FC timer cron expressions", () => {
  const rows: Array<[expression: string, after: string, next: string]> = [
    ["0 * * * * *", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"],
    ["0 */5 * * * *", "2026-01-01T00:03:10Z", "2026-01-01T00:05:00Z"],
    ["*/15 * * * * *", "2026-01-01T00:00:14Z", "2026-01-01T00:00:15Z"],
    ["30 0 4 * * *", "2026-01-01T04:00:30Z", "2026-01-02T04:00:30Z"],
    ["0 0 4 1 * *", "2026-01-15T00:00:00Z", "2026-02-01T04:00:00Z"],
    ["0 0 4 1 * ?", "2026-01-15T00:00:00Z", "2026-02-01T04:00:00Z"],
    ["0 0 12 ? * MON-FRI", "2026-01-02T12:00:00Z", "2026-01-05T12:00:00Z"],
    ["0 0 12 * * SAT,SUN", "2026-01-01T00:00:00Z", "2026-01-03T12:00:00Z"],
    ["0 0 0 1 JAN *", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"],
    ["0 10-20/5 8 * * *", "2026-01-01T08:12:00Z", "2026-01-01T08:15:00Z"],
    ["0 5/20 * * * *", "2026-01-01T00:26:00Z", "2026-01-01T00:45:00Z"],
    // Both day fields restricted: either may match (the 13th, or a Friday).
    ["0 0 0 13 * 5", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"],
    ["0 0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"],
    ["@hourly", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"],
    ["@daily", "2026-01-01T00:00:01Z", "2026-01-02T00:00:00Z"],
    // 04:00 in Shanghai (UTC+8) is 20:00 UTC the day before: Alibaba's own example.
    ["CRON_TZ=Asia/Shanghai 0 0 4 1 * *", "2026-01-15T00:00:00Z", "2026-01-31T20:00:00Z"],
    ["CRON_TZ=Asia/Kolkata 0 0 * * * *", "2026-01-01T00:10:00Z", "2026-01-01T00:30:00Z"],
  ];

  it.each(rows)("%s after %s fires at %s", (expression, after, next) => {
    expect(iso(parseCronExpression(expression).next(at(after)))).toBe(next);
  });

  it("fires strictly after the given time", () => {
    const schedule = parseCronExpression("0 * * * * *");
    expect(iso(schedule.next(at("2026-01-01T00:01:00Z")))).toBe("2026-01-01T00:02:00Z");
    expect(iso(schedule.next(at("2026-01-01T00:00:59.500Z")))).toBe("2026-01-01T00:01:00Z");
  });

  it.each([
    ["@every 1m", 60_000],
    ["@every 90s", 90_000],
    ["@every 1h30m", 5_400_000],
    ["@every 1.5h", 5_400_000],
  ])("%s is an interval from the previous activation", (expression, ms) => {
    const start = at("2026-01-01T00:00:00Z");
    const schedule = parseCronExpression(expression);
    expect(schedule.next(start)).toBe(start + ms);
    expect(schedule.next(start + ms)).toBe(start + 2 * ms);
  });

  it.each([
    ["* * * * *", "6 fields"],
    ["0 0 24 * * *", "hours"],
    ["0 60 * * * *", "minutes"],
    ["0 0 0 0 * *", "day-of-month"],
    ["0 0 0 * 13 *", "month"],
    ["0 0 0 * * 7", "day-of-week"],
    ["0 0 0 * * FUNDAY", "day-of-week"],
    ["0 */0 * * * *", "bad step"],
    ["0 30-10 * * * *", "backwards"],
    ["@every", "duration"],
    ["@every 1x", "duration"],
    ["@every 500ms", "duration"],
    ["CRON_TZ=Mars/Olympus 0 0 4 * * *", "unknown time zone"],
    ["0 0 0 30 2 *", "never fires"],
  ])("refuses %s (%s)", (expression, reason) => {
    expect(() => parseCronExpression(expression).next(at("2026-01-01T00:00:00Z"))).toThrow(
      CronExpressionError,
    );
    expect(() => parseCronExpression(expression).next(at("2026-01-01T00:00:00Z"))).toThrow(reason);
  });
});
