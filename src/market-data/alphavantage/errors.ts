/**
 * Alpha Vantage answers most failures with HTTP 200 and a JSON body holding a sentence. These classes
 * turn those sentences (and transport failures) into something a caller can switch on by `kind`.
 */

export type AlphaVantageErrorKind =
  | 'invalid_call'
  | 'rate_limited'
  | 'premium'
  | 'demo_key'
  | 'unexpected_response'
  | 'unavailable';

export abstract class AlphaVantageError extends Error {
  abstract readonly kind: AlphaVantageErrorKind;
  /** The provider's own sentence, when it sent one. */
  readonly providerMessage: string | undefined;

  constructor(message: string, providerMessage?: string, options?: ErrorOptions) {
    super(message, options);
    this.providerMessage = providerMessage;
  }
}

/** `Error Message`: the call itself is wrong (unknown symbol, bad parameter). Retrying will not help. */
export class InvalidCallError extends AlphaVantageError {
  override name = 'InvalidCallError';
  readonly kind = 'invalid_call';
}

/** The quota is used up; no call should be made before the window resets. */
export class RateLimitedError extends AlphaVantageError {
  override name = 'RateLimitedError';
  readonly kind = 'rate_limited';
  /** Which window the provider said is exhausted. */
  readonly window: 'minute' | 'day';

  constructor(message: string, window: 'minute' | 'day', providerMessage?: string) {
    super(message, providerMessage);
    this.window = window;
  }
}

/** The endpoint or entitlement needs a premium key: a configuration problem. */
export class PremiumEndpointError extends AlphaVantageError {
  override name = 'PremiumEndpointError';
  readonly kind = 'premium';
}

/** The `demo` key only works for the documentation's examples: a configuration problem. */
export class DemoKeyError extends AlphaVantageError {
  override name = 'DemoKeyError';
  readonly kind = 'demo_key';
}

/** A body or status this client does not understand. Not retried: it would most likely repeat. */
export class UnexpectedResponseError extends AlphaVantageError {
  override name = 'UnexpectedResponseError';
  readonly kind = 'unexpected_response';
}

/** Network error, timeout or 5xx on every attempt. */
export class ProviderUnavailableError extends AlphaVantageError {
  override name = 'ProviderUnavailableError';
  readonly kind = 'unavailable';
  readonly attempts: number;

  constructor(message: string, attempts: number, options?: ErrorOptions) {
    super(message, undefined, options);
    this.attempts = attempts;
  }
}

// Current wording: "Our standard API rate limit is 25 requests per day."; older: "Our standard API call
// frequency is 5 calls per minute and 500 calls per day."; burst: "spreading out your free API requests".
const RATE_LIMIT =
  /rate limit|requests? per (day|minute|second)|calls? per (day|minute|second)|call frequency|spreading out|burst/i;
const MINUTE_WINDOW = /per (minute|second)|frequency|spreading out|burst/i;
const PREMIUM_ENDPOINT = /premium endpoint/i;
const DEMO_KEY = /\bdemo\b/i;
const PREMIUM_ANY = /\bpremium\b/i;

/**
 * The typed error an error body stands for, or `undefined` for a data body. Follows the provider's
 * documented order: `Error Message`, then `Information`, then `Note`. `request` names the call in
 * messages (e.g. `TIME_SERIES_INTRADAY IBM`); the API key never appears in it.
 */
export function classifyErrorBody(body: unknown, request = 'the request'): AlphaVantageError | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return new UnexpectedResponseError(`Alpha Vantage answered ${request} with a non-object body`);
  }
  const fields = body as Record<string, unknown>;
  const errorMessage = fields['Error Message'];
  if (errorMessage !== undefined) {
    const text = String(errorMessage);
    return new InvalidCallError(`Alpha Vantage rejected ${request}: ${text}`, text);
  }
  for (const key of ['Information', 'Note']) {
    const value = fields[key];
    if (value !== undefined) return classifyNotice(String(value), request);
  }
  return undefined;
}

function classifyNotice(text: string, request: string): AlphaVantageError {
  // Quota messages also advertise "premium plans", so they must be recognised before premium ones.
  if (RATE_LIMIT.test(text)) {
    const window = MINUTE_WINDOW.test(text) ? 'minute' : 'day';
    return new RateLimitedError(
      `Alpha Vantage quota exhausted (per ${window}) on ${request}: ${text}`,
      window,
      text,
    );
  }
  if (PREMIUM_ENDPOINT.test(text)) {
    return new PremiumEndpointError(
      `${request} needs a premium Alpha Vantage key, and this key is not premium: use a premium key, or drop the entitlement setting to use TIME_SERIES_INTRADAY. Provider said: ${text}`,
      text,
    );
  }
  if (DEMO_KEY.test(text)) {
    return new DemoKeyError(
      `The Alpha Vantage 'demo' API key only serves the documentation's examples: set a real key (free at https://www.alphavantage.co/support/#api-key). Provider said: ${text}`,
      text,
    );
  }
  if (PREMIUM_ANY.test(text)) {
    return new PremiumEndpointError(`${request} needs a premium Alpha Vantage plan: ${text}`, text);
  }
  return new UnexpectedResponseError(`Alpha Vantage answered ${request} with a notice: ${text}`, text);
}
