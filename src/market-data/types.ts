/** One price observation as the client posts it to `POST /stocks` (the seed's contract plus optional OHLC). */
export interface Bar {
  symbol: string;
  /** ISO 8601 instant in UTC, e.g. `2025-03-07T21:00:00.000Z`. */
  timestamp: string;
  /** The close of the bar. */
  price: number;
  volume: number;
  open?: number;
  high?: number;
  low?: number;
}

/**
 * A source of prices. The client asks it for the symbols it owns and posts whatever comes back;
 * providers with quotas decide themselves which symbols they can afford to refresh this round.
 */
export interface PriceProvider {
  readonly name: string;
  /** Human-readable plan, printed once at start ("10 symbols, 25 calls/day: …"). */
  describePlan(symbols: readonly string[]): string;
  /** Bars newer than what the provider already returned for each symbol, oldest first. */
  poll(symbols: readonly string[], signal?: AbortSignal): Promise<Bar[]>;
  /** Milliseconds until the provider has something worth asking for again. */
  nextPollDelayMs(): number;
}
