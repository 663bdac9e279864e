import { describe, expect, it } from 'vitest';
import { isTimeZone, quietUntil } from './quiet-hours.ts';

const berlin = { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' };

describe('quiet hours', () => {
  it('spans midnight in the zone of the user, ending at the local end time', () => {
    // 23:00 in Berlin (UTC+2 in June): quiet until 07:00 local, 05:00 UTC the next day.
    expect(quietUntil(new Date('2025-06-02T21:00:00Z'), berlin)?.toISOString()).toBe(
      '2025-06-03T05:00:00.000Z',
    );
    // 03:00 local, after midnight: the same morning.
    expect(quietUntil(new Date('2025-06-03T01:00:00Z'), berlin)?.toISOString()).toBe(
      '2025-06-03T05:00:00.000Z',
    );
    // 07:00 local: over (the end is exclusive); 21:59 local: not yet.
    expect(quietUntil(new Date('2025-06-03T05:00:00Z'), berlin)).toBeUndefined();
    expect(quietUntil(new Date('2025-06-02T19:59:00Z'), berlin)).toBeUndefined();
    // 22:00 local: begun (the start is inclusive).
    expect(quietUntil(new Date('2025-06-02T20:00:00Z'), berlin)?.toISOString()).toBe(
      '2025-06-03T05:00:00.000Z',
    );
  });

  it('keeps local time across a daylight-saving change in the night', () => {
    // Berlin springs forward on 2025-03-30 (02:00 CET → 03:00 CEST): 07:00 that morning is 05:00 UTC.
    expect(quietUntil(new Date('2025-03-29T22:00:00Z'), berlin)?.toISOString()).toBe(
      '2025-03-30T05:00:00.000Z',
    );
    // …and falls back on 2025-10-26: 07:00 CET is 06:00 UTC.
    expect(quietUntil(new Date('2025-10-25T21:30:00Z'), berlin)?.toISOString()).toBe(
      '2025-10-26T06:00:00.000Z',
    );
  });

  it('handles quiet hours within one day, in other zones', () => {
    const lunch = { start: '12:00', end: '13:30', timeZone: 'America/New_York' };
    expect(quietUntil(new Date('2025-01-15T17:15:00Z'), lunch)?.toISOString()).toBe(
      '2025-01-15T18:30:00.000Z',
    );
    expect(quietUntil(new Date('2025-01-15T18:30:00Z'), lunch)).toBeUndefined();
    expect(quietUntil(new Date('2025-01-15T16:59:00Z'), lunch)).toBeUndefined();
    const tokyo = { start: '00:00', end: '06:00', timeZone: 'Asia/Tokyo' };
    expect(quietUntil(new Date('2025-01-15T16:00:00Z'), tokyo)?.toISOString()).toBe(
      '2025-01-15T21:00:00.000Z',
    );
  });

  it('means none when start equals end, and knows IANA zones from typos', () => {
    expect(quietUntil(new Date(), { start: '08:00', end: '08:00', timeZone: 'UTC' })).toBeUndefined();
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Berlinn')).toBe(false);
    expect(isTimeZone('+02:00')).toBe(false);
  });
});
