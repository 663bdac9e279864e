import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireUser, signedIn } from '../auth/current-user.ts';
import { problemResponses } from '../http/openapi.ts';
import { symbolSchema } from '../prices/prices.schemas.ts';
import type { EventHub } from './hub.ts';

const HEARTBEAT_MS = 15_000;

/**
 * `GET /events`: a Server-Sent Events stream of new prices (all symbols, or those in `symbols`) and
 * of the caller's alerts as they commit. Browsers reconnect by themselves (EventSource).
 */
export function eventsRoutes(app: FastifyInstance, deps: { hub: EventHub }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  app.addHook('preClose', async () => deps.hub.endAll());
  r.get(
    '/events',
    {
      preValidation: signedIn,
      schema: {
        tags: ['live'],
        security: [{ session: [] }, { apiToken: [] }],
        summary: 'Live stream (text/event-stream): `price` events and your `alert` events',
        description:
          'Each event is `event: price` with {symbol, price, timestamp} or `event: alert` with the alert. ' +
          'A comment line is sent every 15 s to keep proxies from closing the connection.',
        querystring: z.strictObject({
          symbols: z
            .string()
            .max(2000)
            .optional()
            .transform((v, ctx) => {
              const list = (v ?? '').split(',').filter(Boolean);
              const parsed = list.map((s) => symbolSchema.safeParse(s));
              if (parsed.some((p) => !p.success)) {
                ctx.addIssue({ code: 'custom', message: 'expected a comma-separated list of symbols' });
                return z.NEVER;
              }
              return parsed.map((p) => p.data as string);
            })
            .meta({ description: 'comma-separated symbols; default all' }),
        }),
        response: {
          200: z.string().meta({ description: 'text/event-stream' }),
          ...problemResponses(401, 422),
        },
      },
    },
    (request, reply) => {
      const user = requireUser(request);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Tells nginx-like proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: 3000\n: connected\n\n`);
      const remove = deps.hub.add({
        userId: user.id,
        symbols: new Set(request.query.symbols),
        send: (frame) => raw.write(frame),
        end: () => raw.end(),
      });
      const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        remove();
      });
    },
  );
}
