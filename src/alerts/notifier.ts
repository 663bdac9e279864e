import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.ts';
import type { Database } from '../db/connect.ts';
import type { DeliveryMetrics } from '../metrics/metrics.ts';
import { DELIVERIES_CHANNEL } from '../notifications/evaluator.ts';
import type { Clock } from '../shared/clock.ts';
import { type Channel, DeliveryError } from './channels/channel.ts';
import type { DeliveriesRepo, LeasedDelivery } from './deliveries.repo.ts';
import { renderAlertMessage } from './message.ts';

export const MAX_ATTEMPTS = 3;

export interface NotifierOptions {
  db: Database;
  repo: DeliveriesRepo;
  channels: { email: Channel; webhook: Channel };
  bus: Bus;
  clock: Clock;
  log: Logger;
  workerId: string;
  publicUrl: string;
  /** How long a claimed delivery stays ours; after that another notifier may take it. */
  leaseMs: number;
  /** How often to look for due deliveries without being woken. */
  sweepMs: number;
  /** First retry delay; doubled per attempt, with jitter. */
  backoffMs: number;
  batchSize?: number;
  random?: () => number;
  /** Told the outcome and time of every attempt. */
  metrics?: DeliveryMetrics;
}

/**
 * The notification service (seed): claims due deliveries, sends them, records the outcome. Woken
 * through the bus after each alert commits, and sweeping on a timer so that a lost wake-up (Redis
 * down) only costs latency. Many can run at once: SKIP LOCKED keeps them off each other's work.
 */
export function createNotifier(options: NotifierOptions) {
  const { db, repo, clock, log, workerId } = options;
  const batchSize = options.batchSize ?? 20;
  const random = options.random ?? Math.random;
  const inFlight = new Set<string>();
  let cycle: Promise<void> | undefined;
  let again = false;
  let stopping = false;
  let sweep: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;

  /** Exponential backoff with jitter: about 1×, 2×, 4× backoffMs, each spread over ±50%. */
  const backoff = (attempts: number) => options.backoffMs * 2 ** (attempts - 1) * (0.5 + random());

  async function deliver(d: LeasedDelivery) {
    inFlight.add(d.id);
    const started = performance.now();
    const attempted = (outcome: 'sent' | 'retry' | 'failed') =>
      options.metrics?.attempt(d.channel.type, outcome, (performance.now() - started) / 1000);
    try {
      const channel = d.channel.type === 'webhook' ? options.channels.webhook : options.channels.email;
      await channel.send(d, renderAlertMessage(d, options.publicUrl));
      await repo.markSent(db, d.id, clock.now());
      attempted('sent');
      log.info(
        { delivery: d.id, alert: d.alertId, channel: d.channel.type, attempts: d.attempts },
        'delivery sent',
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof DeliveryError && error.options.permanent;
      const final = permanent || d.attempts >= MAX_ATTEMPTS;
      const wait = Math.max(
        backoff(d.attempts),
        error instanceof DeliveryError ? (error.options.retryAfterMs ?? 0) : 0,
      );
      const retryAt = final ? null : new Date(clock.now().getTime() + wait);
      await repo
        .markAttemptFailed(db, { id: d.id, workerId, error: reason, retryAt })
        .catch((e: unknown) => log.warn({ err: e, delivery: d.id }, 'could not record a failed attempt'));
      attempted(final ? 'failed' : 'retry');
      log.warn({ delivery: d.id, attempts: d.attempts, final, error: reason }, 'delivery attempt failed');
    } finally {
      inFlight.delete(d.id);
    }
  }

  /** Claims and sends one batch; returns how many deliveries it handled. */
  async function runOnce(): Promise<number> {
    const leased = await repo.claimDue(db, {
      now: clock.now(),
      leaseMs: options.leaseMs,
      workerId,
      limit: batchSize,
    });
    await Promise.all(leased.map(deliver));
    return leased.length;
  }

  /** Runs batches until nothing is due; a wake-up during a cycle makes it look once more. */
  function kick(): Promise<void> {
    if (stopping) return Promise.resolve();
    if (cycle) {
      again = true;
      return cycle;
    }
    cycle = (async () => {
      try {
        do {
          again = false;
          while (!stopping && (await runOnce()) === batchSize) {}
        } while (again && !stopping);
      } catch (error) {
        log.warn({ err: error }, 'notifier cycle failed; the next sweep tries again');
      } finally {
        cycle = undefined;
      }
    })();
    return cycle;
  }

  return {
    start() {
      unsubscribe = options.bus.subscribe(DELIVERIES_CHANNEL, () => void kick());
      sweep = setInterval(() => void kick(), options.sweepMs);
      void kick();
    },
    kick,
    runOnce,
    /** Stops claiming, lets sends in flight finish (up to `graceMs`), and releases what is left. */
    async stop(graceMs = 10_000) {
      stopping = true;
      clearInterval(sweep);
      unsubscribe?.();
      const finished = cycle ?? Promise.resolve();
      await Promise.race([finished, new Promise((r) => setTimeout(r, graceMs).unref())]);
      if (inFlight.size > 0) await repo.releaseLeases(db, workerId, [...inFlight]).catch(() => {});
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
