import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics: one registry per runtime (never prom-client's global one, so that
 * tests can build several runtimes in one process), and small recorders handed to the code that counts.
 * Values that live in the database are read when scraped (`onScrape`), not counted as they happen.
 */

// Ingest and evaluation run inside one transaction: milliseconds normally, seconds when the database strains.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type IngestOutcome = 'ok' | 'invalid' | 'error';
export type DeliveryOutcome = 'sent' | 'retry' | 'failed';

/** What the notifier reports about each attempt. */
export interface DeliveryMetrics {
  attempt(channel: string, outcome: DeliveryOutcome, seconds: number): void;
}

export function createMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const ingestRequests = new Counter({
    name: 'stockwatch_ingest_requests_total',
    help: 'Ingest calls that passed schema validation, by outcome: ok, invalid (e.g. a timestamp in the future), error (not stored)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const ingestRows = new Counter({
    name: 'stockwatch_ingest_rows_total',
    help: 'Prices received by ingest, by result: inserted, or duplicate (already stored)',
    labelNames: ['result'] as const,
    registers,
  });
  const ingestDuration = new Histogram({
    name: 'stockwatch_ingest_duration_seconds',
    help: 'Time from receiving a valid ingest call to the commit of its prices (group commit wait included)',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const evaluationDuration = new Histogram({
    name: 'stockwatch_evaluation_duration_seconds',
    help: 'Time spent evaluating notifications inside one ingest transaction',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const evaluationReads = new Counter({
    name: 'stockwatch_evaluation_reads_total',
    help:
      'Symbols whose rule summary (what="rules") or recent bars (what="bars"; what="newer_bars": only the bars ' +
      'newer than those it kept) evaluation had to read from the database, not having them current in memory; symbols and indicator variants whose rules it ' +
      'looked up because a price passed their bound (what="candidates")',
    labelNames: ['what'] as const,
    registers,
  });
  const alertsFired = new Counter({
    name: 'stockwatch_alerts_fired_total',
    help: 'Alerts committed by evaluation (one per notification firing)',
    registers,
  });
  const deliveriesSent = new Counter({
    name: 'stockwatch_deliveries_sent_total',
    help: 'Deliveries sent, by channel',
    labelNames: ['channel'] as const,
    registers,
  });
  const attemptsFailed = new Counter({
    name: 'stockwatch_delivery_attempts_failed_total',
    help: 'Failed delivery attempts, by channel (retried later, or given up)',
    labelNames: ['channel'] as const,
    registers,
  });
  const deliveriesFailed = new Counter({
    name: 'stockwatch_deliveries_failed_total',
    help: 'Deliveries given up (attempts exhausted or a permanent error), by channel',
    labelNames: ['channel'] as const,
    registers,
  });
  const deliveryDuration = new Histogram({
    name: 'stockwatch_delivery_attempt_duration_seconds',
    help: 'Time of one delivery attempt (the send and recording its outcome), by channel',
    labelNames: ['channel'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const httpRequests = new Counter({
    name: 'stockwatch_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'stockwatch_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern (live streams excluded)',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const scrapeErrors = new Counter({
    name: 'stockwatch_metrics_scrape_errors_total',
    help: 'Values that could not be read for a scrape (the database did not answer), by source',
    labelNames: ['source'] as const,
    registers,
  });

  // Series at 0 from the start, so that rate() and absent() see them before the first event.
  for (const outcome of ['ok', 'invalid', 'error']) ingestRequests.inc({ outcome }, 0);
  for (const result of ['inserted', 'duplicate']) ingestRows.inc({ result }, 0);
  for (const channel of ['email', 'webhook'])
    for (const counter of [deliveriesSent, attemptsFailed, deliveriesFailed]) counter.inc({ channel }, 0);

  const refreshers: Array<{ source: string; refresh: () => Promise<void> }> = [];

  return {
    registry,
    contentType: registry.contentType,

    ingest(outcome: IngestOutcome, rows: { inserted: number; duplicates: number }, seconds?: number) {
      ingestRequests.inc({ outcome });
      if (rows.inserted > 0) ingestRows.inc({ result: 'inserted' }, rows.inserted);
      if (rows.duplicates > 0) ingestRows.inc({ result: 'duplicate' }, rows.duplicates);
      if (seconds !== undefined) ingestDuration.observe(seconds);
    },
    /** `route` is the route's pattern (`/stocks/:symbol`), never the raw URL: the label set stays small. */
    http(method: string, route: string, status: number, seconds: number) {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
    evaluation(seconds: number) {
      evaluationDuration.observe(seconds);
    },
    evaluationReads(what: 'rules' | 'bars' | 'newer_bars' | 'candidates', count: number) {
      if (count > 0) evaluationReads.inc({ what }, count);
    },
    alertsFired(count: number) {
      alertsFired.inc(count);
    },
    deliveries: {
      attempt(channel, outcome, seconds) {
        deliveryDuration.observe({ channel }, seconds);
        if (outcome === 'sent') deliveriesSent.inc({ channel });
        else attemptsFailed.inc({ channel });
        if (outcome === 'failed') deliveriesFailed.inc({ channel });
      },
    } satisfies DeliveryMetrics as DeliveryMetrics,

    /** A gauge this registry owns, for values computed elsewhere. */
    gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
      return new Gauge<L>({ name, help, labelNames, registers });
    },

    /**
     * `refresh` runs before each scrape, all of them together. A failing one is counted and its gauges
     * are left as it left them (it should reset them): one slow source never fails the whole scrape.
     */
    onScrape(source: string, refresh: () => Promise<void>) {
      refreshers.push({ source, refresh });
    },

    /** The exposition text: scrape-time values refreshed, then everything rendered. */
    async render(): Promise<string> {
      await Promise.all(
        refreshers.map(({ source, refresh }) => refresh().catch(() => scrapeErrors.inc({ source }))),
      );
      return registry.metrics();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Seconds elapsed since `start` (from `process.hrtime.bigint()`). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
