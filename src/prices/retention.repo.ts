import { sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';

// The same origin as the history buckets (prices.repo.ts): hours are UTC hours whatever the session's zone.
const HOUR_ORIGIN = '2000-01-03T00:00:00Z';
// Any fixed number: servers creating partitions at the same moment queue on it.
const PARTITIONS_LOCK_KEY = 7_265_312_002;

/** The UTC month `offset` months after the one holding `at`, as [start, end). */
export function utcMonth(at: Date, offset = 0): { name: string; start: Date; end: Date } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
  const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  const name = `prices_${start.getUTCFullYear()}_${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
  return { name, start, end };
}

export interface JobState {
  doneUntil: Date | null;
}

export function createRetentionRepo() {
  return {
    /**
     * Creates the job's row once (committed on its own, so runners never race on the insert), counting
     * its first turn from `now`, and returns when it last ran.
     */
    async ensureJob(ex: Executor, name: string, now: Date): Promise<Date> {
      await ex.execute(
        sql`INSERT INTO scheduled_jobs (name, last_run_at) VALUES (${name}, ${now.toISOString()}::timestamptz)
            ON CONFLICT (name) DO NOTHING`,
      );
      const rows = await queryRows<{ last_run_at: Date | null }>(
        ex,
        sql`SELECT last_run_at FROM scheduled_jobs WHERE name = ${name}`,
      );
      const last = rows[0]?.last_run_at;
      return last ? new Date(last) : now;
    },

    /** Takes the job for this transaction, or undefined when another runner holds it right now. */
    async lockJob(ex: Executor, name: string): Promise<JobState | undefined> {
      const rows = await queryRows<{ done_until: Date | null }>(
        ex,
        sql`SELECT done_until FROM scheduled_jobs WHERE name = ${name} FOR UPDATE SKIP LOCKED`,
      );
      const row = rows[0];
      return row && { doneUntil: row.done_until === null ? null : new Date(row.done_until) };
    },

    /** Records a turn; with `doneUntil`, how far the work now goes. */
    async markRun(ex: Executor, p: { name: string; doneUntil?: Date; at: Date; by: string }): Promise<void> {
      await ex.execute(
        sql`UPDATE scheduled_jobs
            SET done_until = coalesce(${p.doneUntil?.toISOString() ?? null}::timestamptz, done_until),
                last_run_at = ${p.at.toISOString()}::timestamptz, last_run_by = ${p.by}
            WHERE name = ${p.name}`,
      );
    },

    /**
     * Creates the monthly partitions of `prices` (migration 0005) for the months given, unless they
     * exist. A month some of whose prices already sit in `prices_default` is left there (attaching it
     * would fail): its prices stay stored and queryable, only unpartitioned. Returns the tables created.
     */
    async ensurePartitions(ex: Executor, months: Array<{ name: string; start: Date; end: Date }>) {
      await ex.execute(sql`SELECT pg_advisory_xact_lock(${PARTITIONS_LOCK_KEY})`);
      const created: string[] = [];
      const skipped: string[] = [];
      for (const m of months) {
        const [exists] = await queryRows(ex, sql`SELECT 1 FROM pg_class WHERE relname = ${m.name}`);
        if (exists) continue;
        const [stray] = await queryRows(
          ex,
          sql`SELECT 1 FROM prices_default
              WHERE ts >= ${m.start.toISOString()}::timestamptz AND ts < ${m.end.toISOString()}::timestamptz
              LIMIT 1`,
        );
        if (stray) {
          skipped.push(m.name);
          continue;
        }
        // Identifiers and bounds cannot be parameters; the name and dates are ours, built by utcMonth.
        await ex.execute(
          sql.raw(
            `CREATE TABLE "${m.name}" PARTITION OF prices ` +
              `FOR VALUES FROM ('${m.start.toISOString()}') TO ('${m.end.toISOString()}')`,
          ),
        );
        created.push(m.name);
      }
      return { created, skipped };
    },

    async symbols(ex: Executor): Promise<string[]> {
      const rows = await queryRows<{ symbol: string }>(ex, sql`SELECT symbol FROM symbols ORDER BY symbol`);
      return rows.map((r) => r.symbol);
    },

    /** The hour of the oldest price: one primary-key probe per symbol, never a scan of `prices`. */
    async oldestHour(ex: Executor): Promise<Date | undefined> {
      const rows = await queryRows<{ hour: Date | null }>(
        ex,
        sql`SELECT date_bin(interval '1 hour', min(first.ts), ${HOUR_ORIGIN}::timestamptz) AS hour
            FROM symbols s
            CROSS JOIN LATERAL (SELECT ts FROM prices p WHERE p.symbol = s.symbol ORDER BY ts LIMIT 1) first`,
      );
      const hour = rows[0]?.hour;
      return hour ? new Date(hour) : undefined;
    },

    /**
     * Replaces the prices of [from, to) by one bar per symbol and hour, stamped with the hour's start:
     * open of the first price, high and low extremes, close (`price`) of the last, volumes summed. One
     * statement: the bars are computed from exactly the rows the DELETE removed (a price committed
     * meanwhile is never lost), and the aggregate needs every deleted row before it yields a bar, so a
     * bar may take the key of its hour's first price. The history queries need no change: old ranges
     * simply hold hourly rows. `from` and `to` must be whole hours.
     */
    async rollUp(
      ex: Executor,
      p: { symbols: string[]; from: Date; to: Date },
    ): Promise<{ prices: number; bars: number }> {
      if (p.symbols.length === 0) return { prices: 0, bars: 0 };
      // `symbol = ANY(...)` with the range uses the (symbol, ts) primary key, symbol by symbol.
      const rows = await queryRows<{ prices: number; bars: number }>(
        ex,
        sql`WITH gone AS (
              DELETE FROM prices
              WHERE symbol = ANY(${sql.param(p.symbols)}::text[])
                AND ts >= ${p.from.toISOString()}::timestamptz AND ts < ${p.to.toISOString()}::timestamptz
              RETURNING symbol, ts, price, open, high, low, volume
            ),
            hourly AS (
              SELECT symbol, date_bin(interval '1 hour', ts, ${HOUR_ORIGIN}::timestamptz) AS hour,
                     (array_agg(coalesce(open, price) ORDER BY ts))[1] AS open,
                     max(coalesce(high, price)) AS high,
                     min(coalesce(low, price)) AS low,
                     (array_agg(price ORDER BY ts DESC))[1] AS close,
                     sum(volume)::int8 AS volume,
                     count(*)::int AS n
              FROM gone GROUP BY 1, 2
            ),
            written AS (
              INSERT INTO prices AS p (symbol, ts, price, open, high, low, volume)
              SELECT symbol, hour, close, open, high, low, volume FROM hourly
              -- Only a price at the very start of the hour, committed by someone else meanwhile: merged in.
              ON CONFLICT (symbol, ts) DO UPDATE SET
                open = coalesce(p.open, p.price),
                high = greatest(coalesce(p.high, p.price), excluded.high),
                low = least(coalesce(p.low, p.price), excluded.low),
                price = excluded.price,
                volume = p.volume + excluded.volume
              RETURNING 1
            )
            SELECT (SELECT coalesce(sum(n), 0)::int FROM hourly) AS prices,
                   (SELECT count(*)::int FROM written) AS bars`,
      );
      return rows[0] ?? { prices: 0, bars: 0 };
    },
  };
}

export type RetentionRepo = ReturnType<typeof createRetentionRepo>;
