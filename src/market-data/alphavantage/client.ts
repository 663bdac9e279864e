import { setTimeout as delay } from 'node:timers/promises';
import {
  classifyErrorBody,
  ProviderUnavailableError,
  RateLimitedError,
  UnexpectedResponseError,
} from './errors.ts';
import type { QuotaDecision } from './quota.ts';

/**
 * One `/query` call with retries. Every attempt, retries included, first asks `acquire` for quota:
 * a failed attempt may still have been counted by the provider, so it is counted here too.
 */

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface AlphaVantageClientOptions {
  apiKey: string;
  /** Origin, e.g. `https://www.alphavantage.co`; `/query` is appended. */
  baseUrl: string;
  acquire: () => Promise<QuotaDecision>;
  fetch?: typeof fetch;
  /** Per attempt, body included. */
  timeoutMs?: number;
  maxAttempts?: number;
  /** First backoff; doubles each retry, times a jitter factor in [0.5, 1). */
  backoffMs?: number;
  sleep?: Sleep;
  random?: () => number;
}

export interface AlphaVantageClient {
  /** The parsed JSON body of a successful call; a typed error otherwise. */
  query(params: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<unknown>;
}

/** Thrown when the quota refuses an attempt; nothing was sent. */
export class QuotaDeniedError extends Error {
  override name = 'QuotaDeniedError';
  readonly retryAt: number;

  constructor(request: string, retryAt: number) {
    super(`No Alpha Vantage quota left for ${request} until ${new Date(retryAt).toISOString()}`);
    this.retryAt = retryAt;
  }
}

/** A failure worth another attempt (network, timeout, 5xx, unreadable body). */
class TransientError extends Error {}

export const defaultSleep: Sleep = (ms, signal) => delay(ms, undefined, { signal });

export function createAlphaVantageClient(options: AlphaVantageClientOptions): AlphaVantageClient {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const backoffMs = options.backoffMs ?? 1_000;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/query`;

  async function attempt(url: string, request: string, signal?: AbortSignal): Promise<unknown> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let status: number;
    let text: string;
    try {
      const response = await fetchFn(url, { signal: combined, headers: { accept: 'application/json' } });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const reason = timeout.aborted ? `no answer within ${timeoutMs} ms` : describe(error);
      throw new TransientError(reason, { cause: error });
    }
    if (status >= 500) throw new TransientError(`HTTP ${status}`);
    // A proxy in front of the provider may speak HTTP 429; the provider itself answers 200 with a notice.
    if (status === 429)
      throw new RateLimitedError(`Alpha Vantage answered ${request} with HTTP 429`, 'minute');
    if (status < 200 || status >= 300) {
      throw new UnexpectedResponseError(`Alpha Vantage answered ${request} with HTTP ${status}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // An outage page served with 200 happens; it is no answer to the call.
      throw new TransientError(`a body that is not JSON (${JSON.stringify(text.slice(0, 60))})`);
    }
    const error = classifyErrorBody(body, request);
    if (error) throw error;
    return body;
  }

  return {
    async query(params, signal) {
      const request = [params.function, params.symbol].filter(Boolean).join(' ');
      const url = `${endpoint}?${new URLSearchParams({ ...params, apikey: options.apiKey })}`;
      let lastError: TransientError | undefined;
      let attempts = 0;
      for (let n = 1; n <= maxAttempts; n++) {
        if (n > 1) {
          const jitter = 0.5 + random() / 2;
          await sleep(backoffMs * 2 ** (n - 2) * jitter, signal);
        }
        signal?.throwIfAborted();
        const grant = await options.acquire();
        if (!grant.allowed) {
          if (lastError) break;
          throw new QuotaDeniedError(request, grant.retryAt);
        }
        attempts += 1;
        try {
          return await attempt(url, request, signal);
        } catch (error) {
          if (!(error instanceof TransientError)) throw error;
          lastError = error;
        }
      }
      throw new ProviderUnavailableError(
        `Alpha Vantage unavailable for ${request}: ${lastError?.message} (${attempts} attempt${attempts === 1 ? '' : 's'})`,
        attempts,
        { cause: lastError },
      );
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
