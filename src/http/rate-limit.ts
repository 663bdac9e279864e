import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';

const MINUTE = 60_000;

/**
 * RATE_LIMIT_PER_MINUTE per client IP on every route that does not opt out (/health, /ready);
 * requests with the valid ingest token count against INGEST_RATE_LIMIT_PER_MINUTE instead. Routes
 * may set stricter limits of their own (sign-in, sign-up). With REDIS_URL the counters live in Redis,
 * so that every server behind the proxy enforces one shared limit.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  deps: {
    config: Pick<Config, 'redisUrl' | 'rateLimitPerMinute' | 'ingestRateLimitPerMinute'>;
    /** Runs before the auth plugin, so it asks about the ingest token itself (no database). */
    isIngest: (request: FastifyRequest) => boolean;
  },
) {
  const { config, isIngest } = deps;

  // No offline queue: while Redis is away a command fails at once and the request passes uncounted
  // (skipOnError below), instead of waiting for the reconnection (seconds of stalled ingest, measured).
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000, enableOfflineQueue: false })
    : undefined;
  // Without this listener an unreachable Redis would be an unhandled 'error' event.
  redis?.on('error', (error) => app.log.warn({ err: error }, 'rate-limit store error'));
  // Without the offline queue, requests before the connection is up would go uncounted: wait for it
  // (a little), so that a server counts from its first request unless Redis is away at start.
  if (redis && redis.status !== 'ready')
    await new Promise<void>((resolve) => {
      redis.once('ready', resolve);
      setTimeout(resolve, 2000).unref();
    });
  app.addHook('onClose', async () => {
    await redis?.quit().catch(() => {});
  });

  await app.register(rateLimit, {
    global: true,
    timeWindow: MINUTE,
    max: (request) => (isIngest(request) ? config.ingestRateLimitPerMinute : config.rateLimitPerMinute),
    // IPv6 clients are counted per /64, which is what one of them can easily hop around in.
    keyGenerator: (request) => `${isIngest(request) ? 'ingest' : 'ip'}:${rateLimit.normalizeIP(request.ip)}`,
    ...(redis && { redis, nameSpace: 'stockwatch:rate:' }),
    // A Redis outage must not take the API down with it: requests pass uncounted meanwhile.
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      Object.assign(
        new Error(`Too many requests: at most ${context.max} per minute; retry in ${context.after}`),
        { statusCode: context.statusCode },
      ),
  });
}
