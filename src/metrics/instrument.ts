import type { FreshPricesHook, PricesService } from '../prices/prices.service.ts';
import { ValidationError } from '../shared/errors.ts';
import { type Metrics, secondsSince } from './metrics.ts';

/**
 * Wrappers that count around a service instead of inside it: the services stay free of metrics, and
 * what is measured is what their callers see.
 */

/** Counts each ingest call, its rows, and its time to commit. */
export function withIngestMetrics(prices: PricesService, metrics: Pick<Metrics, 'ingest'>): PricesService {
  return {
    ...prices,
    async ingest(body) {
      const start = process.hrtime.bigint();
      try {
        const result = await prices.ingest(body);
        metrics.ingest('ok', result, secondsSince(start));
        return result;
      } catch (error) {
        metrics.ingest(error instanceof ValidationError ? 'invalid' : 'error', {
          inserted: 0,
          duplicates: 0,
        });
        throw error;
      }
    },
  };
}

/** Times the evaluation that runs inside each ingest transaction. */
export function timedEvaluation(
  hook: FreshPricesHook,
  metrics: Pick<Metrics, 'evaluation'>,
): FreshPricesHook {
  return async (tx, fresh) => {
    const start = process.hrtime.bigint();
    try {
      return await hook(tx, fresh);
    } finally {
      metrics.evaluation(secondsSince(start));
    }
  };
}
