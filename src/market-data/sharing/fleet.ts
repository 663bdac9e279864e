import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../../config.ts';
import type { Quota } from '../alphavantage/quota.ts';
import { createRedisQuota } from '../alphavantage/quota-redis.ts';
import { createRedisFetchLeases, type FetchLeases } from './leases.ts';
import { createFleetMembership, type FleetMembership, type SharingLog } from './membership.ts';
import { createRedisProgress, type SharedProgress } from './progress.ts';
import { connectSharedRedis } from './redis.ts';

/**
 * What a client shares with the others through REDIS_URL: the Alpha Vantage quota of its key (always,
 * `--once` included) and, for a client that keeps running, the symbols (membership and fetch leases).
 *
 * Keys: `stockwatch:quota:<key tag>:…` (per API key, whatever the group) and
 * `stockwatch:group:<CLIENT_GROUP>:{clients, clients:info, clients:changed, fetch:<symbol>:<period>, newest}`.
 */

export const KEY_PREFIX = 'stockwatch:';

export function groupPrefix(group: string): string {
  return `${KEY_PREFIX}group:${group}:`;
}

export interface ClientFleet {
  redis: Redis;
  /** The shared quota, when the provider has one (Alpha Vantage). */
  quota: Quota | undefined;
  /** Present unless the client runs once: it then fetches every symbol, counting against the shared quota. */
  membership: FleetMembership | undefined;
  leases: FetchLeases | undefined;
  progress: SharedProgress | undefined;
  close(): Promise<void>;
}

export function openClientFleet(
  config: Config,
  options: {
    join: boolean;
    log: SharingLog & { debug(fields: object, message: string): void };
    now: () => number;
  },
): ClientFleet | undefined {
  if (!config.redisUrl) return undefined;
  // `--once` shares only the quota: nothing to share without one.
  if (!options.join && config.marketDataProvider !== 'alphavantage') return undefined;
  const { log } = options;
  const redis = connectSharedRedis(config.redisUrl, (error) => log.debug({ err: error }, 'Redis error'));
  const av = config.alphaVantage;
  const quota =
    config.marketDataProvider === 'alphavantage' && av.apiKey
      ? createRedisQuota({
          redis,
          prefix: KEY_PREFIX,
          apiKey: av.apiKey,
          limits: { perMinute: av.callsPerMinute, perDay: av.callsPerDay },
          clock: { now: options.now },
        })
      : undefined;
  const prefix = groupPrefix(config.clientSharing.group);
  const membership = options.join
    ? createFleetMembership({
        redis,
        prefix,
        symbols: config.symbols,
        heartbeatMs: config.clientSharing.heartbeatMs,
        log,
      })
    : undefined;
  const leases = membership && createRedisFetchLeases({ redis, prefix, id: membership.id });
  const progress = membership && createRedisProgress({ redis, prefix });
  return {
    redis,
    quota,
    membership,
    leases,
    progress,
    async close() {
      await membership?.stop();
      redis.disconnect();
    },
  };
}

/** Gauges for the client's share and the shared quota, read when scraped. */
export function registerFleetGauges(registry: Registry, fleet: ClientFleet): void {
  const { membership, quota } = fleet;
  if (membership) {
    new Gauge({
      name: 'stockwatch_client_symbols_owned',
      help: 'Symbols this client fetches, of those the clients sharing Redis split between them',
      registers: [registry],
      collect() {
        this.set(membership.owned().length);
      },
    });
    new Gauge({
      name: 'stockwatch_client_members',
      help: 'Clients alive in this client’s group, as it last saw them (itself included)',
      registers: [registry],
      collect() {
        this.set(membership.members().length);
      },
    });
  }
  if (quota)
    new Gauge({
      name: 'stockwatch_client_quota_calls_left',
      help: 'Calls left on the shared Alpha Vantage key, by window (minute, day; -1: no daily cap)',
      labelNames: ['window'] as const,
      registers: [registry],
      async collect() {
        const left = await quota.remaining().catch(() => undefined);
        if (!left) return;
        this.set({ window: 'minute' }, left.minute);
        this.set({ window: 'day' }, Number.isFinite(left.day) ? left.day : -1);
      },
    });
}
