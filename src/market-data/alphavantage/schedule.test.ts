import { describe, expect, it } from 'vitest';
import {
  bulkSpacingMs,
  createScheduler,
  describePlan,
  formatDuration,
  intradaySpacingMs,
} from './schedule.ts';

const freeKey = { callsPerDay: 25, callsPerMinute: 5 } as const;

describe('describePlan', () => {
  it('spreads 25 calls a day over 10 symbols around the clock', () => {
    expect(describePlan(10, { ...freeKey, marketHours: 'always' })).toBe(
      '10 symbols, 25 calls/day: each symbol refreshed every 9 h 36 min; bulk quotes would allow every 1 min',
    );
  });

  it('spreads them over the session when calls are limited to market hours', () => {
    // 6 h 30 min / 25 calls × 10 symbols = 2 h 36 min.
    expect(describePlan(10, { ...freeKey, marketHours: 'regular' })).toBe(
      '10 symbols, 25 calls/day during regular hours (09:30–16:00 New York): each symbol refreshed every 2 h 36 min; bulk quotes would allow every 1 min',
    );
    expect(describePlan(1, { ...freeKey, marketHours: 'extended' })).toMatch(
      /^1 symbol, 25 calls\/day during extended hours .*: each symbol refreshed every 38 min; /,
    );
  });

  it('lets the per-minute limit decide when it binds', () => {
    // 250 symbols need 3 bulk calls; at 1 call a minute that is one refresh every 3 minutes.
    expect(describePlan(250, { callsPerDay: 25, callsPerMinute: 1, marketHours: 'always' })).toMatch(
      /bulk quotes would allow every 3 min$/,
    );
    expect(
      formatDuration(intradaySpacingMs({ callsPerDay: 100_000, callsPerMinute: 5, marketHours: 'always' })),
    ).toBe('12 s');
  });

  it('describes the bulk plan of a premium key', () => {
    expect(
      describePlan(150, {
        callsPerDay: Number.POSITIVE_INFINITY,
        callsPerMinute: 75,
        marketHours: 'regular',
        bulk: true,
      }),
    ).toBe(
      '150 symbols, no daily cap, 75 calls/min during regular hours (09:30–16:00 New York): realtime bulk quotes, 2 calls per refresh, every symbol refreshed every 1 min',
    );
    expect(
      bulkSpacingMs(150, {
        callsPerDay: Number.POSITIVE_INFINITY,
        callsPerMinute: 75,
        marketHours: 'always',
      }),
    ).toBe(30_000);
  });
});

describe('formatDuration', () => {
  it('reads like a person wrote it', () => {
    expect([34_560_000, 60_000, 3_600_000, 46_800, 59_600, 5_400_000].map(formatDuration)).toEqual([
      '9 h 36 min',
      '1 min',
      '1 h',
      '47 s',
      '1 min',
      '1 h 30 min',
    ]);
  });
});

describe('scheduler', () => {
  it('goes round-robin, spaced, and only while the market is open', () => {
    let now = Date.parse('2025-03-10T13:00:00Z'); // 09:00 EDT, before the open
    const scheduler = createScheduler({ clock: { now: () => now }, marketHours: 'regular' });
    expect(scheduler.isDue()).toBe(false);
    expect(scheduler.nextDueAt()).toBe(Date.parse('2025-03-10T13:30:00Z'));
    now = scheduler.nextDueAt();
    const symbols = ['A', 'B', 'C'];
    const served: string[] = [];
    for (let i = 0; i < 4; i++) {
      expect(scheduler.isDue()).toBe(true);
      served.push(scheduler.next(symbols, 600_000)!);
      expect(scheduler.isDue()).toBe(false);
      expect(scheduler.nextDueAt()).toBe(now + 600_000);
      now += 600_000;
    }
    expect(served).toEqual(['A', 'B', 'C', 'A']);
    // Spacing that runs past the close waits for the next session (Tuesday 09:30 EDT).
    now = Date.parse('2025-03-10T19:55:00Z');
    scheduler.next(symbols, 600_000);
    expect(scheduler.nextDueAt()).toBe(Date.parse('2025-03-11T13:30:00Z'));
  });

  it('keeps going when the list shrinks, and honours deferrals', () => {
    let now = Date.parse('2025-03-10T14:00:00Z');
    const scheduler = createScheduler({ clock: { now: () => now }, marketHours: 'always' });
    expect(scheduler.next(['A', 'B', 'C'], 1_000)).toBe('A');
    now += 1_000;
    expect(scheduler.next(['A', 'B', 'C'], 1_000)).toBe('B');
    now += 1_000;
    expect(scheduler.next(['A', 'B'], 1_000)).toBe('A');
    scheduler.deferUntil(now + 60_000);
    now += 30_000;
    expect(scheduler.isDue()).toBe(false);
    expect(scheduler.nextDueAt()).toBe(now + 30_000);
  });
});
