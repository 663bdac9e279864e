import { z } from 'zod';
import { SYMBOL_PATTERN } from '../config.ts';

/** Largest batch one `POST /stocks` may carry. */
export const MAX_BATCH = 10_000;
/** Most points one history response may carry, whatever the caller asks. */
export const MAX_POINTS = 10_000;

export const symbolSchema = z
  .string()
  .regex(/^[A-Za-z0-9.-]{1,10}$/, 'must be 1-10 characters of A-Z 0-9 . -')
  .transform((s) => s.toUpperCase())
  .pipe(z.string().regex(SYMBOL_PATTERN))
  .meta({ example: 'AAPL' });

const positivePrice = z.number().positive().meta({ description: 'finite and greater than 0' });

export const priceInputSchema = z
  .strictObject({
    symbol: symbolSchema,
    timestamp: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone (Z or ±hh:mm)' })
      .meta({ example: '2025-04-12T10:00:00Z' }),
    price: positivePrice.meta({ example: 150.25 }),
    volume: z.number().int().min(0).meta({ example: 1000 }),
    open: positivePrice.optional(),
    high: positivePrice.optional(),
    low: positivePrice.optional(),
  })
  .meta({ id: 'PriceInput' });
export type PriceInput = z.output<typeof priceInputSchema>;

export const ingestBodySchema = z.union([
  priceInputSchema,
  z.array(priceInputSchema).min(1).max(MAX_BATCH, `at most ${MAX_BATCH} prices per request`),
]);

export const ingestSingleResponse = z.object({ status: z.literal('success') });
export const ingestBatchResponse = z.object({
  status: z.literal('success'),
  inserted: z.number().int(),
  duplicates: z.number().int(),
});

export const INTERVALS = {
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '1h': 3600,
  '1d': 86_400,
  '1w': 604_800,
} as const;
export type Interval = keyof typeof INTERVALS;

export const historyQuerySchema = z.strictObject({
  start_time: z.iso
    .datetime({ offset: true })
    .optional()
    .meta({ description: 'inclusive; default end_time minus 24 hours' }),
  end_time: z.iso.datetime({ offset: true }).optional().meta({ description: 'exclusive; default now' }),
  interval: z
    .enum(Object.keys(INTERVALS) as [Interval, ...Interval[]])
    .optional()
    .meta({ description: 'bucket size; chosen automatically when the range holds more than max_points' }),
  max_points: z.coerce.number().int().min(1).max(MAX_POINTS).default(1000),
});
export type HistoryQuery = z.output<typeof historyQuerySchema>;

export const pricePointSchema = z
  .object({
    timestamp: z.string(),
    price: z.number(),
    volume: z.number(),
    open: z.number().optional(),
    high: z.number().optional(),
    low: z.number().optional(),
  })
  .meta({ id: 'PricePoint' });
export type PricePoint = z.output<typeof pricePointSchema>;

export const historyResponseSchema = z.object({
  symbol: z.string(),
  /** `raw` when every stored price is returned, otherwise the bucket size. */
  interval: z.enum(['raw', ...(Object.keys(INTERVALS) as Interval[])]),
  start_time: z.string(),
  end_time: z.string(),
  data: z.array(pricePointSchema),
});
export type HistoryResponse = z.output<typeof historyResponseSchema>;

export const symbolSummarySchema = z
  .object({
    symbol: z.string(),
    price: z.number(),
    timestamp: z.string(),
    previous_close: z.number().nullable(),
    change: z.number().nullable(),
    change_percent: z.number().nullable(),
  })
  .meta({ id: 'SymbolSummary' });
export type SymbolSummary = z.output<typeof symbolSummarySchema>;

export const symbolListSchema = z.object({ data: z.array(symbolSummarySchema) });
