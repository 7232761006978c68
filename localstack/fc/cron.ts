/**
 * FC timer triggers' `cronExpression`: six fields `Seconds Minutes Hours Day-of-month Month
 * Day-of-week` evaluated in UTC, optionally prefixed `CRON_TZ=<IANA zone> ` (Alibaba's example:
 * `CRON_TZ=Asia/Shanghai 0 0 4 1 * *`), or an interval `@every 4m` (Go duration units h, m, s).
 * Fields take `*`, `?`, values, ranges `a-b`, steps `*\/n`, `a/n`, `a-b/n`, lists, and month / day
 * names. As in the cron library FC's syntax comes from (`@every`, `CRON_TZ` are robfig/cron's),
 * day-of-month and day-of-week are ORed when both are restricted, ANDed when either is `*` or `?`.
 */
import { CronExpressionError } from "./errors";

export interface Schedule {
  /** The first fire time strictly after `afterMs` (epoch ms, whole seconds). */
  next(afterMs: number): number;
  readonly description: string;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const SECOND: FieldSpec = { name: "seconds", min: 0, max: 59 };
const MINUTE: FieldSpec = { name: "minutes", min: 0, max: 59 };
const HOUR: FieldSpec = { name: "hours", min: 0, max: 23 };
const DAY: FieldSpec = { name: "day-of-month", min: 1, max: 31 };
const MONTH: FieldSpec = {
  name: "month",
  min: 1,
  max: 12,
  names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
};
const WEEKDAY: FieldSpec = {
  name: "day-of-week",
  min: 0,
  max: 6,
  names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};

const SEARCH_HORIZON_MS = 5 * 366 * 24 * 3600 * 1000;

export function parseCronExpression(expression: string): Schedule {
  let text = expression.trim();
  let timeZone = "UTC";
  const zone = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
  if (zone?.[1] !== undefined && zone[2] !== undefined) {
    timeZone = zone[1];
    text = zone[2].trim();
  }
  if (text.startsWith("@every")) {
    if (timeZone !== "UTC") throw new CronExpressionError(`${expression}: @every takes no time zone`);
    return everySchedule(expression, text.slice("@every".length).trim());
  }
  const expanded = DESCRIPTORS[text.toLowerCase()] ?? text;
  const fields = expanded.split(/\s+/);
  if (fields.length !== 6) {
    throw new CronExpressionError(
      `${expression}: FC cron takes 6 fields (seconds minutes hours day-of-month month day-of-week), got ${fields.length}`,
    );
  }
  const [sec = "", min = "", hour = "", day = "", month = "", weekday = ""] = fields;
  return calendarSchedule(expression, timeZone, {
    seconds: parseField(sec, SECOND, expression),
    minutes: parseField(min, MINUTE, expression),
    hours: parseField(hour, HOUR, expression),
    days: parseField(day, DAY, expression),
    months: parseField(month, MONTH, expression),
    weekdays: parseField(weekday, WEEKDAY, expression),
    dayStar: isStar(day),
    weekdayStar: isStar(weekday),
  });
}

function isStar(field: string): boolean {
  return field.startsWith("*") || field.startsWith("?");
}

function parseField(field: string, spec: FieldSpec, expression: string): Set<number> {
  const values = new Set<number>();
  const fail = (reason: string): never => {
    throw new CronExpressionError(`${expression}: ${spec.name} field "${field}": ${reason}`);
  };
  for (const part of field.split(",")) {
    const [range = "", stepText, extra] = part.split("/");
    if (extra !== undefined) fail("more than one step");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) fail(`bad step "${stepText}"`);
    let low: number;
    let high: number;
    if (range === "*" || range === "?") {
      low = spec.min;
      high = spec.max;
    } else {
      const [from = "", to, more] = range.split("-");
      if (more !== undefined) fail("bad range");
      low = value(from, spec, fail);
      high = to === undefined ? (stepText === undefined ? low : spec.max) : value(to, spec, fail);
      if (high < low) fail(`range ${low}-${high} runs backwards`);
    }
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return values;
}

function value(text: string, spec: FieldSpec, fail: (reason: string) => never): number {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  const n = named >= 0 ? named + spec.min : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < spec.min || n > spec.max) {
    return fail(`"${text}" is outside ${spec.min}-${spec.max}`);
  }
  return n;
}

interface CalendarFields {
  seconds: Set<number>;
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  dayStar: boolean;
  weekdayStar: boolean;
}

interface WallTime {
  second: number;
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

function calendarSchedule(expression: string, timeZone: string, f: CalendarFields): Schedule {
  const wall = wallTimeIn(timeZone, expression);
  const dayMatches = (t: WallTime): boolean => {
    const dom = f.days.has(t.day);
    const dow = f.weekdays.has(t.weekday);
    return f.dayStar || f.weekdayStar ? dom && dow : dom || dow;
  };
  const sortedSeconds = [...f.seconds].sort((a, b) => a - b);
  return {
    description: expression,
    next(afterMs) {
      let t = Math.floor(afterMs / 1000) * 1000 + 1000;
      const limit = t + SEARCH_HORIZON_MS;
      while (t < limit) {
        const w = wall(t);
        const toNextMinute = (60 - w.second) * 1000;
        // Hour boundaries are local: zones such as +05:30 do not share UTC's.
        const toNextHour = (59 - w.minute) * 60_000 + toNextMinute;
        if (!f.months.has(w.month) || !dayMatches(w) || !f.hours.has(w.hour)) {
          t += toNextHour;
          continue;
        }
        if (!f.minutes.has(w.minute)) {
          t += toNextMinute;
          continue;
        }
        const second = sortedSeconds.find((s) => s >= w.second);
        if (second !== undefined) return t + (second - w.second) * 1000;
        t += toNextMinute;
      }
      throw new CronExpressionError(`${expression}: never fires within five years`);
    },
  };
}

function wallTimeIn(timeZone: string, expression: string): (ms: number) => WallTime {
  if (timeZone === "UTC") {
    return (ms) => {
      const d = new Date(ms);
      return {
        second: d.getUTCSeconds(),
        minute: d.getUTCMinutes(),
        hour: d.getUTCHours(),
        day: d.getUTCDate(),
        month: d.getUTCMonth() + 1,
        weekday: d.getUTCDay(),
      };
    };
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    });
  } catch {
    throw new CronExpressionError(`${expression}: unknown time zone ${timeZone}`);
  }
  return (ms) => {
    const parts: Record<string, string> = {};
    for (const part of format.formatToParts(ms)) parts[part.type] = part.value;
    return {
      second: Number(parts.second),
      minute: Number(parts.minute),
      hour: Number(parts.hour),
      day: Number(parts.day),
      month: Number(parts.month),
      weekday: WEEKDAY.names?.indexOf((parts.weekday ?? "").toUpperCase()) ?? -1,
    };
  };
}

const DURATION_UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000 };

function everySchedule(expression: string, duration: string): Schedule {
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
  const covered = parts.map((part) => part[0]).join("");
  let ms = 0;
  for (const part of parts) ms += Number(part[1]) * (DURATION_UNITS[part[2] ?? ""] ?? 0);
  ms = Math.floor(ms / 1000) * 1000;
  if (parts.length === 0 || covered !== duration || ms < 1000) {
    throw new CronExpressionError(`${expression}: @every takes a duration such as 1m, 90s or 1h30m`);
  }
  // As robfig/cron's constant-delay schedule: each activation is one interval after the last.
  return { description: expression, next: (afterMs) => Math.floor(afterMs / 1000) * 1000 + ms };
}
