import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../shared/clock.ts';
import { CsvFormatError, createCsvProvider, parseCsvBars } from './csv.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'stockwatch-csv-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function csvFile(text: string): string {
  const file = path.join(dir, 'bars.csv');
  writeFileSync(file, text);
  return file;
}

// Four minutes of two symbols, out of order on purpose, New York wall time (EST).
const HISTORY = `symbol,timestamp,open,high,low,close,volume
IBM,2025-03-07 15:58:00,261.30,261.34,261.22,261.25,35169
MSFT,2025-03-07 15:58:00,383.00,383.10,382.90,383.05,1200
IBM,2025-03-07 15:59:00,261.25,261.40,261.20,261.38,20100
IBM,2025-03-07 16:00:00,264.92,265.10,264.87,264.90,7015
MSFT,2025-03-07 15:59:00,383.05,383.20,383.00,383.15,900
`;

describe('parseCsvBars', () => {
  it('reads New York wall time through the tz database, oldest first', () => {
    const bars = parseCsvBars(HISTORY);
    expect(bars.map((b) => [b.symbol, b.timestamp])).toEqual([
      ['IBM', '2025-03-07T20:58:00.000Z'],
      ['MSFT', '2025-03-07T20:58:00.000Z'],
      ['IBM', '2025-03-07T20:59:00.000Z'],
      ['MSFT', '2025-03-07T20:59:00.000Z'],
      ['IBM', '2025-03-07T21:00:00.000Z'],
    ]);
    expect(bars.at(-1)).toEqual({
      symbol: 'IBM',
      timestamp: '2025-03-07T21:00:00.000Z',
      price: 264.9,
      open: 264.92,
      high: 265.1,
      low: 264.87,
      volume: 7015,
    });
  });

  it('takes exact instants, a date alone as that day’s close, empty open/high/low, and columns in any order', () => {
    const bars = parseCsvBars(
      [
        'timestamp,symbol,close,volume,open,high,low',
        '2025-03-10T13:45:00Z,msft,384.9991,21238,,,',
        '2025-03-10T09:46:00-04:00,MSFT,385,100,385,385,385',
        '2025-03-10,MSFT,386.5,5000000,,,',
      ].join('\r\n'),
    );
    expect(bars).toEqual([
      { symbol: 'MSFT', timestamp: '2025-03-10T13:45:00.000Z', price: 384.9991, volume: 21238 },
      {
        symbol: 'MSFT',
        timestamp: '2025-03-10T13:46:00.000Z',
        price: 385,
        volume: 100,
        open: 385,
        high: 385,
        low: 385,
      },
      // 16:00 EDT on the first Monday after the switch.
      { symbol: 'MSFT', timestamp: '2025-03-10T20:00:00.000Z', price: 386.5, volume: 5000000 },
    ]);
  });

  it('reads a file without a header in the documented column order', () => {
    expect(parseCsvBars('AAPL,2025-02-28T21:00:00Z,241,242,240,241.84,100\n')).toEqual([
      {
        symbol: 'AAPL',
        timestamp: '2025-02-28T21:00:00.000Z',
        price: 241.84,
        volume: 100,
        open: 241,
        high: 242,
        low: 240,
      },
    ]);
  });

  it('names the line and the field it cannot read', () => {
    const bad = (line: string) => () =>
      parseCsvBars(`symbol,timestamp,open,high,low,close,volume\n${line}\n`, 'x.csv');
    expect(bad('IBM,2025-03-07 16:00:00,1,1,1,0,5')).toThrow(
      "x.csv line 2: close '0' is not a number greater than 0",
    );
    expect(bad('IBM,2025-03-07 16:00:00,1,1,1,abc,5')).toThrow(CsvFormatError);
    expect(bad('IBM,yesterday,1,1,1,2,5')).toThrow(/line 2: timestamp 'yesterday' is not ISO 8601/);
    expect(bad('IBM,2025-03-07 16:00:00,1,1,1,2,1.5')).toThrow(/volume '1.5' is not a whole number/);
    expect(bad('IBM,2025-03-07 16:00:00,1,1,1,2')).toThrow(/expected 7 fields/);
    expect(bad('BAD SYMBOL,2025-03-07 16:00:00,1,1,1,2,5')).toThrow(/symbol 'BAD SYMBOL'/);
    expect(() => parseCsvBars('symbol,time,price\n')).toThrow(/header must name the columns/);
  });
});

describe('csv provider', () => {
  it('replays at the chosen speed, stamped with the replay instant, only the symbols asked for', async () => {
    const clock = manualClock('2026-01-05T15:00:00Z');
    const provider = createCsvProvider({ file: csvFile(HISTORY), speed: 60, clock, minDelayMs: 0 });
    expect(provider.describePlan(['IBM'])).toBe(
      `csv: replaying 1 of the 2 symbols in ${path.join(dir, 'bars.csv')} (5 bars) at 60x, one pass every 3 s, looping; not in SYMBOLS, skipped: MSFT`,
    );
    const first = await provider.poll(['IBM']);
    expect(first).toEqual([
      {
        symbol: 'IBM',
        timestamp: '2026-01-05T15:00:00.000Z',
        price: 261.25,
        open: 261.3,
        high: 261.34,
        low: 261.22,
        volume: 35169,
      },
    ]);
    // One minute of history is one second at 60x.
    expect(provider.nextPollDelayMs()).toBe(1000);
    clock.advance(999);
    expect(await provider.poll(['IBM'])).toEqual([]);
    clock.advance(1001);
    expect((await provider.poll(['IBM'])).map((b) => [b.timestamp, b.price])).toEqual([
      ['2026-01-05T15:00:01.000Z', 261.38],
      ['2026-01-05T15:00:02.000Z', 264.9],
    ]);
  });

  it('starts over at the end, later, keeping the file’s pace', async () => {
    const clock = manualClock('2026-01-05T15:00:00Z');
    const provider = createCsvProvider({ file: csvFile(HISTORY), speed: 60, clock, minDelayMs: 0 });
    const all = [];
    for (let i = 0; i < 7; i++) {
      all.push(...(await provider.poll(['IBM', 'MSFT'])));
      clock.advance(provider.nextPollDelayMs());
    }
    const ibm = all.filter((b) => b.symbol === 'IBM').map((b) => b.timestamp);
    // A pass is three minutes of history (the span plus one step): 3 s at 60x.
    expect(ibm).toEqual([
      '2026-01-05T15:00:00.000Z',
      '2026-01-05T15:00:01.000Z',
      '2026-01-05T15:00:02.000Z',
      '2026-01-05T15:00:03.000Z',
      '2026-01-05T15:00:04.000Z',
      '2026-01-05T15:00:05.000Z',
      '2026-01-05T15:00:06.000Z',
    ]);
  });

  it('skips whole passes after a long pause instead of flooding', async () => {
    const clock = manualClock('2026-01-05T15:00:00Z');
    const provider = createCsvProvider({ file: csvFile(HISTORY), speed: 60, clock });
    await provider.poll(['IBM', 'MSFT']);
    clock.advance(3_600_000);
    expect((await provider.poll(['IBM', 'MSFT'])).length).toBeLessThanOrEqual(5);
  });

  it('--once imports the whole file with its own timestamps', async () => {
    const clock = manualClock('2026-01-05T15:00:00Z');
    const provider = createCsvProvider({ file: csvFile(HISTORY), speed: 60, clock });
    const bars = await provider.fetchOnce!(['IBM', 'MSFT']);
    expect(bars).toEqual(parseCsvBars(HISTORY));
  });

  it('refuses a missing or empty file at start, naming CSV_FILE', () => {
    const clock = manualClock();
    expect(() => createCsvProvider({ file: path.join(dir, 'nope.csv'), speed: 1, clock })).toThrow(
      /CSV_FILE '.*nope\.csv' cannot be read/,
    );
    expect(() =>
      createCsvProvider({ file: csvFile('symbol,timestamp,open,high,low,close,volume\n'), speed: 1, clock }),
    ).toThrow(/holds no bars/);
  });
});
