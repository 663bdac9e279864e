/**
 * US equity market calendar, in America/New_York wall time.
 *
 * Every conversion between wall time and instants goes through Intl's tz database: EST/EDT switch on
 * different dates every year, so a fixed offset would be wrong for part of it.
 */

export type MarketHoursMode = 'regular' | 'extended' | 'always';
export const MARKET_TIME_ZONE = 'America/New_York';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Session bounds in minutes after local midnight: [open, close). */
const SESSION_MINUTES = {
  regular: { open: 9 * 60 + 30, close: 16 * 60 },
  extended: { open: 4 * 60, close: 20 * 60 },
  always: { open: 0, close: 24 * 60 },
} as const satisfies Record<MarketHoursMode, { open: number; close: number }>;

/** Length of one trading day's session in the mode (24 h for `always`). */
export function sessionLengthMs(mode: MarketHoursMode): number {
  const { open, close } = SESSION_MINUTES[mode];
  return (close - open) * MINUTE_MS;
}

// ---------------------------------------------------------------------------------------------------
// Wall clock <-> instant

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // Throws RangeError for a zone the tz database does not know, which is what callers want.
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall clock reading in `timeZone` at `instant`. */
export function wallClock(instant: number | Date, timeZone: string = MARKET_TIME_ZONE): WallClock {
  const fields: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(instant)) fields[part.type] = part.value;
  return {
    year: Number(fields.year),
    month: Number(fields.month),
    day: Number(fields.day),
    hour: Number(fields.hour),
    minute: Number(fields.minute),
    second: Number(fields.second),
    weekday: WEEKDAYS.indexOf(fields.weekday ?? ''),
  };
}

/** UTC offset of `timeZone` at `instant`, in ms (negative west of Greenwich). */
function offsetAt(instant: number, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const wallAsUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return wallAsUtc - Math.floor(instant / 1000) * 1000;
}

const LOCAL_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/;

/**
 * The instant at which the wall clock in `timeZone` reads `local` (`YYYY-MM-DD[ HH:mm[:ss[.SSS]]]`).
 * Ambiguous times (the repeated hour in autumn) resolve to the earlier instant and times skipped in
 * spring move forward by the gap, as Temporal's `compatible` disambiguation does.
 */
export function zonedTimeToUtc(local: string, timeZone: string = MARKET_TIME_ZONE): Date {
  const m = LOCAL_PATTERN.exec(local);
  if (!m) throw new RangeError(`Local time '${local}' is not YYYY-MM-DD HH:mm:ss`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0)) as number[];
  const ms = Number((m[7] ?? '0').padEnd(3, '0'));
  const wall = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!, ms);
  const check = new Date(wall);
  if (check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== day! || hour! > 23 || minute! > 59) {
    throw new RangeError(`Local time '${local}' does not exist on the calendar`);
  }
  // Any real zone changes offset at most once within ±24 h of a wall time, so the offsets a day
  // either side are the only candidates.
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const valid = [...new Set([before, after])]
    .filter((offset) => offsetAt(wall - offset, timeZone) === offset)
    .map((offset) => wall - offset)
    .sort((a, b) => a - b);
  // No valid candidate means the wall time falls in a spring-forward gap.
  return new Date(valid[0] ?? wall - before);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `YYYY-MM-DD` of the wall clock in New York at `instant`. */
export function marketDate(instant: number | Date): string {
  const w = wallClock(instant);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** The next midnight in New York strictly after `instant`: when Alpha Vantage's day starts again. */
export function nextMarketMidnight(instant: number | Date): Date {
  return zonedTimeToUtc(`${addDays(marketDate(instant), 1)} 00:00`);
}

// ---------------------------------------------------------------------------------------------------
// Calendar dates (`YYYY-MM-DD`, no time zone)

function toDate(year: number, month: number, day: number): string {
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function weekdayOf(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/** The `n`-th (1-based) `weekday` of a month, or the last one when `n` is -1. */
function nthWeekday(year: number, month: number, weekday: number, n: number): string {
  if (n === -1) {
    const last = new Date(Date.UTC(year, month, 0));
    const back = (last.getUTCDay() - weekday + 7) % 7;
    return toDate(year, month, last.getUTCDate() - back);
  }
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  return toDate(year, month, 1 + ((weekday - firstWeekday + 7) % 7) + (n - 1) * 7);
}

/** Gregorian Easter Sunday (anonymous Gregorian algorithm, a.k.a. Meeus/Jones/Butcher). */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return toDate(year, month, day);
}

/**
 * NYSE Rule 7.2: a holiday on Sunday is observed the Monday after, on Saturday the Friday before —
 * unless that Friday ends a monthly or yearly accounting period, which in practice exempts New Year's Day.
 */
function observed(date: string, saturdayMovesToFriday = true): string | undefined {
  const weekday = weekdayOf(date);
  if (weekday === 0) return addDays(date, 1);
  if (weekday === 6) return saturdayMovesToFriday ? addDays(date, -1) : undefined;
  return date;
}

/** Closures decided on the day (national mourning, storms, 9/11); no rule predicts them. */
const SPECIAL_CLOSURES: Readonly<Record<string, string>> = {
  '2001-09-11': 'September 11 attacks',
  '2001-09-12': 'September 11 attacks',
  '2001-09-13': 'September 11 attacks',
  '2001-09-14': 'September 11 attacks',
  '2004-06-11': 'National Day of Mourning for Ronald Reagan',
  '2007-01-02': 'National Day of Mourning for Gerald Ford',
  '2012-10-29': 'Hurricane Sandy',
  '2012-10-30': 'Hurricane Sandy',
  '2018-12-05': 'National Day of Mourning for George H. W. Bush',
  '2025-01-09': 'National Day of Mourning for Jimmy Carter',
};

export interface Holiday {
  date: string;
  name: string;
}

const holidayCache = new Map<number, ReadonlyMap<string, string>>();

/** Full-day NYSE closures in `year`, by rule plus the known special closures, in date order. */
export function nyseHolidays(year: number): Holiday[] {
  return [...holidaysOf(year)].map(([date, name]) => ({ date, name }));
}

function holidaysOf(year: number): ReadonlyMap<string, string> {
  const cached = holidayCache.get(year);
  if (cached) return cached;
  const goodFriday = addDays(easterSunday(year), -2);
  const rules: [string | undefined, string][] = [
    [observed(toDate(year, 1, 1), false), "New Year's Day"],
    [year >= 1998 ? nthWeekday(year, 1, 1, 3) : undefined, 'Martin Luther King Jr. Day'],
    [nthWeekday(year, 2, 1, 3), "Washington's Birthday"],
    [goodFriday, 'Good Friday'],
    [nthWeekday(year, 5, 1, -1), 'Memorial Day'],
    [year >= 2022 ? observed(toDate(year, 6, 19)) : undefined, 'Juneteenth National Independence Day'],
    [observed(toDate(year, 7, 4)), 'Independence Day'],
    [nthWeekday(year, 9, 1, 1), 'Labor Day'],
    [nthWeekday(year, 11, 4, 4), 'Thanksgiving Day'],
    [observed(toDate(year, 12, 25)), 'Christmas Day'],
  ];
  for (const [date, name] of Object.entries(SPECIAL_CLOSURES)) {
    if (date.startsWith(`${year}-`)) rules.push([date, name]);
  }
  const map = new Map(
    rules
      .filter((r): r is [string, string] => r[0] !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  holidayCache.set(year, map);
  return map;
}

/** Whether the NYSE trades on the calendar date `YYYY-MM-DD`. */
export function isTradingDay(date: string): boolean {
  const weekday = weekdayOf(date);
  if (weekday === 0 || weekday === 6) return false;
  return !holidaysOf(Number(date.slice(0, 4))).has(date);
}

// Ten consecutive closed days never happen (weekend + two holidays at most, 9/11 aside); 30 is ample.
const MAX_CLOSED_DAYS = 30;

export function nextTradingDay(date: string): string {
  for (let d = addDays(date, 1), i = 0; i < MAX_CLOSED_DAYS; d = addDays(d, 1), i++) {
    if (isTradingDay(d)) return d;
  }
  throw new Error(`No trading day within ${MAX_CLOSED_DAYS} days after ${date}`);
}

export function previousTradingDay(date: string): string {
  for (let d = addDays(date, -1), i = 0; i < MAX_CLOSED_DAYS; d = addDays(d, -1), i++) {
    if (isTradingDay(d)) return d;
  }
  throw new Error(`No trading day within ${MAX_CLOSED_DAYS} days before ${date}`);
}

// ---------------------------------------------------------------------------------------------------
// Sessions

export interface Session {
  /** Trading date, `YYYY-MM-DD` in New York. */
  date: string;
  open: Date;
  close: Date;
}

const hhmm = (minutes: number) => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;

/** The session of `date` in `mode` (for `always`, the whole local day, trading or not). */
export function sessionOn(date: string, mode: MarketHoursMode): Session {
  const { open, close } = SESSION_MINUTES[mode];
  const closeAt =
    close === 24 * 60
      ? zonedTimeToUtc(`${addDays(date, 1)} 00:00`)
      : zonedTimeToUtc(`${date} ${hhmm(close)}`);
  return { date, open: zonedTimeToUtc(`${date} ${hhmm(open)}`), close: closeAt };
}

/** Whether the market is open at `instant` in `mode` (`always` is always open). */
export function isOpen(instant: number | Date, mode: MarketHoursMode): boolean {
  if (mode === 'always') return true;
  const w = wallClock(instant);
  if (!isTradingDay(toDate(w.year, w.month, w.day))) return false;
  const minutes = w.hour * 60 + w.minute;
  const { open, close } = SESSION_MINUTES[mode];
  return minutes >= open && minutes < close;
}

/** The first instant at or after `instant` at which the market is open in `mode`. */
export function nextOpen(instant: number | Date, mode: MarketHoursMode): Date {
  const at = new Date(instant);
  if (isOpen(at, mode)) return at;
  const today = marketDate(at);
  if (isTradingDay(today)) {
    const session = sessionOn(today, mode);
    if (at < session.open) return session.open;
  }
  return sessionOn(nextTradingDay(today), mode).open;
}

/**
 * The trading day `instant` belongs to: its New York date when that is a trading day (pre-market
 * included), otherwise the last trading day before it (a Saturday belongs to Friday).
 */
export function tradingDayOf(instant: number | Date): string {
  const today = marketDate(instant);
  return isTradingDay(today) ? today : previousTradingDay(today);
}

/** When the trading day of `instant` starts in `mode`; may lie after `instant` before the open. */
export function tradingDayStart(instant: number | Date, mode: MarketHoursMode = 'regular'): Date {
  return sessionOn(tradingDayOf(instant), mode).open;
}

/**
 * The regular session before the trading day of `instant`: its close is the "previous day" a daily
 * change is measured against.
 */
export function previousSession(instant: number | Date): Session {
  return sessionOn(previousTradingDay(tradingDayOf(instant)), 'regular');
}

/**
 * Milliseconds of `mode` sessions within [from, to). Gives up counting past `limitDays` calendar days
 * and returns what it has, because callers only compare it with short thresholds.
 */
export function sessionTimeBetween(
  from: number | Date,
  to: number | Date,
  mode: MarketHoursMode,
  limitDays = 31,
): number {
  const start = +from;
  const end = +to;
  if (end <= start) return 0;
  if (mode === 'always') return end - start;
  let total = 0;
  let date = marketDate(start);
  const lastDate = marketDate(end);
  for (let i = 0; i <= limitDays; i++, date = addDays(date, 1)) {
    if (isTradingDay(date)) {
      const { open, close } = sessionOn(date, mode);
      total += Math.max(0, Math.min(end, +close) - Math.max(start, +open));
    }
    if (date === lastDate) break;
  }
  return total;
}
