/** A user's quiet hours: local wall-clock times in an IANA time zone. */
export interface QuietHours {
  /** `HH:MM`, inclusive. */
  start: string;
  /** `HH:MM`, exclusive; earlier than `start` means the quiet hours span midnight. */
  end: string;
  timeZone: string;
  /** `hold`: delivered when the quiet hours end; `drop`: never delivered. */
  mode: 'hold' | 'drop';
}

export const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** True when Intl knows the zone (`Europe/Berlin`, `UTC`); the database stores only zones that pass. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The wall-clock fields of `instant` in `timeZone`. */
function wallClock(instant: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** The zone's offset from UTC at `instant`, in milliseconds. */
function offsetMs(instant: Date, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/**
 * The instant a wall-clock time happens in a zone. Twice the offset guess, so a daylight-saving change
 * between the guess and the answer is accounted for; a time skipped by the spring change maps to just
 * after it.
 */
function zonedInstant(year: number, month: number, day: number, minutes: number, timeZone: string): Date {
  const wall = Date.UTC(year, month - 1, day, Math.floor(minutes / 60), minutes % 60);
  let instant = wall - offsetMs(new Date(wall), timeZone);
  instant = wall - offsetMs(new Date(instant), timeZone);
  return new Date(instant);
}

/**
 * When the quiet hours that contain `now` end, or undefined outside quiet hours (and when start equals
 * end, which means none). Days are the zone's own days, so 22:00–07:00 in Europe/Berlin stays 22:00–07:00
 * local time across daylight-saving changes.
 */
export function quietUntil(
  now: Date,
  quiet: Pick<QuietHours, 'start' | 'end' | 'timeZone'>,
): Date | undefined {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return undefined;
  const w = wallClock(now, quiet.timeZone);
  const t = w.hour * 60 + w.minute;
  const inside = start < end ? t >= start && t < end : t >= start || t < end;
  if (!inside) return undefined;
  // The end is today when it is still ahead on the clock, otherwise tomorrow (quiet hours over midnight).
  const tomorrow = t >= end;
  const day = new Date(Date.UTC(w.year, w.month - 1, w.day + (tomorrow ? 1 : 0)));
  return zonedInstant(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), end, quiet.timeZone);
}
