import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { marketDate, nextMarketMidnight } from '../market-hours.ts';
import { LUA_NOW, shared } from '../sharing/redis.ts';
import type { Clock, Quota, QuotaDecision, QuotaLimits } from './quota.ts';

/**
 * The quota of one API key kept in Redis, for every client using the key: N clients together make at
 * most `perMinute` calls in any sliding minute and `perDay` per New York day. Each decision is one Lua
 * script, so check-and-count is atomic however many clients ask at once (no read-modify-write race).
 *
 * Keys, under `<prefix>quota:<first 16 hex of SHA-256 of the key>` (never the key itself):
 * `:minute` a sorted set of the calls of the last minute, `:day:<YYYY-MM-DD>` the day's count (expires
 * after New York midnight), `:blocked` the instant before which the provider told us not to call.
 *
 * The minute window and the provider's refusal run on Redis's clock, so clients whose clocks differ
 * still share one window; the day is chosen by the caller's clock (NTP-synchronised machines agree on
 * it but for a moment around midnight). Instants handed back are translated to the caller's clock.
 */

const MINUTE_MS = 60_000;
const RESET_MARGIN_MS = 5_000;
const DAY_KEY_GRACE_MS = 3_600_000;

// KEYS: minute, day, blocked. ARGV: perMinute, perDay (-1: none), take (1|0), call id, day key ttl.
// Returns {1} when allowed, {0, reason, ms until it may be allowed} otherwise.
const DECIDE = `${LUA_NOW}
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
if blocked > now then return {0, 'blocked', blocked - now} end
local perDay = tonumber(ARGV[2])
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
if perDay >= 0 and day >= perDay then return {0, 'day', 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ${MINUTE_MS})
local count = redis.call('ZCARD', KEYS[1])
local perMinute = tonumber(ARGV[1])
if count >= perMinute then
  local oldest = redis.call('ZRANGE', KEYS[1], count - perMinute, count - perMinute, 'WITHSCORES')
  return {0, 'minute', tonumber(oldest[2]) + ${MINUTE_MS} - now}
end
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ${MINUTE_MS + RESET_MARGIN_MS})
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return {1}`;

// KEYS: minute, day, blocked. Returns {calls in the last minute, calls today, ms the refusal still lasts}.
const REMAINING = `${LUA_NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ${MINUTE_MS})
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0') - now
return {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0'), blocked > 0 and blocked or 0}`;

// KEYS: blocked. ARGV: ms from now. Keeps the later of the two refusals; returns ms it lasts from now.
const EXHAUST = `${LUA_NOW}
local till = now + tonumber(ARGV[1])
local known = tonumber(redis.call('GET', KEYS[1]) or '0')
if known > till then till = known end
redis.call('SET', KEYS[1], till, 'PX', till - now)
return till - now`;

/** The part of a key's hash that names its counters: enough to keep keys apart, useless to an attacker. */
export function apiKeyTag(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
}

export function createRedisQuota(options: {
  redis: Redis;
  /** e.g. `stockwatch:`; tests use one of their own. */
  prefix: string;
  apiKey: string;
  limits: QuotaLimits;
  clock: Clock;
}): Quota {
  const { redis, limits, clock } = options;
  if (!(limits.perMinute >= 1) || !(limits.perDay >= 1))
    throw new RangeError(
      `Quota limits must be at least 1 (got ${limits.perMinute}/min, ${limits.perDay}/day)`,
    );
  const base = `${options.prefix}quota:${apiKeyTag(options.apiKey)}`;
  const perDay = Number.isFinite(limits.perDay) ? limits.perDay : -1;
  const keys = (now: number) => [`${base}:minute`, `${base}:day:${marketDate(now)}`, `${base}:blocked`];

  async function decide(take: boolean): Promise<QuotaDecision> {
    const now = clock.now();
    const dayKeyTtl = +nextMarketMidnight(now) - now + DAY_KEY_GRACE_MS;
    const answer = (await shared('quota', () =>
      redis.eval(DECIDE, 3, ...keys(now), limits.perMinute, perDay, take ? 1 : 0, randomUUID(), dayKeyTtl),
    )) as [number, string?, number?];
    if (answer[0] === 1) return { allowed: true };
    const reason = answer[1] as 'minute' | 'day' | 'blocked';
    const retryAt = reason === 'day' ? +nextMarketMidnight(now) : now + Number(answer[2]);
    return { allowed: false, retryAt, reason };
  }

  return {
    check: () => decide(false),
    take: () => decide(true),
    async exhaust(window) {
      const now = clock.now();
      const until =
        window === 'day' ? +nextMarketMidnight(now) + RESET_MARGIN_MS : now + MINUTE_MS + RESET_MARGIN_MS;
      const lasts = await shared('quota', () => redis.eval(EXHAUST, 1, `${base}:blocked`, until - now));
      return now + Number(lasts);
    },
    async remaining() {
      const now = clock.now();
      const [minute, day, blocked] = (await shared('quota', () =>
        redis.eval(REMAINING, 3, ...keys(now)),
      )) as [number, number, number];
      const isBlocked = blocked > 0;
      return {
        minute: isBlocked ? 0 : Math.max(0, limits.perMinute - minute),
        day: isBlocked ? 0 : Math.max(0, limits.perDay - day),
        limits,
        dayResetsAt: +nextMarketMidnight(now),
        blockedUntil: isBlocked ? now + blocked : undefined,
      };
    },
  };
}
