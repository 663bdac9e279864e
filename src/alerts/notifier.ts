import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.ts';
import type { Database } from '../db/connect.ts';
import type { DeliveryMetrics } from '../metrics/metrics.ts';
import { DELIVERIES_CHANNEL } from '../notifications/evaluator.ts';
import type { Clock } from '../shared/clock.ts';
import { type Channel, type ChannelSet, DeliveryError, type Target } from './channels/channel.ts';
import type { DeliveriesRepo, LeasedDelivery } from './deliveries.repo.ts';
import { renderAlertMessage } from './message.ts';
import { quietUntil } from './quiet-hours.ts';

export const MAX_ATTEMPTS = 3;

export interface NotifierOptions {
  db: Database;
  repo: DeliveriesRepo;
  channels: ChannelSet;
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

/** Sends one message through the module of its target's type: the one dispatch of every channel. */
export function sendThrough(
  channels: ChannelSet,
  target: Target,
  first: LeasedDelivery,
  message: ReturnType<typeof renderAlertMessage>,
): Promise<void> {
  const channel = channels[target.type] as Channel;
  return channel.send(first, message, target as never);
}

/**
 * The notification service (seed): claims due deliveries, sends them, records the outcome. Woken
 * through the bus after each alert commits, and sweeping on a timer so that a lost wake-up (Redis
 * down) only costs latency. Many can run at once: SKIP LOCKED keeps them off each other's work.
 *
 * Deliveries of one user to one channel claimed together go out as one message (grouping), and
 * share its outcome. During the user's quiet hours a group is held until they end, or dropped.
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

  /** Quiet hours decide first: a held group is not an attempt, a dropped one is never sent. */
  async function quiet(group: LeasedDelivery[]): Promise<boolean> {
    const hours = group[0]!.quietHours;
    const until = hours && quietUntil(clock.now(), hours);
    if (!hours || !until) return false;
    if (hours.mode === 'drop') {
      const reason = `dropped: quiet hours ${hours.start}–${hours.end} (${hours.timeZone})`;
      await repo.markDropped(db, { deliveries: group, workerId, reason });
      log.info({ deliveries: group.map((d) => d.id), reason }, 'deliveries dropped');
    } else {
      await repo.hold(db, { deliveries: group, workerId, until });
      log.info({ deliveries: group.map((d) => d.id), until }, 'deliveries held for quiet hours');
    }
    return true;
  }

  /** Sends one group as one message; returns how many deliveries were attempted (0 when quiet). */
  async function deliver(group: LeasedDelivery[]): Promise<number> {
    for (const d of group) inFlight.add(d.id);
    const first = group[0]!;
    const type = first.target?.type ?? 'channel';
    const started = performance.now();
    const attempted = (outcome: 'sent' | 'retry' | 'failed', count: number) => {
      for (let i = 0; i < count; i++)
        options.metrics?.attempt(type, outcome, (performance.now() - started) / 1000);
    };
    try {
      if (await quiet(group)) return 0;
      if (!first.target)
        throw new DeliveryError(`Channel '${(first.channel as { id: string }).id}' no longer exists`, {
          permanent: true,
        });
      await sendThrough(options.channels, first.target, first, renderAlertMessage(group, options.publicUrl));
      await repo.markSent(
        db,
        group.map((d) => d.id),
        clock.now(),
      );
      attempted('sent', group.length);
      log.info(
        { deliveries: group.map((d) => d.id), channel: type, attempts: first.attempts },
        group.length > 1 ? `${group.length} deliveries sent as one message` : 'delivery sent',
      );
      return group.length;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof DeliveryError && error.options.permanent;
      const asked = error instanceof DeliveryError ? (error.options.retryAfterMs ?? 0) : 0;
      // One retry time for the whole group, so that it becomes due, and goes, together again. Each
      // delivery keeps its own count: one retried by hand may sit in a group with a fresh one.
      const retryAt = new Date(clock.now().getTime() + Math.max(backoff(first.attempts), asked));
      await Promise.all(
        group.map(async (d) => {
          const final = permanent || d.attempts >= MAX_ATTEMPTS;
          await repo
            .markAttemptFailed(db, { id: d.id, workerId, error: reason, retryAt: final ? null : retryAt })
            .catch((e: unknown) => log.warn({ err: e, delivery: d.id }, 'could not record a failed attempt'));
          attempted(final ? 'failed' : 'retry', 1);
        }),
      );
      log.warn(
        { deliveries: group.map((d) => d.id), attempts: first.attempts, error: reason },
        'delivery attempt failed',
      );
      return group.length;
    } finally {
      for (const d of group) inFlight.delete(d.id);
    }
  }

  /** Claims and sends one batch; returns how many deliveries it attempted (held ones excluded). */
  async function runOnce(): Promise<number> {
    return (await batch()).handled;
  }

  /** `picked`: deliveries the claim looked at, held ones included (more may be due when it is full). */
  async function batch(): Promise<{ handled: number; picked: number }> {
    const { leased, held } = await repo.claimDue(db, {
      now: clock.now(),
      leaseMs: options.leaseMs,
      workerId,
      limit: batchSize,
    });
    const groups = new Map<string, LeasedDelivery[]>();
    for (const d of leased) {
      const group = groups.get(d.groupKey);
      if (group) group.push(d);
      else groups.set(d.groupKey, [d]);
    }
    const attempted = await Promise.all([...groups.values()].map(deliver));
    return { handled: attempted.reduce((a, b) => a + b, 0), picked: leased.length + held };
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
          while (!stopping && (await batch()).picked >= batchSize) {}
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
