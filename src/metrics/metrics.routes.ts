import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bearerToken, createIngestTokenMatcher } from '../auth/ingest-token.ts';
import { problemResponses } from '../http/openapi.ts';
import { UnauthorizedError } from '../shared/errors.ts';
import type { Metrics } from './metrics.ts';

/**
 * `GET /metrics` in Prometheus' text format, on the server's own listener. It is meant for Prometheus
 * on the private network: Caddy answers 404 for it, and METRICS_TOKEN adds a bearer token when the
 * listener itself is reachable by others. Outside the rate limit, so that scrapes never see a 429.
 * Also counts every HTTP request by route pattern and status.
 */
export function metricsRoutes(app: FastifyInstance, deps: { metrics: Metrics; token: string | undefined }) {
  const { metrics } = deps;
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    metrics.http(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  const matches = deps.token ? createIngestTokenMatcher(deps.token) : undefined;
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/metrics',
    {
      config: { rateLimit: false },
      ...(matches && {
        onRequest: async (request) => {
          if (!matches(bearerToken(request.headers.authorization)))
            throw new UnauthorizedError(
              'Missing or invalid metrics token: send Authorization: Bearer <METRICS_TOKEN>',
            );
          // Consumed here: the auth plugin, which runs next, would take it for an unknown API token.
          delete request.headers.authorization;
        },
      }),
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format); keep it off the public network',
        description:
          'Ingest, evaluation, alerts, deliveries, provider quota, live streams, HTTP and process metrics. ' +
          'With METRICS_TOKEN set it requires `Authorization: Bearer <METRICS_TOKEN>`.',
        response: {
          200: z.string().meta({ description: 'text/plain; version=0.0.4' }),
          ...problemResponses(401),
        },
      },
    },
    async (_request, reply) => {
      const text = await metrics.render();
      return reply.type(metrics.contentType).header('cache-control', 'no-store').send(text);
    },
  );
}
