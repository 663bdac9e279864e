import { describe, expect, it } from 'vitest';
import { readFixture } from '../../../test/fixtures-server.ts';
import {
  type AlphaVantageError,
  classifyErrorBody,
  DemoKeyError,
  InvalidCallError,
  PremiumEndpointError,
  RateLimitedError,
  UnexpectedResponseError,
} from './errors.ts';
import { parseBulkQuotes, parseGlobalQuote, parseIntraday } from './parse.ts';

describe('parseIntraday', () => {
  it('reads the EST fixture oldest first, in exact UTC instants', () => {
    const series = parseIntraday(readFixture('intraday-1min-IBM-2025-03-07-est.json'));
    expect(series).toMatchObject({ symbol: 'IBM', interval: '1min', timeZone: 'US/Eastern' });
    expect(series.bars).toHaveLength(100);
    expect(series.bars[0]).toEqual({
      symbol: 'IBM',
      timestamp: '2025-03-07T19:21:00.000Z',
      open: 261.3,
      high: 261.3401,
      low: 261.2288,
      price: 261.2465,
      volume: 35169,
    });
    expect(series.bars.at(-1)).toEqual({
      symbol: 'IBM',
      timestamp: '2025-03-07T21:00:00.000Z',
      open: 264.9187,
      high: 265.102,
      low: 264.8686,
      price: 264.8979,
      volume: 7015,
    });
    const instants = series.bars.map((b) => Date.parse(b.timestamp));
    for (let i = 1; i < instants.length; i++) expect(instants[i]! - instants[i - 1]!).toBe(60_000);
  });

  it('reads the EDT fixture of the first trading day after the switch', () => {
    const { bars } = parseIntraday(readFixture('intraday-1min-MSFT-2025-03-10-edt.json'));
    expect(bars[0]).toMatchObject({ timestamp: '2025-03-10T12:06:00.000Z', price: 385.8562, volume: 25811 });
    expect(bars.at(-1)).toEqual({
      symbol: 'MSFT',
      timestamp: '2025-03-10T13:45:00.000Z',
      open: 384.8929,
      high: 385.1204,
      low: 384.8605,
      price: 384.9991,
      volume: 21238,
    });
  });

  it('reads a 5-minute series whose post-market bars fall on the next UTC day', () => {
    const series = parseIntraday(readFixture('intraday-5min-AAPL-2025-02-28-extended-hours.json'));
    expect(series.interval).toBe('5min');
    expect(series.bars[0]).toMatchObject({ timestamp: '2025-02-28T16:40:00.000Z', price: 241.5287 });
    // 19:55 EST on 28 February is 00:55 UTC on 1 March.
    expect(series.bars.at(-1)).toMatchObject({
      timestamp: '2025-03-01T00:55:00.000Z',
      price: 243.0108,
      volume: 17305,
    });
  });

  it('throws the typed error of an error body', () => {
    expect(() => parseIntraday(readFixture('error-invalid-call.json'))).toThrow(InvalidCallError);
    expect(() => parseIntraday(readFixture('rate-limit-daily-information.json'))).toThrow(RateLimitedError);
  });

  it('refuses a broken body instead of inventing numbers', () => {
    const body = readFixture('intraday-1min-IBM-2025-03-07-est.json') as Record<
      string,
      Record<string, object>
    >;
    const series = body['Time Series (1min)']!;
    series['2025-03-07 16:00:00'] = { ...series['2025-03-07 16:00:00'], '4. close': '' };
    expect(() => parseIntraday(body)).toThrow(/unexpected shape at '2025-03-07 16:00:00.4. close'/);
    expect(() =>
      parseIntraday({ 'Meta Data': { '2. Symbol': 'IBM', '6. Time Zone': 'US/Eastern' } }),
    ).toThrow(UnexpectedResponseError);
  });
});

describe('parseGlobalQuote', () => {
  const afterClose = { now: Date.parse('2025-03-08T12:00:00Z') };

  it('reads the realtime and the delayed key alike', () => {
    for (const [file, delayed] of [
      ['global-quote-MSFT.json', false],
      ['global-quote-MSFT-delayed.json', true],
    ] as const) {
      expect(parseGlobalQuote(readFixture(file), afterClose)).toEqual({
        bar: {
          symbol: 'MSFT',
          timestamp: '2025-03-07T21:00:00.000Z',
          price: 384.03,
          volume: 18421512,
          open: 383.09,
          high: 386,
          low: 379.66,
        },
        previousClose: 381.15,
        change: 2.88,
        changePercent: 0.7556,
        latestTradingDay: '2025-03-07',
        delayed,
      });
    }
  });

  it('stamps a quote taken during the session with the time it describes', () => {
    const now = Date.parse('2025-03-07T18:00:00Z');
    expect(parseGlobalQuote(readFixture('global-quote-MSFT.json'), { now })?.bar.timestamp).toBe(
      '2025-03-07T18:00:00.000Z',
    );
    expect(parseGlobalQuote(readFixture('global-quote-MSFT-delayed.json'), { now })?.bar.timestamp).toBe(
      '2025-03-07T17:45:00.000Z',
    );
  });

  it('gives no quote, and no error, for an unknown symbol', () => {
    expect(parseGlobalQuote(readFixture('global-quote-unknown-symbol.json'), afterClose)).toBeUndefined();
  });
});

describe('parseBulkQuotes', () => {
  it('reads known symbols and reports the unknown one', () => {
    expect(parseBulkQuotes(readFixture('realtime-bulk-quotes-MSFT-AAPL-NOPE.json'))).toEqual({
      quotes: [
        {
          bar: {
            symbol: 'MSFT',
            timestamp: '2025-03-07T21:00:00.000Z',
            price: 384.03,
            volume: 18421512,
            open: 383.09,
            high: 386,
            low: 379.66,
          },
          previousClose: 381.15,
          change: 2.88,
          changePercent: 0.7556,
        },
        {
          bar: {
            symbol: 'AAPL',
            timestamp: '2025-03-07T21:00:00.000Z',
            price: 239.07,
            volume: 46273565,
            open: 235.105,
            high: 241.37,
            low: 234.76,
          },
          previousClose: 235.74,
          change: 3.33,
          changePercent: 1.4126,
        },
      ],
      unknownSymbols: ['NOPE'],
    });
  });

  it('throws the premium error a free key gets', () => {
    expect(() => parseBulkQuotes(readFixture('premium-endpoint-information.json'))).toThrow(
      PremiumEndpointError,
    );
  });
});

describe('classifyErrorBody', () => {
  const classify = (file: string) => classifyErrorBody(readFixture(file), 'TIME_SERIES_INTRADAY IBM');

  it('classifies each error fixture', () => {
    const invalid = classify('error-invalid-call.json');
    expect(invalid).toBeInstanceOf(InvalidCallError);
    expect(invalid?.kind).toBe('invalid_call');
    expect(invalid?.message).toMatch(/^Alpha Vantage rejected TIME_SERIES_INTRADAY IBM: Invalid API call/);

    const daily = classify('rate-limit-daily-information.json');
    expect(daily).toBeInstanceOf(RateLimitedError);
    expect(daily).toMatchObject({ kind: 'rate_limited', window: 'day' });

    const legacy = classify('rate-limit-legacy-note.json');
    expect(legacy).toMatchObject({ kind: 'rate_limited', window: 'minute' });

    const premium = classify('premium-endpoint-information.json');
    expect(premium).toBeInstanceOf(PremiumEndpointError);
    expect(premium?.kind).toBe('premium');

    const demo = classify('demo-key-information.json');
    expect(demo).toBeInstanceOf(DemoKeyError);
    expect(demo?.kind).toBe('demo_key');
    expect(demo?.message).toMatch(/set a real key/);
  });

  it('finds no error in data bodies', () => {
    for (const file of [
      'intraday-1min-IBM-2025-03-07-est.json',
      'global-quote-MSFT.json',
      'global-quote-unknown-symbol.json',
      'realtime-bulk-quotes-MSFT-AAPL-NOPE.json',
    ]) {
      expect(classify(file)).toBeUndefined();
    }
  });

  it('checks Error Message, then Information, then Note', () => {
    const note = 'Our standard API call frequency is 5 calls per minute and 500 calls per day.';
    const kinds = (body: object) => (classifyErrorBody(body) as AlphaVantageError).kind;
    expect(kinds({ 'Error Message': 'Invalid API call.', Information: 'This is a premium endpoint.' })).toBe(
      'invalid_call',
    );
    expect(kinds({ Information: 'This is a premium endpoint.', Note: note })).toBe('premium');
    expect(kinds({ Note: note })).toBe('rate_limited');
    expect(kinds({ Information: 'Something new happened.' })).toBe('unexpected_response');
    expect(kinds([] as unknown as object)).toBe('unexpected_response');
  });
});
