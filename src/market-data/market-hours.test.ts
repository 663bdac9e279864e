import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  easterSunday,
  isOpen,
  isTradingDay,
  marketDate,
  nextMarketMidnight,
  nextOpen,
  nyseHolidays,
  previousSession,
  sessionTimeBetween,
  tradingDayOf,
  tradingDayStart,
  wallClock,
  zonedTimeToUtc,
} from './market-hours.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (d: Date) => d.toISOString();

describe('zonedTimeToUtc', () => {
  it('converts US/Eastern wall time on both sides of the March 2025 switch', () => {
    expect(iso(zonedTimeToUtc('2025-03-07 16:00:00', 'US/Eastern'))).toBe('2025-03-07T21:00:00.000Z');
    expect(iso(zonedTimeToUtc('2025-03-10 09:45:00', 'US/Eastern'))).toBe('2025-03-10T13:45:00.000Z');
    expect(iso(zonedTimeToUtc('2025-11-03 09:30', 'America/New_York'))).toBe('2025-11-03T14:30:00.000Z');
    expect(iso(zonedTimeToUtc('2025-03-07 16:00:00.250'))).toBe('2025-03-07T21:00:00.250Z');
  });

  it('moves a time skipped in spring forward and takes the first of a repeated autumn hour', () => {
    expect(iso(zonedTimeToUtc('2025-03-09 02:30'))).toBe('2025-03-09T07:30:00.000Z'); // = 03:30 EDT
    expect(iso(zonedTimeToUtc('2025-11-02 01:30'))).toBe('2025-11-02T05:30:00.000Z'); // EDT, not EST
    expect(iso(zonedTimeToUtc('2025-11-02 02:00'))).toBe('2025-11-02T07:00:00.000Z');
  });

  it('rejects what is not a calendar time', () => {
    expect(() => zonedTimeToUtc('2025-02-30 10:00')).toThrow(RangeError);
    expect(() => zonedTimeToUtc('07/03/2025 10:00')).toThrow(RangeError);
    expect(() => zonedTimeToUtc('2025-03-07 10:00', 'Mars/Olympus')).toThrow(RangeError);
  });

  it('is the inverse of wallClock for every instant outside the repeated hour', () => {
    fc.assert(
      fc.property(fc.integer({ min: at('2000-01-01T00:00:00Z'), max: at('2040-01-01T00:00:00Z') }), (ms) => {
        const instant = Math.floor(ms / 1000) * 1000;
        const w = wallClock(instant);
        const local = `${marketDate(instant)} ${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}:${String(w.second).padStart(2, '0')}`;
        const back = +zonedTimeToUtc(local);
        // In the repeated hour the earlier instant is chosen, one hour before the later one.
        expect(back === instant || back === instant - 3_600_000).toBe(true);
        if (back !== instant) expect(w.hour).toBe(1);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('NYSE holidays', () => {
  // Published at https://www.nyse.com/markets/hours-calendars (2025 also closed on 9 January for
  // the national day of mourning for President Carter).
  it('matches the published 2025 calendar', () => {
    expect(nyseHolidays(2025).map((h) => h.date)).toEqual([
      '2025-01-01',
      '2025-01-09',
      '2025-01-20',
      '2025-02-17',
      '2025-04-18',
      '2025-05-26',
      '2025-06-19',
      '2025-07-04',
      '2025-09-01',
      '2025-11-27',
      '2025-12-25',
    ]);
  });

  it('matches the published 2026 calendar, Independence Day observed on Friday 3 July', () => {
    expect(nyseHolidays(2026)).toEqual([
      { date: '2026-01-01', name: "New Year's Day" },
      { date: '2026-01-19', name: 'Martin Luther King Jr. Day' },
      { date: '2026-02-16', name: "Washington's Birthday" },
      { date: '2026-04-03', name: 'Good Friday' },
      { date: '2026-05-25', name: 'Memorial Day' },
      { date: '2026-06-19', name: 'Juneteenth National Independence Day' },
      { date: '2026-07-03', name: 'Independence Day' },
      { date: '2026-09-07', name: 'Labor Day' },
      { date: '2026-11-26', name: 'Thanksgiving Day' },
      { date: '2026-12-25', name: 'Christmas Day' },
    ]);
  });

  it('applies the observance rules of other years', () => {
    // Saturday Christmas 2021 observed Friday 24th; Saturday New Year 2022 not observed on 31 Dec 2021.
    expect(isTradingDay('2021-12-24')).toBe(false);
    expect(isTradingDay('2021-12-31')).toBe(true);
    expect(nyseHolidays(2022).map((h) => h.date)).not.toContain('2021-12-31');
    // Juneteenth on a Sunday (2022) moves to Monday; before 2022 it was a trading day.
    expect(isTradingDay('2022-06-20')).toBe(false);
    expect(isTradingDay('2021-06-18')).toBe(true);
    // Sunday holidays move to Monday: New Year 2023, Independence Day 2027.
    expect(isTradingDay('2023-01-02')).toBe(false);
    expect(isTradingDay('2027-07-05')).toBe(false);
    expect(isTradingDay('2027-06-18')).toBe(false); // Juneteenth on Saturday → Friday
  });

  it('computes Easter with the Gregorian computus', () => {
    expect(['2024', '2025', '2026', '2038', '2285'].map((y) => easterSunday(Number(y)))).toEqual([
      '2024-03-31',
      '2025-04-20',
      '2026-04-05',
      '2038-04-25',
      '2285-03-22',
    ]);
  });
});

describe('isOpen / nextOpen', () => {
  it('knows regular and extended hours in both EST and EDT', () => {
    expect(isOpen(at('2025-03-07T14:29:59Z'), 'regular')).toBe(false); // 09:29:59 EST
    expect(isOpen(at('2025-03-07T14:30:00Z'), 'regular')).toBe(true);
    expect(isOpen(at('2025-03-07T20:59:59Z'), 'regular')).toBe(true);
    expect(isOpen(at('2025-03-07T21:00:00Z'), 'regular')).toBe(false); // 16:00 closes
    expect(isOpen(at('2025-03-10T13:30:00Z'), 'regular')).toBe(true); // 09:30 EDT
    expect(isOpen(at('2025-03-10T13:29:00Z'), 'regular')).toBe(false);
    expect(isOpen(at('2025-03-10T08:00:00Z'), 'extended')).toBe(true); // 04:00 EDT
    expect(isOpen(at('2025-03-11T00:00:00Z'), 'extended')).toBe(false); // 20:00 EDT
    expect(isOpen(at('2025-03-08T15:00:00Z'), 'regular')).toBe(false); // Saturday
    expect(isOpen(at('2025-04-18T15:00:00Z'), 'extended')).toBe(false); // Good Friday
    expect(isOpen(at('2025-04-19T15:00:00Z'), 'always')).toBe(true);
  });

  it('finds the next open across a weekend, a holiday and the DST switch', () => {
    // Friday 7 March after the close (EST) → Monday 10 March 09:30 EDT.
    expect(iso(nextOpen(at('2025-03-07T21:00:00Z'), 'regular'))).toBe('2025-03-10T13:30:00.000Z');
    expect(iso(nextOpen(at('2025-03-07T21:00:00Z'), 'extended'))).toBe('2025-03-07T21:00:00.000Z');
    expect(iso(nextOpen(at('2025-03-08T01:00:00Z'), 'extended'))).toBe('2025-03-10T08:00:00.000Z');
    // Open already at 15:00 EDT on the Thursday before Good Friday; after its close, Monday 21 April.
    expect(iso(nextOpen(at('2025-04-17T19:00:00Z'), 'regular'))).toBe('2025-04-17T19:00:00.000Z');
    expect(iso(nextOpen(at('2025-04-17T20:00:00Z'), 'regular'))).toBe('2025-04-21T13:30:00.000Z');
    // Early morning on a trading day → same day's open.
    expect(iso(nextOpen(at('2025-12-24T06:00:00Z'), 'regular'))).toBe('2025-12-24T14:30:00.000Z');
    expect(iso(nextOpen(at('2025-12-24T21:00:00Z'), 'regular'))).toBe('2025-12-26T14:30:00.000Z');
  });

  it('returns an open instant with no open instant before it', () => {
    const modes = ['regular', 'extended'] as const;
    fc.assert(
      fc.property(
        fc.integer({ min: at('2024-01-01T00:00:00Z'), max: at('2027-01-01T00:00:00Z') }),
        fc.constantFrom(...modes),
        (start, mode) => {
          const open = +nextOpen(start, mode);
          expect(open).toBeGreaterThanOrEqual(start);
          expect(isOpen(open, mode)).toBe(true);
          // Sample the closed stretch every 15 minutes: sessions start on the quarter hour.
          const first = Math.ceil(start / 900_000) * 900_000;
          for (let t = first; t < open; t += 900_000) expect(isOpen(t, mode)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('trading day and previous session', () => {
  it('measures a Monday against Friday, and a weekend against Thursday', () => {
    expect(previousSession(at('2025-03-10T14:00:00Z'))).toEqual({
      date: '2025-03-07',
      open: new Date('2025-03-07T14:30:00Z'),
      close: new Date('2025-03-07T21:00:00Z'),
    });
    expect(tradingDayOf(at('2025-03-08T18:00:00Z'))).toBe('2025-03-07');
    expect(previousSession(at('2025-03-08T18:00:00Z')).date).toBe('2025-03-06');
    // The Monday after Good Friday is measured against Thursday.
    expect(previousSession(at('2025-04-21T15:00:00Z')).date).toBe('2025-04-17');
  });

  it('uses the New York date, not the UTC one', () => {
    // 2025-03-11T02:00Z is still Monday 10 March, 22:00 EDT.
    expect(tradingDayOf(at('2025-03-11T02:00:00Z'))).toBe('2025-03-10');
    expect(iso(tradingDayStart(at('2025-03-11T02:00:00Z')))).toBe('2025-03-10T13:30:00.000Z');
    expect(iso(tradingDayStart(at('2025-03-11T02:00:00Z'), 'extended'))).toBe('2025-03-10T08:00:00.000Z');
  });

  it('finds New York midnight in both seasons', () => {
    expect(iso(nextMarketMidnight(at('2025-03-07T21:00:00Z')))).toBe('2025-03-08T05:00:00.000Z');
    expect(iso(nextMarketMidnight(at('2025-03-10T13:45:00Z')))).toBe('2025-03-11T04:00:00.000Z');
    expect(iso(nextMarketMidnight(at('2025-03-09T04:59:59Z')))).toBe('2025-03-09T05:00:00.000Z');
  });

  it('counts session time between two instants', () => {
    const friday1600 = at('2025-03-07T21:00:00Z');
    const monday1300 = at('2025-03-10T17:00:00Z'); // 13:00 EDT
    // Friday 16:00–20:00 plus Monday 04:00–13:00 of extended hours.
    expect(sessionTimeBetween(friday1600, monday1300, 'extended')).toBe((4 + 9) * 3_600_000);
    expect(sessionTimeBetween(friday1600, monday1300, 'regular')).toBe(3.5 * 3_600_000);
    expect(sessionTimeBetween(friday1600, friday1600 + 60_000, 'always')).toBe(60_000);
    expect(sessionTimeBetween(monday1300, friday1600, 'extended')).toBe(0);
  });
});
