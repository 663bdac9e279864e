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

/** What a provider's quota still allows; numbers are `null` where the plan has no cap. */
export interface ProviderQuota {
  callsLeftToday: number | null;
  callsPerDay: number | null;
  callsLeftThisMinute: number;
  callsPerMinute: number;
  /** ISO instant at which the daily allowance starts again. */
  dayResetsAt: string;
  /** ISO instant before which the provider told us not to call again, if it did. */
  blockedUntil: string | null;
}

export interface ProviderSymbolStatus {
  /** ISO instant of the provider's last successful answer for the symbol. */
  lastSuccessAt?: string;
  /** Why the provider no longer asks for the symbol, if it stopped. */
  error?: string;
}

export interface ProviderStatus {
  quota?: ProviderQuota;
  symbols: Readonly<Record<string, ProviderSymbolStatus>>;
  /** A configuration problem that stopped the provider altogether. */
  problem?: string;
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
  /**
   * One round for `stockwatch client --once`: everything the provider can give now, whatever the hour
   * and the spacing of its schedule. Without it, `--once` runs one `poll`.
   */
  fetchOnce?(symbols: readonly string[], signal?: AbortSignal): Promise<Bar[]>;
  /**
   * Where a previous run of the client stopped: the newest bar instant (ISO) it fetched per symbol.
   * A provider that dedupes against what it returned before starts from there instead of from nothing,
   * so that a restart neither re-sends a window nor mistakes a long gap for a short one. Also called
   * when the client takes symbols over from another client (REDIS_URL), with where that one got to.
   */
  resume?(newestBarPerSymbol: Readonly<Record<string, string>>): void;
  /**
   * The newest bar another client fetched, per symbol this client takes over from it (clients sharing
   * symbols through Redis): a provider that makes its prices up continues from there.
   */
  takeOver?(lastBars: Readonly<Record<string, Bar>>): void;
  /** Quota left and per-symbol health, for the progress line and the server's status page. */
  status?(): Promise<ProviderStatus>;
}
