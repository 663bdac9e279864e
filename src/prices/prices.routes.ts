import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponses } from '../http/openapi.ts';
import {
  historyQuerySchema,
  historyResponseSchema,
  ingestBatchResponse,
  ingestBodySchema,
  ingestSingleResponse,
  symbolListSchema,
  symbolSchema,
} from './prices.schemas.ts';
import type { PricesService } from './prices.service.ts';

// 10,000 prices with open/high/low fit in about 1.5 MB; anything much larger is a mistake or abuse.
const INGEST_BODY_LIMIT = 1_750_000;

export function pricesRoutes(
  app: FastifyInstance,
  deps: {
    prices: PricesService;
    checkIngestToken: (request: FastifyRequest) => void;
    /** Who may read prices (signed-in users and API tokens, or anyone with PUBLIC_PRICES). */
    readAccess: (request: FastifyRequest) => Promise<void>;
  },
) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { prices } = deps;

  r.post(
    '/stocks',
    {
      bodyLimit: INGEST_BODY_LIMIT,
      // Before the body is read, so that nobody without the token can make us parse 1.7 MB.
      onRequest: async (request) => deps.checkIngestToken(request),
      schema: {
        tags: ['prices'],
        summary: 'Store one price, or a batch of up to 10,000',
        description:
          'Requires `Authorization: Bearer <INGEST_TOKEN>`. A price whose (symbol, timestamp) is already stored ' +
          'is a duplicate: the stored one is kept and the request still succeeds.',
        security: [{ ingestToken: [] }],
        body: ingestBodySchema,
        response: {
          201: z.union([ingestSingleResponse, ingestBatchResponse]),
          ...problemResponses(401, 413, 415, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await prices.ingest(request.body);
      reply.code(201);
      // The seed's single-price answer is exactly {"status":"success"}; batches also get their counts.
      return Array.isArray(request.body)
        ? { status: 'success' as const, ...result }
        : { status: 'success' as const };
    },
  );

  r.get(
    '/stocks',
    {
      preValidation: deps.readAccess,
      schema: {
        tags: ['prices'],
        summary: 'Every known symbol with its latest price and its change since the previous close',
        response: { 200: symbolListSchema, ...problemResponses(401, 429, 503) },
      },
    },
    async () => ({ data: await prices.listSymbols() }),
  );

  r.get(
    '/stocks/:symbol',
    {
      preValidation: deps.readAccess,
      schema: {
        tags: ['prices'],
        summary: 'Price history of a symbol, ascending; downsampled to OHLCV buckets when large',
        description:
          'The range is [start_time, end_time): start inclusive, end exclusive. Default: the last 24 hours. ' +
          'When the range holds more than max_points prices (or `interval` is given) the response carries ' +
          'OHLCV buckets computed in SQL, each stamped with its start; `price` is the bucket close.',
        params: z.strictObject({ symbol: symbolSchema }),
        querystring: historyQuerySchema,
        response: { 200: historyResponseSchema, ...problemResponses(401, 404, 422, 429, 503) },
      },
    },
    async (request) => prices.history(request.params.symbol, request.query),
  );
}
