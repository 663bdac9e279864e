import type { Redis } from 'ioredis';
import type { Bar } from '../types.ts';
import { shared } from './redis.ts';

/**
 * Where the fleet got to, per symbol: the newest bar any client fetched. A client that takes a symbol
 * over starts from there: an Alpha Vantage client sees the gap since the previous owner's last fetch and
 * asks for enough history to fill it, instead of only the latest bars; the simulator continues the
 * previous owner's walk from its last price instead of starting one of its own.
 */
export interface SharedProgress {
  /** The newest bar per symbol; kept when later than what is known. */
  record(newest: Readonly<Record<string, Bar>>): Promise<void>;
  read(symbols: readonly string[]): Promise<Record<string, Bar>>;
}

// Each value is `<ISO instant>|<bar as JSON>`: instants of one format compare as strings, so the later
// bar wins without decoding. KEYS: the hash. ARGV: symbol, value, symbol, value, …, ttl.
const RECORD = `for i = 1, #ARGV - 1, 2 do
  local known = redis.call('HGET', KEYS[1], ARGV[i])
  if (not known) or known < ARGV[i + 1] then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[#ARGV])
return 0`;

// Long enough for any gap the provider can still fill (Alpha Vantage's `full` spans 30 days).
const TTL_MS = 35 * 86_400_000;

export function createRedisProgress(options: { redis: Redis; prefix: string }): SharedProgress {
  const { redis } = options;
  const key = `${options.prefix}newest`;
  return {
    async record(newest) {
      const pairs = Object.entries(newest).flatMap(([symbol, bar]) => [
        symbol,
        `${bar.timestamp}|${JSON.stringify(bar)}`,
      ]);
      if (pairs.length === 0) return;
      await shared('progress', () => redis.eval(RECORD, 1, key, ...pairs, TTL_MS));
    },
    async read(symbols) {
      if (symbols.length === 0) return {};
      const values = await shared('progress', () => redis.hmget(key, ...symbols));
      const found: Record<string, Bar> = {};
      symbols.forEach((symbol, i) => {
        const bar = parseValue(values[i]);
        if (bar) found[symbol] = bar;
      });
      return found;
    },
  };
}

function parseValue(value: string | null | undefined): Bar | undefined {
  if (!value) return undefined;
  try {
    const bar = JSON.parse(value.slice(value.indexOf('|') + 1)) as Partial<Bar>;
    if (typeof bar.timestamp === 'string' && typeof bar.price === 'number' && typeof bar.symbol === 'string')
      return bar as Bar;
  } catch {}
  return undefined;
}
