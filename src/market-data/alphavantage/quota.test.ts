import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { marketDate } from '../market-hours.ts';
import { createMemoryQuotaStore, createQuota, type QuotaState, type QuotaStore } from './quota.ts';

function fakeClock(iso: string) {
  let now = Date.parse(iso);
  return {
    now: () => now,
    set: (at: number) => {
      now = at;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** Largest number of instants in any window of `width` ms (half-open). */
function maxInWindow(instants: number[], width: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < instants.length; i++) {
    while (instants[i]! - instants[j]! >= width) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('quota', () => {
  it('allows 5 calls a minute and says when the sixth may go', async () => {
    const clock = fakeClock('2025-03-10T14:00:00Z');
    const quota = createQuota({ clock });
    for (let i = 0; i < 5; i++) {
      expect(await quota.take()).toEqual({ allowed: true });
      clock.advance(1_000);
    }
    expect(await quota.check()).toEqual({
      allowed: false,
      retryAt: Date.parse('2025-03-10T14:01:00Z'),
      reason: 'minute',
    });
    clock.set(Date.parse('2025-03-10T14:01:00Z'));
    expect(await quota.take()).toEqual({ allowed: true });
  });

  it('check does not use up a call', async () => {
    const clock = fakeClock('2025-03-10T14:00:00Z');
    const quota = createQuota({ clock, limits: { perMinute: 1, perDay: 1 } });
    expect(await quota.check()).toEqual({ allowed: true });
    expect(await quota.check()).toEqual({ allowed: true });
    expect(await quota.take()).toEqual({ allowed: true });
    expect((await quota.check()).allowed).toBe(false);
  });

  it('resets the day at midnight in New York, not UTC', async () => {
    // 23:30 EST on Friday 7 March = 04:30 UTC on Saturday.
    const clock = fakeClock('2025-03-08T04:30:00Z');
    const quota = createQuota({ clock, limits: { perMinute: 100, perDay: 2 } });
    await quota.take();
    await quota.take();
    expect(await quota.take()).toEqual({
      allowed: false,
      retryAt: Date.parse('2025-03-08T05:00:00Z'),
      reason: 'day',
    });
    clock.set(Date.parse('2025-03-08T04:59:59Z'));
    expect((await quota.take()).allowed).toBe(false);
    clock.set(Date.parse('2025-03-08T05:00:00Z'));
    expect((await quota.take()).allowed).toBe(true);
  });

  it('after the provider says the day is spent, refuses everything until New York midnight', async () => {
    const clock = fakeClock('2025-03-10T15:00:00Z');
    const quota = createQuota({ clock });
    const until = await quota.exhaust('day');
    // Midnight EDT is 04:00 UTC, plus a few seconds of margin for clock skew.
    expect(until).toBeGreaterThanOrEqual(Date.parse('2025-03-11T04:00:00Z'));
    expect(until).toBeLessThanOrEqual(Date.parse('2025-03-11T04:01:00Z'));
    clock.set(until - 1);
    expect(await quota.take()).toMatchObject({ allowed: false, reason: 'blocked', retryAt: until });
    clock.set(until);
    expect(await quota.take()).toEqual({ allowed: true });
  });

  it('never exceeds either limit, whatever the timing of the attempts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 40 * 60_000 }), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 30 }),
        async (gaps, perMinute, perDay) => {
          // Start just before a New York midnight so that some runs cross it.
          const clock = fakeClock('2025-11-01T03:00:00Z');
          const quota = createQuota({ clock, limits: { perMinute, perDay } });
          const granted: number[] = [];
          for (const gap of gaps) {
            clock.advance(gap);
            const decision = await quota.take();
            if (decision.allowed) granted.push(clock.now());
            else expect(decision.retryAt).toBeGreaterThan(clock.now());
          }
          expect(maxInWindow(granted, 60_000)).toBeLessThanOrEqual(perMinute);
          const perDate = new Map<string, number>();
          for (const t of granted) perDate.set(marketDate(t), (perDate.get(marketDate(t)) ?? 0) + 1);
          for (const count of perDate.values()) expect(count).toBeLessThanOrEqual(perDay);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('spends the whole allowance over a simulated day, jumping to each retryAt', async () => {
    const clock = fakeClock('2025-03-10T04:00:00Z'); // 00:00 EDT
    const quota = createQuota({ clock });
    const granted: number[] = [];
    while (clock.now() < Date.parse('2025-03-11T04:00:00Z')) {
      const decision = await quota.take();
      if (decision.allowed) granted.push(clock.now());
      else clock.set(decision.retryAt);
    }
    expect(granted).toHaveLength(25);
    expect(maxInWindow(granted, 60_000)).toBe(5);
  });

  it('keeps its state behind the store, so two keepers on one store share the quota', async () => {
    const clock = fakeClock('2025-03-10T14:00:00Z');
    const states: QuotaState[] = [];
    const inner = createMemoryQuotaStore();
    const store: QuotaStore = {
      update: (change) =>
        inner.update((state) => {
          const next = change(state);
          states.push(next.state);
          return next;
        }),
    };
    const a = createQuota({ clock, store, limits: { perMinute: 5, perDay: 3 } });
    const b = createQuota({ clock, store, limits: { perMinute: 5, perDay: 3 } });
    expect([(await a.take()).allowed, (await b.take()).allowed, (await a.take()).allowed]).toEqual([
      true,
      true,
      true,
    ]);
    expect((await b.take()).allowed).toBe(false);
    expect(states.at(-1)).toMatchObject({ day: '2025-03-10', dayCount: 3 });
  });

  it('refuses limits below one', () => {
    expect(() =>
      createQuota({ clock: fakeClock('2025-03-10T14:00:00Z'), limits: { perMinute: 0, perDay: 25 } }),
    ).toThrow(RangeError);
  });
});
