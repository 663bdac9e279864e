import type { Logger } from 'pino';
import type { Database, TransactionRunner } from '../db/connect.ts';
import type { Clock } from '../shared/clock.ts';
import { type RetentionRepo, utcMonth } from './retention.repo.ts';

export const ROLLUP_JOB = 'prices-hourly-rollup';
const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
/** Monthly partitions are kept ready for this month and the next ones, before any price needs them. */
const MONTHS_AHEAD = 2;
/** Prices one transaction should replace at most, at one price a minute per symbol. */
const PRICES_PER_BATCH = 200_000;

export interface RetentionRun {
  /** False when another server held the job: it does the work, this one skips its turn. */
  ran: boolean;
  /** Minute prices replaced, and the hourly bars that replaced them. */
  prices: number;
  bars: number;
  /** Everything before this instant is hourly bars now. */
  doneUntil: Date | null;
}

/**
 * Data retention (RETENTION_DAYS): minute prices older than the horizon become hourly bars, so that
 * years of history cost 24 rows a day per symbol. Every server schedules it; the job's row, locked with
 * SKIP LOCKED and moved forward in the same transaction as the work, lets exactly one of them process
 * each stretch of time. Each transaction takes whole hours, up to a day, sized so that it replaces
 * about PRICES_PER_BATCH minute prices: short whatever the number of symbols.
 * Each turn (and each server start) also creates the monthly partitions of `prices` for this month
 * and the next MONTHS_AHEAD, so that a month's prices never wait in the default partition.
 */
export function createRetentionJob(deps: {
  db: Database;
  transaction: TransactionRunner;
  repo: RetentionRepo;
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn'>;
  workerId: string;
  /** 0 keeps every price. */
  days: number;
  /** Time per transaction (whole hours); by default sized from the number of symbols. */
  batchMs?: number;
}) {
  const { db, repo, clock, log } = deps;
  let timer: NodeJS.Timeout | undefined;
  let scheduling: Promise<void> | undefined;
  let running: Promise<RetentionRun> | undefined;
  let stopped = false;

  /** One transaction: the next batch, or a sign that there is nothing left (or someone else has it). */
  const step = (cutoff: Date, symbols: string[], batchMs: number) =>
    deps.transaction(async (tx) => {
      const job = await repo.lockJob(tx, ROLLUP_JOB);
      if (!job) return { kind: 'busy' as const };
      const from = job.doneUntil ?? (await repo.oldestHour(tx));
      const turn = { name: ROLLUP_JOB, at: clock.now(), by: deps.workerId };
      if (!from || from >= cutoff) {
        await repo.markRun(tx, turn);
        return { kind: 'done' as const, doneUntil: job.doneUntil };
      }
      const to = new Date(Math.min(from.getTime() + batchMs, cutoff.getTime()));
      const result = await repo.rollUp(tx, { symbols, from, to });
      await repo.markRun(tx, { ...turn, doneUntil: to });
      return { kind: 'rolled' as const, ...result, doneUntil: to };
    });

  /** Creates this month's partition of `prices` and the next ones; cheap when they exist. */
  async function ensurePartitions(): Promise<string[]> {
    const now = clock.now();
    const months = Array.from({ length: MONTHS_AHEAD + 1 }, (_, i) => utcMonth(now, i));
    const { created, skipped } = await deps.transaction((tx) => repo.ensurePartitions(tx, months));
    if (created.length > 0) log.info({ created }, `prices: created partitions ${created.join(', ')}`);
    if (skipped.length > 0)
      log.warn(
        { skipped },
        'prices: some prices of these months are in prices_default already; they stay there, unpartitioned',
      );
    return created;
  }

  async function run(): Promise<RetentionRun> {
    const total: RetentionRun = { ran: false, prices: 0, bars: 0, doneUntil: null };
    await ensurePartitions();
    if (deps.days <= 0) return total;
    // Whole hours only: an hour is rolled up once, all of it.
    const horizon = clock.now().getTime() - deps.days * DAY_MS;
    const cutoff = new Date(Math.floor(horizon / HOUR_MS) * HOUR_MS);
    await repo.ensureJob(db, ROLLUP_JOB, clock.now());
    const symbols = await repo.symbols(db);
    const hours = Math.floor(PRICES_PER_BATCH / 60 / Math.max(1, symbols.length));
    const batchMs = deps.batchMs ?? Math.min(DAY_MS, Math.max(1, hours) * HOUR_MS);
    while (!stopped) {
      const result = await step(cutoff, symbols, batchMs);
      if (result.kind === 'busy') break;
      total.ran = true;
      total.doneUntil = result.doneUntil;
      if (result.kind === 'done') break;
      total.prices += result.prices;
      total.bars += result.bars;
    }
    if (total.prices > 0)
      log.info(
        { prices: total.prices, bars: total.bars, doneUntil: total.doneUntil },
        `retention: rolled ${total.prices} prices older than ${deps.days} days into ${total.bars} hourly bars`,
      );
    return total;
  }

  /** Rolls up everything past the horizon; safe to call from many servers at once. */
  function runOnce(): Promise<RetentionRun> {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    runOnce,
    ensurePartitions,

    /**
     * Runs every `intervalMs` of the deployment, not of this process: the next turn is due an interval
     * after the last one any server took (the first an interval after the first start), so restarts
     * neither skip it nor pile runs up. A failed run (database away) waits for the next turn.
     */
    start(intervalMs: number) {
      const schedule = async () => {
        let wait = intervalMs;
        try {
          const last = await repo.ensureJob(db, ROLLUP_JOB, clock.now());
          wait = Math.max(0, last.getTime() + intervalMs - clock.now().getTime());
        } catch (error) {
          log.warn({ err: error }, 'retention: could not read the schedule; trying again later');
        }
        if (stopped) return;
        timer = setTimeout(() => {
          scheduling = runOnce()
            .then(
              () => {},
              (error: unknown) => log.warn({ err: error }, 'retention run failed'),
            )
            .then(() => (stopped ? undefined : schedule()));
        }, wait);
        timer.unref();
      };
      scheduling = schedule();
    },

    /** Stops scheduling and waits for the batch in hand (the current transaction) to finish. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await scheduling?.catch(() => {});
      await running?.catch(() => {});
    },
  };
}

export type RetentionJob = ReturnType<typeof createRetentionJob>;
