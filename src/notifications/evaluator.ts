import type { Bus } from '../bus/bus.ts';
import type { Executor } from '../db/connect.ts';
import type { SymbolAdvance } from '../prices/prices.repo.ts';
import type { FreshPricesHook } from '../prices/prices.service.ts';
import type { Clock } from '../shared/clock.ts';
import type {
  ClaimedAlert,
  FreshPrice,
  IndicatorMetric,
  NotificationsRepo,
  RuleSummary,
} from './notifications.repo.ts';
import {
  advance,
  covers,
  metricAt,
  needsOf,
  type PriceState,
  type StateNeeds,
  stateFromBars,
} from './price-state.ts';

export type EvaluationRead = 'rules' | 'bars' | 'newer_bars' | 'candidates';

export const DELIVERIES_CHANNEL = 'deliveries';
export const ALERTS_CHANNEL = 'alerts';

/**
 * How many symbols' bars the evaluator keeps (least recently evaluated dropped first). A state holds up
 * to twice its longest SMA or volume average (≤ 2 × 1,001 bars, 5 numbers each: 80 KB) and the queues of
 * its longest window (≤ 1,440 minute bars: 46 KB); an SMA of 200 and an hour's window take about 20 KB.
 * So at most about 130 MB in the worst case, 20 MB typically.
 */
const MAX_STATES = 1_000;
/** Rule summaries are a few numbers per (kind, variant): many more fit. */
const MAX_SUMMARIES = 50_000;
const DAY_MS = 86_400_000;
/** A kept state further behind than this many bars is read afresh rather than caught up. */
const CATCH_UP_MAX_BARS = 2_000;
/** The roll-up works in whole hours up to its cutoff: a day's margin covers it. */
const ROLLUP_MARGIN_MS = DAY_MS;

/** A fresh price of a symbol with indicator rules, and what its state must hold for them. */
interface Watched {
  f: SymbolAdvance;
  summary: RuleSummary;
  needs: StateNeeds;
}

export interface AlertEvent {
  id: string;
  userId: string;
  notificationId: string;
  symbol: string;
  condition: string;
  threshold: number;
  price: number;
  priceAt: string;
  firedAt: string;
}

/**
 * Evaluates notifications on each symbol's newest fresh price, inside the ingest transaction (the
 * seed: "on each POST /stocks"). Prices older than `maxPriceAgeMs` are stored but never fire: an
 * alert about a price from last week is noise. After the commit it wakes the notifiers and tells
 * live dashboards.
 *
 * Most prices fire nothing, and with a million rules the statements that look for what fires would
 * cost more than storing the price. So the evaluator keeps two things per symbol in memory, each valid
 * at a version that the ingest statement itself returns (no extra round trip to check):
 * - a summary of the symbol's armed rules that are not cooling down (lowest/highest threshold per kind
 *   and variant), at its `notification_versions` version, which triggers replace on every change of an
 *   armed rule and every firing, and until the first cooling rule becomes eligible again;
 * - the symbol's recent bars and day/52-week extremes (price-state.ts), at its `symbols.revision`.
 * A price whose metrics pass no bound of the summary costs no statement; one that passes a bound is
 * looked up and claimed by the same range scans and claim as always, which decide: the summary only
 * ever lets through more than fires, never less.
 */
export function createEvaluator(deps: {
  repo: NotificationsRepo;
  bus: Bus;
  clock: Clock;
  maxPriceAgeMs: number;
  /**
   * RETENTION_DAYS (0: none). The hourly roll-up rewrites bars older than that without a new revision
   * (it would have to lock the symbols' rows for its whole batch), so a state holding such a bar — only
   * a symbol with very few prices a day and a long SMA — is used once and not kept.
   */
  retentionDays: number;
  onFired?: (alerts: ClaimedAlert[]) => void;
  /**
   * How many symbols' rule summaries or bars had to be read (not current in memory; `newer_bars`: only
   * the bars newer than those kept), and how many symbols (level kinds) or (kind, variant) pairs passed
   * a bound and were looked up (`candidates`).
   */
  onRead?: (what: EvaluationRead, count: number) => void;
}): FreshPricesHook {
  const summaries = new Lru<RuleSummary>(MAX_SUMMARIES);
  const states = new Lru<PriceState>(MAX_STATES);
  const needs = new WeakMap<RuleSummary, StateNeeds>();
  const needsFor = (summary: RuleSummary) => {
    let n = needs.get(summary);
    if (!n) {
      n = needsOf(summary.variants);
      needs.set(summary, n);
    }
    return n;
  };

  /**
   * Each watched symbol's state at its statement's revision: the kept one moved forward by the
   * statement's own rows when nothing else was written in between; caught up by reading the newer bars
   * when others stored only newer prices (another server taking turns); otherwise read afresh. A kept
   * state holding a bar the roll-up may have rewritten (older than RETENTION_DAYS) is never reused.
   */
  async function statesAt(
    tx: Executor,
    watching: Watched[],
    rolledUpBefore: number,
  ): Promise<Map<string, PriceState>> {
    const current = new Map<string, PriceState>();
    const toCatchUp: Array<Watched & { kept: PriceState }> = [];
    const toRead: Watched[] = [];
    for (const w of watching) {
      const kept = states.get(w.f.symbol);
      if (!kept || kept.ts[0]! < rolledUpBefore) toRead.push(w);
      else if (advance(kept, w.f, w.needs)) {
        if (covers(kept, w.needs)) current.set(w.f.symbol, kept);
        else toRead.push(w);
      } else if (kept.pending === null && kept.history === w.f.history && kept.ts.at(-1)! < w.f.ts.getTime())
        toCatchUp.push({ ...w, kept });
      else toRead.push(w);
    }

    deps.onRead?.('newer_bars', toCatchUp.length);
    const newer = await deps.repo.barsAfter(
      tx,
      toCatchUp.map(({ f, kept }) => ({ symbol: f.symbol, after: kept.ts.at(-1)!, at: f.ts.getTime() })),
      CATCH_UP_MAX_BARS,
    );
    for (const w of toCatchUp) {
      const bars = newer.get(w.f.symbol) ?? [];
      const change = { revision: w.f.revision, prevRevision: w.kept.revision, history: w.f.history, bars };
      if (bars.length < CATCH_UP_MAX_BARS && advance(w.kept, change, w.needs) && covers(w.kept, w.needs))
        current.set(w.f.symbol, w.kept);
      else toRead.push(w);
    }

    deps.onRead?.('bars', toRead.length);
    const read = await deps.repo.priceStates(
      tx,
      toRead.map(({ f, needs }) => ({ symbol: f.symbol, at: f.ts.getTime(), price: f.price, needs })),
    );
    const requested = new Map(toRead.map((w) => [w.f.symbol, w]));
    for (const { symbol, ...held } of read) {
      const { f, needs } = requested.get(symbol)!;
      // Read after this transaction's own write, which holds the symbol's row: at its revision.
      current.set(symbol, stateFromBars(held, f, needs));
    }
    return current;
  }

  return async (tx: Executor, fresh) => {
    const now = deps.clock.now();
    const recent = fresh.filter((f) => now.getTime() - f.ts.getTime() <= deps.maxPriceAgeMs);
    if (recent.length === 0) return undefined;

    const stale = recent.filter((f) => {
      const summary = summaries.get(f.symbol);
      const at = f.ts.getTime();
      return summary?.version !== f.rulesVersion || at < summary.from || at >= summary.validBefore;
    });
    // Read in this transaction: a summary never misses a rule committed before the price's statement.
    deps.onRead?.('rules', stale.length);
    const fetched = await deps.repo.ruleSummaries(
      tx,
      stale.map((f) => ({ symbol: f.symbol, at: f.ts })),
    );
    for (const summary of fetched) summaries.set(summary.symbol, summary);

    const levelPrices: FreshPrice[] = [];
    const watching: Watched[] = [];
    for (const f of recent) {
      const summary = summaries.get(f.symbol)!;
      if (levelMayFire(summary, f.price, f.prevPrice))
        levelPrices.push({ symbol: f.symbol, price: f.price, previous: f.prevPrice, priceAt: f.ts });
      if (summary.variants.length > 0) watching.push({ f, summary, needs: needsFor(summary) });
    }

    const rolledUpBefore =
      deps.retentionDays > 0 ? now.getTime() - deps.retentionDays * DAY_MS + ROLLUP_MARGIN_MS : -Infinity;
    const current = await statesAt(tx, watching, rolledUpBefore);

    const indicators: IndicatorMetric[] = [];
    for (const { f, summary } of watching) {
      const state = current.get(f.symbol)!;
      for (const v of summary.variants) {
        const value = metricAt(state, v.kind, v.variant);
        if (value !== null && v.min <= value)
          indicators.push({ ...v, symbol: f.symbol, metric: value, price: f.price, priceAt: f.ts });
      }
    }

    deps.onRead?.('candidates', levelPrices.length + indicators.length);
    const candidates =
      levelPrices.length > 0 || indicators.length > 0
        ? await deps.repo.findCandidates(tx, levelPrices, indicators)
        : [];
    const fired: ClaimedAlert[] = await deps.repo.claim(tx, candidates, now);
    const revisions = new Map(recent.map((f) => [f.symbol, f.revision]));
    return () => {
      // Only once committed: a state read in a transaction that rolled back would describe bars that
      // were never stored. One moved forward in place is no longer pending (see `advance`).
      for (const [symbol, state] of current) {
        if (state.pending === revisions.get(symbol)) state.pending = null;
        if (state.ts[0]! >= rolledUpBefore) states.set(symbol, state);
        else states.delete(symbol);
      }
      if (fired.length === 0) return;
      deps.onFired?.(fired);
      // A lost wake-up only costs latency: notifiers also sweep on a timer.
      deps.bus.publish(DELIVERIES_CHANNEL, { count: fired.length }).catch(() => {});
      for (const a of fired) {
        const event: AlertEvent = {
          id: a.alertId,
          userId: a.userId,
          notificationId: a.notificationId,
          symbol: a.symbol,
          condition: a.kind,
          threshold: a.threshold,
          price: a.price,
          priceAt: a.priceAt.toISOString(),
          firedAt: a.firedAt.toISOString(),
        };
        deps.bus.publish(ALERTS_CHANNEL, event).catch(() => {});
      }
    };
  };
}

/**
 * Whether any level rule of the summary may hold at this price: the same comparisons as the range
 * scans (notifications.repo.ts) against the extreme thresholds, so it is true whenever one holds.
 */
export function levelMayFire(summary: RuleSummary, price: number, previous: number | null): boolean {
  const { above, at_or_above, below, at_or_below, crosses_above, crosses_below } = summary.levels;
  if (above && above.min < price) return true;
  if (at_or_above && at_or_above.min <= price) return true;
  if (below && below.max > price) return true;
  if (at_or_below && at_or_below.max >= price) return true;
  if (previous === null) return false;
  if (crosses_above && crosses_above.max > previous && crosses_above.min <= price) return true;
  if (crosses_below && crosses_below.min < previous && crosses_below.max >= price) return true;
  return false;
}

/** A Map that forgets its least recently used entry beyond `max`. */
class Lru<T> {
  private readonly map = new Map<string, T>();
  constructor(private readonly max: number) {}
  get(key: string): T | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  set(key: string, value: T): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}
