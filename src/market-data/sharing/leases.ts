import type { Redis } from 'ioredis';
import { shared } from './redis.ts';

/**
 * One fetch per symbol per schedule period, whoever fetches it. Two clients can briefly both believe
 * they own a symbol (one has seen a member join, the other not yet); the first to take the lease
 * fetches, the other skips it for the period.
 */
export interface FetchLeases {
  /** Takes the fetch of `symbol` in period `slot`; false when another client has it already. */
  claim(symbol: string, slot: number, ttlMs: number): Promise<boolean>;
  /** Gives back a lease that was not used (the quota refused the call), so the period is not lost. */
  release(symbol: string, slot: number): Promise<void>;
}

// Taking a lease this client already holds succeeds: a claim retried after a lost answer is no second fetch.
const CLAIM = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export function createRedisFetchLeases(options: { redis: Redis; prefix: string; id: string }): FetchLeases {
  const { redis, prefix, id } = options;
  const key = (symbol: string, slot: number) => `${prefix}fetch:${symbol}:${slot}`;
  return {
    async claim(symbol, slot, ttlMs) {
      const ok = await shared('fetch lease', () =>
        redis.eval(CLAIM, 1, key(symbol, slot), id, Math.max(1, Math.ceil(ttlMs))),
      );
      return ok === 1;
    },
    async release(symbol, slot) {
      await shared('fetch lease', () => redis.eval(RELEASE, 1, key(symbol, slot), id));
    },
  };
}
