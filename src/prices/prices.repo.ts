import { sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';

export interface PriceRow {
  symbol: string;
  /** Milliseconds since the epoch: the precision we store. */
  ts: number;
  price: number;
  volume: number;
  open: number | null;
  high: number | null;
  low: number | null;
}

export interface SymbolAdvance {
  symbol: string;
  price: number;
  ts: Date;
  /** The price evaluated before this one, null for a symbol's first price. */
  prevPrice: number | null;
  /** `symbols.revision` after this statement, and the one it replaced (null for a new symbol). */
  revision: string;
  prevRevision: string | null;
  /** `symbols.history` after this statement (see the schema). */
  history: string | null;
  /** The symbol's `notification_versions.version` ('0' when it never had a rule). */
  rulesVersion: string;
  /** The rows of the symbol this statement inserted, oldest first (the newest is this price). */
  bars: PriceRow[];
}

export interface WriteResult {
  /**
   * The rows given that the statement inserted (the same objects): of two rows with one key, the first
   * is the one stored.
   */
  inserted: PriceRow[];
  fresh: SymbolAdvance[];
}

export interface BucketRow {
  bucket: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface SymbolRow {
  symbol: string;
  last_price: number;
  last_ts: Date;
  previous_close: number | null;
}

// date_bin needs a fixed origin; a Monday at midnight UTC makes weekly buckets start on Mondays.
const BUCKET_ORIGIN = '2000-01-03T00:00:00Z';
const toIso = (ms: number) => new Date(ms).toISOString();

export function createPricesRepo() {
  return {
    /**
     * Stores rows and moves each symbol's newest price forward, in one statement (one round trip, so
     * it commits by itself when run outside a transaction). Rows whose (symbol, ts) is already stored
     * are left as they are: the first write wins. Returns the rows actually inserted, and the symbols
     * whose newest price moved (never backward), with the price they moved from: only those prices
     * are fresh enough to evaluate. Every symbol with an inserted row gets a new revision, and a fresh
     * one comes back with its rules' version, so that the evaluator can tell without another
     * statement whether what it keeps in memory about the symbol is current. Rows must be sorted by
     * symbol, so that concurrent writers lock symbol rows in the same order.
     */
    async write(ex: Executor, rows: PriceRow[]): Promise<WriteResult> {
      // unnest() keeps it to seven parameters however many rows, far from the 65,535 limit.
      const result = await queryRows<{
        k: 'i' | 'a';
        symbol: string;
        ms: number;
        price: number | null;
        prev_price: number | null;
        revision: string | null;
        prev_revision: string | null;
        history: string | null;
        rules_version: string | null;
      }>(
        ex,
        sql`WITH ins AS (
              INSERT INTO prices (symbol, ts, price, open, high, low, volume)
              SELECT * FROM unnest(
                ${sql.param(rows.map((r) => r.symbol))}::text[],
                ${sql.param(rows.map((r) => toIso(r.ts)))}::timestamptz[],
                ${sql.param(rows.map((r) => r.price))}::float8[],
                ${sql.param(rows.map((r) => r.open))}::float8[],
                ${sql.param(rows.map((r) => r.high))}::float8[],
                ${sql.param(rows.map((r) => r.low))}::float8[],
                ${sql.param(rows.map((r) => r.volume))}::int8[])
              ON CONFLICT (symbol, ts) DO NOTHING
              RETURNING symbol, ts, price),
            newest AS (
              SELECT DISTINCT ON (symbol) symbol, price, ts, min(ts) OVER (PARTITION BY symbol) AS oldest
              FROM ins ORDER BY symbol, ts DESC),
            adv AS (
              INSERT INTO symbols AS s (symbol, last_price, last_ts, revision, history, written_from)
              SELECT symbol, price, ts, r, r, oldest
              FROM (SELECT *, nextval('price_revision_seq') AS r FROM newest) n ORDER BY symbol
              ON CONFLICT (symbol) DO UPDATE
                SET prev_price = CASE WHEN s.last_ts < excluded.last_ts THEN s.last_price ELSE s.prev_price END,
                    last_price = CASE WHEN s.last_ts < excluded.last_ts THEN excluded.last_price ELSE s.last_price END,
                    last_ts = greatest(s.last_ts, excluded.last_ts),
                    prev_revision = s.revision,
                    revision = excluded.revision,
                    -- A price older than the newest stored: catching up by reading newer prices would miss it.
                    history = CASE WHEN excluded.written_from < s.last_ts THEN excluded.revision ELSE s.history END,
                    written_from = excluded.written_from
              RETURNING symbol, last_price, last_ts, prev_price, revision, prev_revision, history)
            SELECT 'i' AS k, symbol, (extract(epoch from ts) * 1000)::float8 AS ms,
                   NULL::float8 AS price, NULL::float8 AS prev_price, NULL::text AS revision,
                   NULL::text AS prev_revision, NULL::text AS history, NULL::text AS rules_version
            FROM ins
            UNION ALL
            SELECT 'a', adv.symbol, (extract(epoch from adv.last_ts) * 1000)::float8, adv.last_price,
                   adv.prev_price, adv.revision::text, adv.prev_revision::text, adv.history::text,
                   coalesce(v.version, 0)::text
            FROM adv JOIN newest ON newest.symbol = adv.symbol AND newest.ts = adv.last_ts
            LEFT JOIN notification_versions v ON v.symbol = adv.symbol`,
      );
      const keys = new Set<string>();
      const fresh = new Map<string, SymbolAdvance>();
      for (const r of result) {
        if (r.k === 'i') keys.add(`${r.symbol}@${Number(r.ms)}`);
        else
          fresh.set(r.symbol, {
            symbol: r.symbol,
            price: r.price!,
            ts: new Date(Number(r.ms)),
            prevPrice: r.prev_price,
            revision: r.revision!,
            prevRevision: r.prev_revision,
            history: r.history,
            rulesVersion: r.rules_version!,
            bars: [],
          });
      }
      // One pass: `rows` is sorted by symbol and time, so each fresh symbol's bars come oldest first.
      const inserted: PriceRow[] = [];
      for (const row of rows)
        if (keys.delete(`${row.symbol}@${row.ts}`)) {
          inserted.push(row);
          fresh.get(row.symbol)?.bars.push(row);
        }
      return { inserted, fresh: [...fresh.values()] };
    },

    async symbolExists(ex: Executor, symbol: string): Promise<boolean> {
      const rows = await queryRows(ex, sql`SELECT 1 FROM symbols WHERE symbol = ${symbol}`);
      return rows.length > 0;
    },

    /** Counts at most `cap` rows: enough to decide whether to downsample, without counting a year. */
    async countInRange(ex: Executor, symbol: string, start: Date, end: Date, cap: number): Promise<number> {
      const rows = await queryRows<{ n: number }>(
        ex,
        sql`SELECT count(*)::int AS n FROM (
              SELECT 1 FROM prices
              WHERE symbol = ${symbol} AND ts >= ${start.toISOString()} AND ts < ${end.toISOString()}
              LIMIT ${cap}) capped`,
      );
      return rows[0]?.n ?? 0;
    },

    async range(ex: Executor, symbol: string, start: Date, end: Date) {
      return queryRows<{
        ts: Date;
        price: number;
        volume: number;
        open: number | null;
        high: number | null;
        low: number | null;
      }>(
        ex,
        sql`SELECT ts, price, volume, open, high, low FROM prices
            WHERE symbol = ${symbol} AND ts >= ${start.toISOString()} AND ts < ${end.toISOString()}
            ORDER BY ts`,
      );
    },

    /** OHLCV buckets computed in SQL: the first open, the extremes, the last close, the summed volume. */
    async buckets(
      ex: Executor,
      symbol: string,
      start: Date,
      end: Date,
      seconds: number,
    ): Promise<BucketRow[]> {
      return queryRows<BucketRow>(ex, bucketQuery(symbol, start, end, seconds));
    },

    async listSymbols(ex: Executor): Promise<SymbolRow[]> {
      // The previous close is the last price before the New York day of the newest price began.
      return queryRows<SymbolRow>(
        ex,
        sql`SELECT s.symbol, s.last_price, s.last_ts, pc.price AS previous_close
            FROM symbols s
            LEFT JOIN LATERAL (
              SELECT p.price FROM prices p
              WHERE p.symbol = s.symbol
                AND p.ts < (date_trunc('day', s.last_ts AT TIME ZONE 'America/New_York')
                            AT TIME ZONE 'America/New_York')
              ORDER BY p.ts DESC LIMIT 1) pc ON true
            ORDER BY s.symbol`,
      );
    },
  };
}

export type PricesRepo = ReturnType<typeof createPricesRepo>;

/** Exported so that the benchmark can time the bare statement against the API. */
export function bucketQuery(symbol: string, start: Date, end: Date, seconds: number) {
  return sql`SELECT date_bin(${seconds} * interval '1 second', ts, ${BUCKET_ORIGIN}::timestamptz) AS bucket,
               (array_agg(coalesce(open, price) ORDER BY ts))[1] AS open,
               max(coalesce(high, price)) AS high,
               min(coalesce(low, price)) AS low,
               (array_agg(price ORDER BY ts DESC))[1] AS close,
               sum(volume)::int8 AS volume
             FROM prices
             WHERE symbol = ${symbol} AND ts >= ${start.toISOString()} AND ts < ${end.toISOString()}
             GROUP BY 1 ORDER BY 1`;
}
