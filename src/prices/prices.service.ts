import type { Bus } from '../bus/bus.ts';
import type { Database, Executor, TransactionRunner } from '../db/connect.ts';
import type { Clock } from '../shared/clock.ts';
import { type FieldProblem, NotFoundError, ValidationError } from '../shared/errors.ts';
import { createGroupCommitter } from '../shared/group-commit.ts';
import type { PriceRow, PricesRepo, SymbolAdvance } from './prices.repo.ts';
import {
  type HistoryQuery,
  type HistoryResponse,
  INTERVALS,
  type Interval,
  MAX_POINTS,
  type PriceInput,
  type SymbolSummary,
} from './prices.schemas.ts';

const FUTURE_TOLERANCE_MS = 5 * 60_000;
const DEFAULT_RANGE_MS = 24 * 3600_000;

export interface IngestResult {
  inserted: number;
  duplicates: number;
}

/**
 * Called inside the ingest transaction with the symbols whose newest price moved forward. What it
 * returns runs after the commit (publishing, waking notifiers): never before, so nobody hears of
 * something that could still roll back.
 */
export type FreshPricesHook = (tx: Executor, fresh: SymbolAdvance[]) => Promise<(() => void) | undefined>;

export interface PricesEvent {
  symbol: string;
  price: number;
  timestamp: string;
}

export function createPricesService(deps: {
  db: Database;
  transaction: TransactionRunner;
  repo: PricesRepo;
  bus: Bus;
  clock: Clock;
  /** Concurrent ingest transactions: 1 on PGlite (one connection), a few on PostgreSQL. */
  maxConcurrentWrites: number;
  maxRowsPerWrite: number;
  onFreshPrices?: FreshPricesHook;
  /** How old a price may be and still be evaluated (ALERT_MAX_PRICE_AGE); older ones skip the hook. */
  evaluationWindowMs: number;
}) {
  const { db, repo, bus, clock } = deps;

  const committer = createGroupCommitter<PriceRow, IngestResult>({
    maxConcurrent: deps.maxConcurrentWrites,
    maxItems: deps.maxRowsPerWrite,
    async write(groups) {
      const rows = groups
        .flat()
        .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.ts - b.ts));
      const oldestEvaluated = clock.now().getTime() - deps.evaluationWindowMs;
      const evaluable = deps.onFreshPrices !== undefined && rows.some((r) => r.ts >= oldestEvaluated);
      // Prices too old to fire anything (backfills, history imports) are one statement that commits
      // by itself; the others are evaluated in the same transaction, so no alert is lost to a crash.
      const { inserted, fresh, afterCommit } = evaluable
        ? await deps.transaction(async (tx) => {
            const written = await repo.write(tx, rows);
            const afterCommit =
              written.fresh.length > 0 ? await deps.onFreshPrices?.(tx, written.fresh) : undefined;
            return { ...written, afterCommit };
          })
        : { ...(await repo.write(db, rows)), afterCommit: undefined };
      // After commit only: a subscriber must never hear of a price or an alert that could still roll back.
      afterCommit?.();
      for (const f of fresh) {
        const event: PricesEvent = { symbol: f.symbol, price: f.price, timestamp: f.ts.toISOString() };
        bus.publish('prices', event).catch(() => {});
      }
      return attribute(groups, inserted);
    },
  });

  return {
    /**
     * Stores one price or a batch; a price whose (symbol, timestamp) is already stored is counted as a
     * duplicate. A batch with any invalid price is rejected whole.
     */
    async ingest(body: PriceInput | PriceInput[]): Promise<IngestResult> {
      const now = clock.now().getTime();
      const problems: FieldProblem[] = [];
      const input = Array.isArray(body) ? body : [body];
      const rows = input.map((p, i): PriceRow => {
        const ts = Date.parse(p.timestamp);
        if (ts > now + FUTURE_TOLERANCE_MS)
          problems.push({
            pointer: Array.isArray(body) ? `/${i}/timestamp` : '/timestamp',
            detail: 'must not be more than 5 minutes in the future',
          });
        return {
          symbol: p.symbol,
          ts,
          price: p.price,
          volume: p.volume,
          open: p.open ?? null,
          high: p.high ?? null,
          low: p.low ?? null,
        };
      });
      if (problems.length > 0) throw new ValidationError(`${problems.length} invalid price(s)`, problems);
      return committer.submit(rows);
    },

    async history(symbol: string, query: HistoryQuery): Promise<HistoryResponse> {
      const end = query.end_time ? new Date(query.end_time) : clock.now();
      const start = query.start_time
        ? new Date(query.start_time)
        : new Date(end.getTime() - DEFAULT_RANGE_MS);
      if (start >= end)
        throw new ValidationError('start_time must be before end_time', [
          { pointer: '/start_time', detail: 'must be before end_time' },
        ]);
      if (!(await repo.symbolExists(db, symbol))) throw new NotFoundError(`Symbol '${symbol}' not found`);

      const interval = query.interval ?? (await chooseInterval(symbol, start, end, query.max_points));
      const base = { symbol, start_time: start.toISOString(), end_time: end.toISOString() };
      if (!interval) {
        const rows = await repo.range(db, symbol, start, end);
        const data = rows.map((r) => ({
          timestamp: new Date(r.ts).toISOString(),
          price: r.price,
          volume: r.volume,
          ...(r.open !== null && { open: r.open }),
          ...(r.high !== null && { high: r.high }),
          ...(r.low !== null && { low: r.low }),
        }));
        return { ...base, interval: 'raw', data };
      }
      const seconds = INTERVALS[interval];
      if ((end.getTime() - start.getTime()) / 1000 / seconds > MAX_POINTS + 1)
        throw new ValidationError(`The range holds more than ${MAX_POINTS} ${interval} buckets`, [
          {
            pointer: '/interval',
            detail: `too small for this range: choose a larger interval or a shorter range`,
          },
        ]);
      const buckets = await repo.buckets(db, symbol, start, end, seconds);
      const data = buckets.map((b) => ({
        timestamp: new Date(b.bucket).toISOString(),
        price: b.close,
        volume: Number(b.volume),
        open: b.open,
        high: b.high,
        low: b.low,
      }));
      return { ...base, interval, data };
    },

    async listSymbols(): Promise<SymbolSummary[]> {
      const rows = await repo.listSymbols(db);
      return rows.map((r) => {
        const change = r.previous_close === null ? null : r.last_price - r.previous_close;
        return {
          symbol: r.symbol,
          price: r.last_price,
          timestamp: new Date(r.last_ts).toISOString(),
          previous_close: r.previous_close,
          change: change === null ? null : round(change, 6),
          change_percent:
            change === null || !r.previous_close ? null : round((change / r.previous_close) * 100, 4),
        };
      });
    },

    /** Waits for ingest writes in flight; used on shutdown. */
    drain: () => committer.drain(),
  };

  /** The smallest bucket that fits the range into max_points, or none when the raw rows already fit. */
  async function chooseInterval(symbol: string, start: Date, end: Date, maxPoints: number) {
    const count = await repo.countInRange(db, symbol, start, end, maxPoints + 1);
    if (count <= maxPoints) return undefined;
    const spanSeconds = (end.getTime() - start.getTime()) / 1000;
    const names = Object.keys(INTERVALS) as Interval[];
    return (
      names.find((name) => Math.ceil(spanSeconds / INTERVALS[name]) <= maxPoints) ?? names[names.length - 1]!
    );
  }
}

export type PricesService = ReturnType<typeof createPricesService>;

/** Splits one statement's inserted rows back to the requests that sent them. */
function attribute(groups: PriceRow[][], inserted: PriceRow[]): IngestResult[] {
  const stored = new Set(inserted);
  return groups.map((rows) => {
    let count = 0;
    for (const row of rows) if (stored.has(row)) count++;
    return { inserted: count, duplicates: rows.length - count };
  });
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
