import { readFileSync } from 'node:fs';
import { ConfigError, SYMBOL_PATTERN } from '../../config.ts';
import type { Clock } from '../../shared/clock.ts';
import { sessionOn, zonedTimeToUtc } from '../market-hours.ts';
import type { Bar, PriceProvider } from '../types.ts';

/**
 * Replays a CSV of `symbol,timestamp,open,high,low,close,volume` as if it were happening now, `speed`
 * times faster: bar `t` goes out at `start + (t - first) / speed` and is stamped with that instant.
 * Stamping with the replay instant, not the file's, is what makes the prices fresh to the server, so
 * that live charts move and notifications fire on a real price path (the server ignores stale prices,
 * and refuses ones more than 5 minutes in the future). At the end the file starts over.
 *
 * `fetchOnce` (for `stockwatch client --once`) instead returns every bar with its own timestamp: a
 * one-shot import of history.
 */

export class CsvFormatError extends ConfigError {
  override name = 'CsvFormatError';
}

const COLUMNS = ['symbol', 'timestamp', 'open', 'high', 'low', 'close', 'volume'] as const;
type Column = (typeof COLUMNS)[number];

const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const HAS_ZONE = /(Z|[+-]\d{2}:?\d{2})$/i;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Parses the whole text; throws `CsvFormatError` naming the first bad line. A first line naming the
 * columns is a header, and may order them differently. Times with a zone (`Z`, `+01:00`) are
 * exact; times without one are New York wall time, as exchanges and Alpha Vantage exports write them;
 * a date alone is that day's close. `open`, `high` and `low` may be empty. Returns the bars oldest
 * first (ties keep file order).
 */
export function parseCsvBars(text: string, source = 'CSV'): Bar[] {
  const lines = text.split(/\r?\n/);
  let order: readonly Column[] = COLUMNS;
  const bars: Bar[] = [];
  let sawData = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
    const where = `${source} line ${i + 1}`;
    const names = fields.map((f) => f.toLowerCase());
    if (!sawData && names.some((n) => (COLUMNS as readonly string[]).includes(n))) {
      order = readHeader(fields, where);
      sawData = true;
      continue;
    }
    sawData = true;
    if (fields.length !== order.length)
      throw new CsvFormatError(
        `${where}: expected ${order.length} fields (${order.join(',')}), got ${fields.length}`,
      );
    const row = Object.fromEntries(order.map((name, j) => [name, fields[j]!])) as Record<Column, string>;
    bars.push(readBar(row, where));
  }
  // Timestamps are ISO instants of one format, so string order is time order; sort is stable.
  return bars.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
}

function readHeader(fields: string[], where: string): Column[] {
  const names = fields.map((f) => f.toLowerCase());
  const missing = COLUMNS.filter((c) => !names.includes(c));
  const unknown = names.filter((n) => !(COLUMNS as readonly string[]).includes(n));
  if (missing.length > 0 || unknown.length > 0 || names.length !== COLUMNS.length)
    throw new CsvFormatError(
      `${where}: the header must name the columns ${COLUMNS.join(',')} (in any order); got '${fields.join(',')}'`,
    );
  return names as Column[];
}

function readBar(row: Record<Column, string>, where: string): Bar {
  const symbol = row.symbol.toUpperCase();
  if (!SYMBOL_PATTERN.test(symbol))
    throw new CsvFormatError(`${where}: symbol '${row.symbol}' is not 1-10 characters A-Z 0-9 . -`);
  const price = positive(row.close, 'close', where, true)!;
  const volume = Number(row.volume);
  if (!DECIMAL.test(row.volume) || !Number.isSafeInteger(volume) || volume < 0)
    throw new CsvFormatError(`${where}: volume '${row.volume}' is not a whole number of at least 0`);
  const bar: Bar = { symbol, timestamp: instant(row.timestamp, where), price, volume };
  for (const name of ['open', 'high', 'low'] as const) {
    const value = positive(row[name], name, where, false);
    if (value !== undefined) bar[name] = value;
  }
  return bar;
}

function positive(text: string, name: string, where: string, required: boolean): number | undefined {
  if (text === '' && !required) return undefined;
  const value = Number(text);
  if (!DECIMAL.test(text) || !(value > 0) || !Number.isFinite(value))
    throw new CsvFormatError(`${where}: ${name} '${text}' is not a number greater than 0`);
  return value;
}

function instant(text: string, where: string): string {
  try {
    if (DATE_ONLY.test(text)) return sessionOn(text, 'regular').close.toISOString();
    if (HAS_ZONE.test(text)) {
      const ms = Date.parse(text);
      if (Number.isFinite(ms) && /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/.test(text))
        return new Date(ms).toISOString();
    } else {
      return zonedTimeToUtc(text).toISOString();
    }
  } catch {}
  throw new CsvFormatError(
    `${where}: timestamp '${text}' is not ISO 8601 (e.g. 2025-03-07T21:00:00Z, or 2025-03-07 16:00:00 in New York time)`,
  );
}

export interface CsvProviderOptions {
  file: string;
  /** Replay speed: 1 is the file's own pace, 60 plays a minute of history per second. */
  speed: number;
  clock: Clock;
  /** Start over at the end of the file (default true). */
  loop?: boolean;
  /** Shortest wait between polls, so that a fast replay goes out in batches rather than a request per bar. */
  minDelayMs?: number;
}

const MAX_DELAY_MS = 3_600_000;

export function createCsvProvider(options: CsvProviderOptions): PriceProvider {
  if (!(options.speed > 0) || !Number.isFinite(options.speed))
    throw new RangeError(`CSV replay speed must be a positive number (got ${options.speed})`);
  let text: string;
  try {
    text = readFileSync(options.file, 'utf8');
  } catch (error) {
    throw new CsvFormatError(`CSV_FILE '${options.file}' cannot be read: ${(error as Error).message}`);
  }
  const bars = parseCsvBars(text, options.file);
  if (bars.length === 0) throw new CsvFormatError(`CSV_FILE '${options.file}' holds no bars`);
  const { speed, clock } = options;
  const loop = options.loop ?? true;
  const minDelayMs = options.minDelayMs ?? 250;
  const offsets = bars.map((b) => Date.parse(b.timestamp) - Date.parse(bars[0]!.timestamp));
  // One loop of history lasts the file's span plus one typical step, so the first bar of the next loop
  // follows the last one at the file's own pace.
  const cycleMs = offsets.at(-1)! + smallestStep(offsets);
  const fileSymbols = [...new Set(bars.map((b) => b.symbol))];

  let startedAt: number | undefined;
  /** Index into `bars` of the next bar to replay, and how many loops are done. */
  let next = 0;
  let loops = 0;

  const wallTimeOf = (index: number, loop: number) =>
    startedAt! + Math.floor((loop * cycleMs + offsets[index]!) / speed);

  return {
    name: 'csv',

    describePlan(symbols) {
      const wanted = new Set(symbols);
      const played = fileSymbols.filter((s) => wanted.has(s));
      const ignored = fileSymbols.filter((s) => !wanted.has(s));
      const span = formatSpan(cycleMs / speed);
      return (
        `csv: replaying ${played.length} of the ${fileSymbols.length} symbols in ${options.file} ` +
        `(${bars.length} bars) at ${speed}x, one pass every ${span}${loop ? ', looping' : ''}` +
        (ignored.length > 0 ? `; not in SYMBOLS, skipped: ${ignored.join(',')}` : '')
      );
    },

    async poll(symbols) {
      const now = clock.now().getTime();
      startedAt ??= now;
      const wanted = new Set(symbols);
      const out: Bar[] = [];
      // After a long pause (a laptop asleep) skip whole passes rather than replay them all at once.
      const passMs = cycleMs / speed;
      const lag = now - wallTimeOf(next % bars.length, next === bars.length ? loops + 1 : loops);
      if (loop && lag > passMs) loops += Math.floor(lag / passMs);
      while (next < bars.length || (loop && next === bars.length)) {
        if (next === bars.length) {
          next = 0;
          loops++;
        }
        const at = wallTimeOf(next, loops);
        if (at > now) break;
        const bar = bars[next]!;
        if (wanted.has(bar.symbol)) out.push({ ...bar, timestamp: new Date(at).toISOString() });
        next++;
      }
      return out;
    },

    nextPollDelayMs() {
      if (startedAt === undefined) return 0;
      if (next >= bars.length && !loop) return MAX_DELAY_MS;
      const index = next >= bars.length ? 0 : next;
      const at = wallTimeOf(index, next >= bars.length ? loops + 1 : loops);
      return Math.min(MAX_DELAY_MS, Math.max(minDelayMs, at - clock.now().getTime()));
    },

    async fetchOnce(symbols) {
      const wanted = new Set(symbols);
      return bars.filter((b) => wanted.has(b.symbol)).map((b) => ({ ...b }));
    },
  };
}

function smallestStep(offsets: readonly number[]): number {
  let step = Number.POSITIVE_INFINITY;
  for (let i = 1; i < offsets.length; i++) {
    const gap = offsets[i]! - offsets[i - 1]!;
    if (gap > 0 && gap < step) step = gap;
  }
  return Number.isFinite(step) ? step : 60_000;
}

function formatSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
