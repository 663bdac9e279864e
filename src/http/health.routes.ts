import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Bus } from '../bus/bus.ts';
import type { Database } from '../db/connect.ts';

export function healthRoutes(app: FastifyInstance, deps: { db: Database; bus: Pick<Bus, 'kind' | 'ping'> }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/health',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  r.get(
    '/ready',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the database answers, and Redis when REDIS_URL is set',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const [database, redis] = await Promise.all([
        deps.db
          .execute(sql`SELECT 1`)
          .then(() => true)
          .catch(() => false),
        deps.bus.kind === 'redis' ? deps.bus.ping() : undefined,
      ]);
      const ready = database && redis !== false;
      reply.code(ready ? 200 : 503);
      return {
        status: ready ? ('ready' as const) : ('unavailable' as const),
        checks: { database, ...(redis !== undefined && { redis }) },
      };
    },
  );
}

const readySchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({
    database: z.boolean(),
    redis: z.boolean().optional().meta({ description: 'present when REDIS_URL is set' }),
  }),
});
