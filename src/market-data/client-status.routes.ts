import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponses } from '../http/openapi.ts';
import { clientStatusListSchema, clientStatusReportSchema } from './client-status.schemas.ts';
import type { ClientStatusService } from './client-status.service.ts';

export function clientStatusRoutes(
  app: FastifyInstance,
  deps: {
    clientStatus: ClientStatusService;
    checkIngestToken: (request: FastifyRequest) => void;
    /** Who may read it: whoever may read prices, since it tells how fresh they are. */
    readAccess: (request: FastifyRequest) => Promise<void>;
  },
) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/client-status',
    {
      bodyLimit: 1_000_000,
      onRequest: async (request) => deps.checkIngestToken(request),
      schema: {
        tags: ['market data'],
        summary: "A market-data client's report: quota left, last refresh of each symbol",
        description:
          'Requires `Authorization: Bearer <INGEST_TOKEN>`. Each report replaces the previous one of the same `client_id`.',
        security: [{ ingestToken: [] }],
        body: clientStatusReportSchema,
        response: { 204: z.null().meta({ description: 'stored' }), ...problemResponses(401, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      await deps.clientStatus.record(request.body);
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/client-status',
    {
      preValidation: deps.readAccess,
      schema: {
        tags: ['market data'],
        summary: 'What the market-data clients last reported, and when each symbol was last refreshed',
        response: { 200: clientStatusListSchema, ...problemResponses(401) },
      },
    },
    async () => deps.clientStatus.list(),
  );
}
