import { sql } from 'drizzle-orm';
import { bigint, doublePrecision, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One observation of a symbol. The primary key (symbol, ts) makes a re-sent bar harmless and is the
 * index every per-symbol range query uses; keeping the symbol first keeps the table shardable by symbol.
 * In the database the table is partitioned by UTC month of `ts` (migration 0005_partition_prices,
 * hand-written because Drizzle does not model partitions; the columns and key are exactly these).
 */
export const prices = pgTable(
  'prices',
  {
    symbol: text('symbol').notNull(),
    ts: timestamp('ts', { withTimezone: true, mode: 'date' }).notNull(),
    price: doublePrecision('price').notNull(),
    open: doublePrecision('open'),
    high: doublePrecision('high'),
    low: doublePrecision('low'),
    volume: bigint('volume', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ name: 'prices_pkey', columns: [t.symbol, t.ts] })],
);

/**
 * The newest price of each symbol, kept up to date by ingest so that listing symbols and evaluating
 * notifications never scan `prices`.
 */
export const symbols = pgTable('symbols', {
  symbol: text('symbol').primaryKey(),
  lastPrice: doublePrecision('last_price').notNull(),
  lastTs: timestamp('last_ts', { withTimezone: true, mode: 'date' }).notNull(),
  /** The price evaluated before `lastPrice`: crossing conditions compare the two. */
  prevPrice: doublePrecision('prev_price'),
  /**
   * Changes with every statement that inserts prices of the symbol (a value of `price_revision_seq`,
   * so never reused, even after a TRUNCATE), and `prev_revision` is the value it replaced: an evaluator
   * whose cached bars are at `prev_revision` knows that this statement's rows are all it has missed.
   */
  revision: bigint('revision', { mode: 'bigint' }),
  prevRevision: bigint('prev_revision', { mode: 'bigint' }),
  /**
   * The revision of the last statement that inserted a price older than the symbol's newest (or that
   * created the row): while it is unchanged, every price stored since an evaluator's cached revision is
   * newer than the newest it holds, so reading those newer prices brings it up to date.
   */
  history: bigint('history', { mode: 'bigint' }),
  /** The oldest price of the last statement that wrote the symbol: how `history` is told to change. */
  writtenFrom: timestamp('written_from', { withTimezone: true, mode: 'date' }),
  firstSeenAt: timestamp('first_seen_at', { withTimezone: true, mode: 'date' }).notNull().default(sql`now()`),
});
/**
 * The last report of each market-data client (quota left, last refresh per symbol), keyed by the id the
 * client keeps in its DATA_DIR: every server of a deployment reads the same reports.
 */
export const clientStatus = pgTable('client_status', {
  clientId: text('client_id').primaryKey(),
  /** The report as the client sent it (POST /client-status body). */
  report: jsonb('report').notNull(),
  reportedAt: timestamp('reported_at', { withTimezone: true, mode: 'date' }).notNull().default(sql`now()`),
});
export * from '../auth/auth.schema.ts';
export * from './schema-jobs.ts';
export * from './schema-notifications.ts';
