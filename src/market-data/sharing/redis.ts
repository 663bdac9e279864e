import { Redis } from 'ioredis';

/**
 * The Redis connection that clients share symbols and quota through. Commands fail within seconds when
 * Redis is away instead of queueing without end: a client must know at once that it cannot count a
 * call, so that it holds back rather than spend quota no one else sees.
 */

export class SharedStateUnavailableError extends Error {
  override name = 'SharedStateUnavailableError';
}

export function connectSharedRedis(url: string, onError: (error: Error) => void): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2000, lazyConnect: false });
  redis.on('error', onError);
  return redis;
}

/** Runs a Redis call, turning whatever it throws into `SharedStateUnavailableError` naming `what`. */
export async function shared<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // ioredis says "Reached the max retries per request limit" when the connection is down.
    const reason = /max retries per request|Connection is closed|Stream isn't writeable/i.test(message)
      ? 'no connection'
      : message;
    throw new SharedStateUnavailableError(`Redis did not answer (${what}): ${reason}`, { cause: error });
  }
}

/** Milliseconds of Redis's own clock, as Lua scripts read it: one clock for every client, whatever their skew. */
export const LUA_NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
