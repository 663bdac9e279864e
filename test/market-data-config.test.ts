import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('market-data configuration', () => {
  it('defaults to the simulator and to Alpha Vantage’s free plan', () => {
    const config = loadConfig({});
    expect(config.marketDataProvider).toBe('simulator');
    expect(config.alphaVantage).toEqual({
      apiKey: undefined,
      baseUrl: 'https://www.alphavantage.co',
      entitlement: undefined,
      callsPerMinute: 5,
      callsPerDay: 25,
    });
    expect(config.marketHours).toBe('regular');
    expect(config.csv).toEqual({ file: undefined, speed: 60 });
  });

  it('reads every Alpha Vantage setting', () => {
    const config = loadConfig({
      MARKET_DATA_PROVIDER: 'alphavantage',
      ALPHAVANTAGE_API_KEY: 'KEY123',
      ALPHAVANTAGE_BASE_URL: 'http://127.0.0.1:9999',
      ALPHAVANTAGE_ENTITLEMENT: 'delayed',
      ALPHAVANTAGE_CALLS_PER_MINUTE: '75',
      ALPHAVANTAGE_CALLS_PER_DAY: 'unlimited',
      MARKET_HOURS: 'extended',
    });
    expect(config.alphaVantage).toEqual({
      apiKey: 'KEY123',
      baseUrl: 'http://127.0.0.1:9999',
      entitlement: 'delayed',
      callsPerMinute: 75,
      callsPerDay: Number.POSITIVE_INFINITY,
    });
    expect(config.marketHours).toBe('extended');
  });

  it('stops with one line naming ALPHAVANTAGE_API_KEY when the provider needs it', () => {
    const attempt = () => loadConfig({ MARKET_DATA_PROVIDER: 'alphavantage', ALPHAVANTAGE_API_KEY: '' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /^Invalid configuration: ALPHAVANTAGE_API_KEY must be set when MARKET_DATA_PROVIDER=alphavantage/,
    );
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('needs CSV_FILE for the csv provider, and resolves it', () => {
    expect(() => loadConfig({ MARKET_DATA_PROVIDER: 'csv' })).toThrow(/CSV_FILE must be set/);
    const config = loadConfig({ MARKET_DATA_PROVIDER: 'csv', CSV_FILE: 'demo/bars.csv', CSV_SPEED: '1' });
    expect(config.csv.file).toMatch(/^\/.*demo\/bars\.csv$/);
    expect(config.csv.speed).toBe(1);
  });

  it('explains bad values without echoing the key', () => {
    expect(() => loadConfig({ ALPHAVANTAGE_BASE_URL: 'https://www.alphavantage.co/query' })).toThrow(
      /ALPHAVANTAGE_BASE_URL: expected the origin only: the client appends \/query/,
    );
    expect(() => loadConfig({ ALPHAVANTAGE_CALLS_PER_DAY: 'lots' })).toThrow(
      /ALPHAVANTAGE_CALLS_PER_DAY: expected a whole number of at least 1, or 'unlimited'/,
    );
    expect(() => loadConfig({ MARKET_HOURS: 'night' })).toThrow(/MARKET_HOURS: .*\(got 'night'\)/);
    expect(() => loadConfig({ CSV_SPEED: '0' })).toThrow(/CSV_SPEED/);
    expect(() => loadConfig({ ALPHAVANTAGE_ENTITLEMENT: 'gold', ALPHAVANTAGE_API_KEY: 'SECRETKEY' })).toThrow(
      /ALPHAVANTAGE_ENTITLEMENT/,
    );
  });
});
