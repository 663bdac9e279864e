import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../shared/clock.ts';
import type { Bar, PriceProvider } from '../types.ts';

/** Rough prices of late 2025, so the dashboard looks like the market people know. */
const START_PRICES: Record<string, number> = {
  AAPL: 228,
  GOOGL: 172,
  MSFT: 415,
  AMZN: 196,
  META: 585,
  NVDA: 138,
  TSLA: 251,
  JPM: 222,
  V: 286,
  NFLX: 710,
};
const BACKFILL_MS = 24 * 3600_000;
const BACKFILL_STEP_MS = 60_000;
// Annualised volatility of about 20%, spread over a trading year of minutes.
const VOLATILITY_PER_SQRT_MINUTE = 0.2 / Math.sqrt(252 * 390);

interface SymbolState {
  price: number;
  ts: number;
}

/**
 * A seeded random walk per symbol (geometric Brownian motion), one bar per symbol per poll.
 * Its state lives in DATA_DIR so that a restart continues the walk where it stopped; the first
 * start backfills the last 24 hours of minute bars so that charts and day changes have history.
 */
export function createSimulatorProvider(options: {
  seed: number;
  intervalMs: number;
  clock: Clock;
  /** Where the walk's state is kept; undefined keeps it in memory only. */
  stateDir?: string;
}): PriceProvider {
  const random = mulberry32(options.seed);
  const stateFile = options.stateDir && path.join(options.stateDir, 'simulator-state.json');
  const state = readState(stateFile);

  const gaussian = () => {
    // Box-Muller: two uniforms make one standard normal.
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };

  const step = (symbol: string, s: SymbolState, ts: number): Bar => {
    const minutes = Math.max((ts - s.ts) / 60_000, 1 / 60);
    const open = s.price;
    const close = round2(open * Math.exp(VOLATILITY_PER_SQRT_MINUTE * Math.sqrt(minutes) * gaussian()));
    const wiggle = Math.abs(gaussian()) * VOLATILITY_PER_SQRT_MINUTE * Math.sqrt(minutes) * open * 0.5;
    const high = round2(Math.max(open, close) + wiggle);
    const low = round2(Math.max(0.01, Math.min(open, close) - wiggle));
    // Volume roughly proportional to elapsed time, log-normally spread like real tape.
    const volume = Math.round(2000 * minutes * Math.exp(0.6 * gaussian()));
    s.price = close;
    s.ts = ts;
    return { symbol, timestamp: new Date(ts).toISOString(), price: close, open, high, low, volume };
  };

  return {
    name: 'simulator',
    describePlan: (symbols) =>
      `simulator: ${symbols.length} symbols, one price each every ${options.intervalMs / 1000} s`,
    async poll(symbols) {
      const now = options.clock.now().getTime();
      const bars: Bar[] = [];
      for (const symbol of symbols) {
        let s = state[symbol];
        if (!s) {
          s = {
            price: START_PRICES[symbol] ?? 20 + random() * 280,
            ts: now - BACKFILL_MS - BACKFILL_STEP_MS,
          };
          state[symbol] = s;
          const from = Math.ceil((now - BACKFILL_MS) / BACKFILL_STEP_MS) * BACKFILL_STEP_MS;
          for (let ts = from; ts < now; ts += BACKFILL_STEP_MS) bars.push(step(symbol, s, ts));
        }
        if (now > s.ts) bars.push(step(symbol, s, now));
      }
      writeState(stateFile, state);
      return bars;
    },
    nextPollDelayMs: () => options.intervalMs,
    // Another client walked this symbol until now: go on from its last price, not from one of our own,
    // so a take-over neither jumps the price nor backfills a day that is already stored.
    takeOver(lastBars) {
      for (const [symbol, bar] of Object.entries(lastBars)) {
        const ts = Date.parse(bar.timestamp);
        const known = state[symbol];
        if (Number.isFinite(ts) && bar.price > 0 && (!known || ts > known.ts))
          state[symbol] = { price: bar.price, ts };
      }
    },
  };
}

function readState(file: string | undefined): Record<string, SymbolState> {
  if (!file) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, SymbolState>;
  } catch {
    return {};
  }
}

function writeState(file: string | undefined, state: Record<string, SymbolState>) {
  if (!file) return;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(state));
}

function round2(n: number) {
  return Math.round(n * 100) / 100;
}

/** A small, fast, seedable PRNG: the same seed gives the same market. */
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
