import { lookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { DeliveryError } from './channel.ts';
import { isPrivateAddress } from './network-guard.ts';

const TIMEOUT_MS = 5000;
/** Error bodies are quoted in `last_error`; more than this is noise. */
const MAX_BODY = 64 * 1024;

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A POST to a URL a user gave us (or an operator-configured API). Unless `allowPrivate`, the address
 * is checked after DNS resolution, on the connection itself, so a name that resolves to a private
 * address is refused too. Network failures become retryable DeliveryErrors; any HTTP answer is
 * returned for the channel to judge.
 */
export function postHttp(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { allowPrivate: boolean; service: string },
): Promise<HttpAnswer> {
  const target = new URL(url);
  // An address literal never goes through `lookup`, so it is checked here.
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivate && isPrivateAddress(literal))
    return Promise.reject(
      new DeliveryError(`${options.service} not delivered: refused private address ${literal}`),
    );
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        timeout: TIMEOUT_MS,
        lookup: (hostname, lookupOptions, callback) =>
          lookup(hostname, { ...lookupOptions, all: false }, (error, address, family) => {
            if (!error && !options.allowPrivate && isPrivateAddress(String(address)))
              return callback(new Error(`refused private address ${address}`), '', 0);
            callback(error, address as string, family);
          }),
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < MAX_BODY) text += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    request.on('error', (error) =>
      reject(new DeliveryError(`${options.service} not delivered: ${error.message}`)),
    );
    request.end(body);
  });
}

/** `Retry-After` in seconds (the only form these services send); HTTP dates are rare enough to ignore. */
export function retryAfterHeaderMs(headers: http.IncomingHttpHeaders): number | undefined {
  const value = Number(headers['retry-after']);
  return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
}

/**
 * The error for a non-2xx answer. 5xx, 408 and 429 are retried (honouring the wait the service asked
 * for); other 4xx are permanent: a revoked webhook or an unknown chat does not heal by itself.
 */
export function answerError(
  service: string,
  answer: HttpAnswer,
  detail: string | undefined,
  retryAfterMs: number | undefined,
): DeliveryError {
  const retryable =
    answer.status >= 500 || answer.status === 408 || answer.status === 429 || answer.status === 0;
  const text = detail ?? answer.body.trim().slice(0, 300);
  return new DeliveryError(`${service} answered ${answer.status}${text ? `: ${text}` : ''}`, {
    permanent: !retryable,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
}

/** The body as JSON, or undefined when it is not JSON. */
export function jsonOf(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.body);
  } catch {
    return undefined;
  }
}
