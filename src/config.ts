import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * The one place that reads the environment. Everything else receives a `Config`.
 * Unset variables fall back to the embedded defaults, so `npm start` works with no configuration.
 */

const DEFAULT_SYMBOLS = ['AAPL', 'GOOGL', 'MSFT', 'AMZN', 'META', 'NVDA', 'TSLA', 'JPM', 'V', 'NFLX'];
export const SYMBOL_PATTERN = /^[A-Z0-9.-]{1,10}$/;

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const url = (protocols: string[]) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => URL.canParse(v) && protocols.includes(new URL(v).protocol), {
        message: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
      })
      .optional(),
  );

const envSchema = z.object({
  PORT: z.preprocess(emptyToUndefined, int(0, 65535).default(3000)),
  HOST: z.preprocess(emptyToUndefined, z.string().default('127.0.0.1')),
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('./data')),
  DATABASE_URL: url(['postgres:', 'postgresql:', 'memory:']),
  DATABASE_POOL_SIZE: z.preprocess(emptyToUndefined, int(1, 1000).default(20)),
  REDIS_URL: url(['redis:', 'rediss:']),
  INGEST_TOKEN: z.preprocess(
    emptyToUndefined,
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  MARKET_DATA_PROVIDER: z.preprocess(emptyToUndefined, z.enum(['simulator', 'none']).default('simulator')),
  SYMBOLS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim().toUpperCase())
          .filter(Boolean),
      )
      .refine((list) => list.length > 0 && list.every((s) => SYMBOL_PATTERN.test(s)), {
        message: 'expected a comma-separated list of symbols of 1-10 characters A-Z 0-9 . -',
      })
      .transform((list) => [...new Set(list)])
      .default(DEFAULT_SYMBOLS),
  ),
  SIMULATOR_INTERVAL_MS: z.preprocess(emptyToUndefined, int(50, 3_600_000).default(2000)),
  SIMULATOR_SEED: z.preprocess(emptyToUndefined, int(0, 2 ** 31 - 1).default(42)),
  SERVER_URL: url(['http:', 'https:']),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  PUBLIC_URL: url(['http:', 'https:']),
  INGEST_BATCH_MAX: z.preprocess(emptyToUndefined, int(1, 10_000).default(10_000)),
});

export type Config = Readonly<{
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  ingestToken: string | undefined;
  marketDataProvider: 'simulator' | 'none';
  symbols: readonly string[];
  simulatorIntervalMs: number;
  simulatorSeed: number;
  serverUrl: string | undefined;
  publicUrl: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Most rows one grouped ingest statement may carry. */
  ingestBatchMax: number;
}>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment (default `process.env`, after loading `.env` if present). Throws one line per problem. */
export function loadConfig(env: NodeJS.ProcessEnv = readEnvironment()): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const value = env[name];
      const shown = value === undefined || /TOKEN|SECRET|PASSWORD|URL/.test(name) ? '' : ` (got '${value}')`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    ingestToken: e.INGEST_TOKEN,
    marketDataProvider: e.MARKET_DATA_PROVIDER,
    symbols: Object.freeze(e.SYMBOLS),
    simulatorIntervalMs: e.SIMULATOR_INTERVAL_MS,
    simulatorSeed: e.SIMULATOR_SEED,
    serverUrl: e.SERVER_URL,
    publicUrl: e.PUBLIC_URL,
    logLevel: e.LOG_LEVEL,
    ingestBatchMax: e.INGEST_BATCH_MAX,
  });
}

function readEnvironment(): NodeJS.ProcessEnv {
  // Variables already set win over `.env`, as with dotenv.
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}
