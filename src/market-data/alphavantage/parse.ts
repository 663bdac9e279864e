import { z } from 'zod';
import { MARKET_TIME_ZONE, sessionOn, zonedTimeToUtc } from '../market-hours.ts';
import type { Bar } from '../types.ts';
import { classifyErrorBody, UnexpectedResponseError } from './errors.ts';

/**
 * Pure parsers of Alpha Vantage `/query` bodies. Each first hands the body to `classifyErrorBody`, so
 * an error body is thrown as its typed error whichever parser meets it.
 */

// Every number arrives as a string ("264.8979"); an empty or odd string is a broken body, not a zero.
const numeric = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, 'expected a decimal number in a string')
  .transform(Number);

const ohlcv = z.object({
  '1. open': numeric,
  '2. high': numeric,
  '3. low': numeric,
  '4. close': numeric,
  '5. volume': numeric,
});

const intradaySchema = z.object({
  'Meta Data': z.looseObject({ '2. Symbol': z.string().min(1), '6. Time Zone': z.string().min(1) }),
});

const SERIES_KEY = /^Time Series \((\d+min)\)$/;

export interface IntradaySeries {
  symbol: string;
  /** `1min`, `5min`, … as in the series key. */
  interval: string;
  /** The zone the provider's timestamps were in (`US/Eastern`). */
  timeZone: string;
  /** Oldest first, timestamps as exact UTC instants. */
  bars: Bar[];
}

/** `TIME_SERIES_INTRADAY` of any interval. */
export function parseIntraday(body: unknown, request = 'TIME_SERIES_INTRADAY'): IntradaySeries {
  throwIfError(body, request);
  const meta = check(intradaySchema, body, request)['Meta Data'];
  const fields = body as Record<string, unknown>;
  const seriesKey = Object.keys(fields).find((key) => SERIES_KEY.test(key));
  if (!seriesKey)
    throw new UnexpectedResponseError(`Alpha Vantage answered ${request} without a time series`);
  const series = check(z.record(z.string(), ohlcv), fields[seriesKey], `${request} ${seriesKey}`);
  const symbol = meta['2. Symbol'];
  const timeZone = meta['6. Time Zone'];
  const bars = Object.entries(series).map(
    ([local, v]): Bar => ({
      symbol,
      timestamp: toInstant(local, timeZone, request),
      price: v['4. close'],
      volume: v['5. volume'],
      open: v['1. open'],
      high: v['2. high'],
      low: v['3. low'],
    }),
  );
  // The provider sends newest first; sort rather than reverse so that no ordering is assumed.
  bars.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  return { symbol, interval: SERIES_KEY.exec(seriesKey)![1]!, timeZone, bars };
}

export interface Quote {
  bar: Bar;
  previousClose: number;
  change: number;
  /** In percent: `0.7556` for "0.7556%". */
  changePercent: number;
}

export interface GlobalQuote extends Quote {
  /** The trading day the quote belongs to, `YYYY-MM-DD`. */
  latestTradingDay: string;
  /** The body came under `Global Quote - DATA DELAYED BY 15 MINUTES`. */
  delayed: boolean;
}

const globalQuoteSchema = z.object({
  '01. symbol': z.string().min(1),
  '02. open': numeric,
  '03. high': numeric,
  '04. low': numeric,
  '05. price': numeric,
  '06. volume': numeric,
  '07. latest trading day': z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  '08. previous close': numeric,
  '09. change': numeric,
  '10. change percent': z.string().regex(/^-?\d+(\.\d+)?%$/),
});

const DELAYED_MINUTES = 15;

/**
 * `GLOBAL_QUOTE`, realtime or delayed. `undefined` for the empty quote of a symbol the provider does
 * not know. The body has a date but no time: the quote is stamped with the close of that trading day
 * once `now` is past it, else with `now` (less 15 minutes when delayed).
 */
export function parseGlobalQuote(
  body: unknown,
  options: { now: number },
  request = 'GLOBAL_QUOTE',
): GlobalQuote | undefined {
  throwIfError(body, request);
  const fields = body as Record<string, unknown>;
  const key = Object.keys(fields).find((k) => k.startsWith('Global Quote'));
  if (!key) throw new UnexpectedResponseError(`Alpha Vantage answered ${request} without a 'Global Quote'`);
  const raw = fields[key];
  if (typeof raw === 'object' && raw !== null && Object.keys(raw).length === 0) return undefined;
  const q = check(globalQuoteSchema, raw, request);
  const delayed = /delayed/i.test(key);
  const close = +sessionOn(q['07. latest trading day'], 'regular').close;
  const asOf = Math.min(close, options.now - (delayed ? DELAYED_MINUTES * 60_000 : 0));
  return {
    bar: {
      symbol: q['01. symbol'],
      timestamp: new Date(asOf).toISOString(),
      price: q['05. price'],
      volume: q['06. volume'],
      open: q['02. open'],
      high: q['03. high'],
      low: q['04. low'],
    },
    previousClose: q['08. previous close'],
    change: q['09. change'],
    changePercent: Number(q['10. change percent'].slice(0, -1)),
    latestTradingDay: q['07. latest trading day'],
    delayed,
  };
}

const bulkEntrySchema = z.looseObject({ symbol: z.string().min(1) });
const bulkQuoteSchema = z.looseObject({
  symbol: z.string().min(1),
  timestamp: z.string().min(1),
  open: numeric,
  high: numeric,
  low: numeric,
  close: numeric,
  volume: numeric,
  previous_close: numeric,
  change: numeric,
  change_percent: numeric,
});

export interface BulkQuotes {
  quotes: Quote[];
  /** Symbols the provider answered with empty strings: it does not know them. */
  unknownSymbols: string[];
}

/**
 * `REALTIME_BULK_QUOTES`. Its timestamps (`2025-03-07 16:00:00.000`) carry no zone; like every other
 * Alpha Vantage time they are read as US/Eastern. `volume` is the day's running total.
 */
export function parseBulkQuotes(body: unknown, request = 'REALTIME_BULK_QUOTES'): BulkQuotes {
  throwIfError(body, request);
  const data = check(z.object({ data: z.array(bulkEntrySchema) }), body, request).data;
  const quotes: Quote[] = [];
  const unknownSymbols: string[] = [];
  for (const entry of data) {
    if (entry.timestamp === '' || entry.close === '') {
      unknownSymbols.push(entry.symbol);
      continue;
    }
    const q = check(bulkQuoteSchema, entry, `${request} ${entry.symbol}`);
    quotes.push({
      bar: {
        symbol: q.symbol,
        timestamp: toInstant(q.timestamp, MARKET_TIME_ZONE, request),
        price: q.close,
        volume: q.volume,
        open: q.open,
        high: q.high,
        low: q.low,
      },
      previousClose: q.previous_close,
      change: q.change,
      changePercent: q.change_percent,
    });
  }
  return { quotes, unknownSymbols };
}

function throwIfError(body: unknown, request: string): void {
  const error = classifyErrorBody(body, request);
  if (error) throw error;
}

function check<T extends z.ZodType>(schema: T, value: unknown, request: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? ` at '${issue.path.join('.')}'` : '';
  throw new UnexpectedResponseError(
    `Alpha Vantage answered ${request} in an unexpected shape${where}: ${issue?.message}`,
  );
}

function toInstant(local: string, timeZone: string, request: string): string {
  try {
    return zonedTimeToUtc(local, timeZone).toISOString();
  } catch (error) {
    throw new UnexpectedResponseError(
      `Alpha Vantage answered ${request} with time '${local}' in zone '${timeZone}' that cannot be read`,
      undefined,
      { cause: error },
    );
  }
}
