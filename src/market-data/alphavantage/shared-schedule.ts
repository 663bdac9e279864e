import { isOpen, type MarketHoursMode, nextOpen } from '../market-hours.ts';
import type { Clock } from './quota.ts';

/**
 * The schedule of clients that share one key and split the symbols. Time is cut into periods of
 * `periodMs` — as long as one client alone takes to go round every symbol — aligned on the epoch, so
 * that every client agrees on them without talking. In each period every symbol is fetched once, at its
 * own offset: with `spread`, the i-th of SYMBOLS at i × period / n, so that the fleet's calls are as
 * evenly spaced as one client's were, whoever owns what; without (bulk quotes), all at the start.
 *
 * The owner fetches a symbol at its offset, or as soon as it can after it when it took the symbol over
 * mid-period (the previous owner died before its turn). The fetch lease (`sharing/leases.ts`), keyed by
 * the period's number, makes sure that a symbol both clients believed theirs is fetched only once.
 */

export interface SlotSchedule {
  readonly periodMs: number;
  /** The period `at` falls in. */
  slotOf(at: number): number;
  /** Whether anything may be called now: the session is open and no deferral holds. */
  isDue(): boolean;
  /** Up to `max` of `owned` whose turn in the current period has come and that are not done yet. */
  due(owned: readonly string[], max: number): { slot: number; symbols: string[] };
  /** `symbol` had its fetch in `slot` (by this client or, as its lease said, another). */
  markDone(symbol: string, slot: number): void;
  /** Its fetch did not happen after all (the quota refused it): due again. */
  unmark(symbol: string, slot: number): void;
  deferUntil(at: number): void;
  /** The first instant at which one of `owned` is due. */
  nextDueAt(owned: readonly string[]): number;
}

export function createSlotSchedule(options: {
  clock: Clock;
  marketHours: MarketHoursMode;
  fleetSymbols: readonly string[];
  periodMs: number;
  spread: boolean;
}): SlotSchedule {
  const { clock, marketHours, periodMs } = options;
  const index = new Map(options.fleetSymbols.map((s, i) => [s, i]));
  const count = Math.max(1, options.fleetSymbols.length);
  const doneIn = new Map<string, number>();
  let notBefore = Number.NEGATIVE_INFINITY;

  const slotOf = (at: number) => Math.floor(at / periodMs);
  // A symbol missing from the fleet's list (it should not be) goes last in the period.
  const offset = (symbol: string) =>
    options.spread ? Math.floor(((index.get(symbol) ?? count - 1) * periodMs) / count) : 0;

  function pending(owned: readonly string[], now: number) {
    const slot = slotOf(now);
    const start = slot * periodMs;
    return {
      slot,
      symbols: owned
        .filter((s) => doneIn.get(s) !== slot && start + offset(s) <= now)
        .sort((a, b) => offset(a) - offset(b)),
    };
  }

  return {
    periodMs,
    slotOf,
    isDue() {
      const now = clock.now();
      return now >= notBefore && isOpen(now, marketHours);
    },
    due(owned, max) {
      const { slot, symbols } = pending(owned, clock.now());
      return { slot, symbols: symbols.slice(0, max) };
    },
    markDone(symbol, slot) {
      doneIn.set(symbol, slot);
    },
    unmark(symbol, slot) {
      if (doneIn.get(symbol) === slot) doneIn.delete(symbol);
    },
    deferUntil(at) {
      notBefore = Math.max(notBefore, at);
    },
    nextDueAt(owned) {
      const now = Math.max(clock.now(), notBefore);
      if (owned.length === 0) return Number.POSITIVE_INFINITY;
      let next = Number.POSITIVE_INFINITY;
      const slot = slotOf(now);
      for (const symbol of owned) {
        const thisPeriod = slot * periodMs + offset(symbol);
        const at = doneIn.get(symbol) === slot ? thisPeriod + periodMs : thisPeriod;
        next = Math.min(next, Math.max(at, now));
      }
      return +nextOpen(next, marketHours);
    },
  };
}
