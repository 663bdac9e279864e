import type { Logger } from 'pino';
import type { Bar, PriceProvider } from './types.ts';

/**
 * The client role: asks its provider for prices and posts them to the server through the public
 * `POST /stocks` contract, exactly as any third-party client would. Bars the server did not
 * acknowledge stay queued, in order, and go out with the next round.
 */
export function createMarketDataClient(options: {
  provider: PriceProvider;
  symbols: readonly string[];
  serverUrl: string;
  ingestToken: string;
  log: Logger;
  fetch?: typeof fetch;
  /** Largest batch per request (the server takes up to 10,000). */
  batchSize?: number;
}) {
  const doFetch = options.fetch ?? fetch;
  const batchSize = options.batchSize ?? 5000;
  let pending: Bar[] = [];
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let inFlight: Promise<void> | undefined;

  async function post(bars: Bar[]) {
    const response = await doFetch(new URL('/stocks', options.serverUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.ingestToken}` },
      body: JSON.stringify(bars),
      signal: AbortSignal.timeout(30_000),
    });
    if (response.status !== 201) {
      const text = await response.text().catch(() => '');
      throw new Error(`server answered ${response.status}: ${text.slice(0, 300)}`);
    }
  }

  async function round() {
    try {
      pending.push(...(await options.provider.poll(options.symbols)));
    } catch (error) {
      options.log.warn({ err: error }, 'provider poll failed');
    }
    while (pending.length > 0 && !stopped) {
      const batch = pending.slice(0, batchSize);
      try {
        await post(batch);
        pending = pending.slice(batch.length);
      } catch (error) {
        options.log.warn({ err: error, queued: pending.length }, 'posting prices failed; will retry');
        break;
      }
    }
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = round().finally(schedule);
    }, options.provider.nextPollDelayMs());
  };

  return {
    /** Starts polling; the first round runs at once. */
    start() {
      options.log.info(options.provider.describePlan(options.symbols));
      inFlight = round().finally(schedule);
    },
    /** Runs one round and resolves when it is done (for `--once` and tests). */
    runOnce: round,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
    pendingCount: () => pending.length,
  };
}
