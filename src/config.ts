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

const bool = (fallback: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0'], { message: 'expected true or false' })
      .transform((v) => v === 'true' || v === '1')
      .default(fallback),
  );
const secret = z.preprocess(
  emptyToUndefined,
  z.string().min(32, 'must be at least 32 characters').optional(),
);

/** A duration such as `15m`, `90s`, `2h` or `500ms`; a bare number is seconds. Returns milliseconds. */
const duration = (fallback: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default(fallback)
      .refine((v) => /^\d+(\.\d+)?(ms|s|m|h)?$/.test(v.trim()), {
        message: 'expected a duration such as 15m, 90s or 2h',
      })
      .transform((v) => {
        const [, n, unit = 's'] = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim())!;
        return Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
      }),
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
  MARKET_DATA_PROVIDER: z.preprocess(
    emptyToUndefined,
    z.enum(['simulator', 'alphavantage', 'csv', 'none']).default('simulator'),
  ),
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
  // Market data client (src/market-data).
  ALPHAVANTAGE_API_KEY: z.preprocess(emptyToUndefined, z.string().optional()),
  ALPHAVANTAGE_BASE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), {
        message: 'expected an http(s) URL',
      })
      .refine((v) => !/\/query\/*$/.test(v), {
        message: 'expected the origin only: the client appends /query',
      })
      .default('https://www.alphavantage.co'),
  ),
  ALPHAVANTAGE_ENTITLEMENT: z.preprocess(emptyToUndefined, z.enum(['realtime', 'delayed']).optional()),
  ALPHAVANTAGE_CALLS_PER_MINUTE: z.preprocess(emptyToUndefined, int(1, 100_000).default(5)),
  ALPHAVANTAGE_CALLS_PER_DAY: z.preprocess(
    emptyToUndefined,
    z
      .union([z.literal('unlimited'), int(1, 100_000_000)], {
        error: "expected a whole number of at least 1, or 'unlimited'",
      })
      .default(25),
  ),
  MARKET_HOURS: z.preprocess(emptyToUndefined, z.enum(['regular', 'extended', 'always']).default('regular')),
  // Clients sharing symbols and quota through REDIS_URL (src/market-data/sharing).
  CLIENT_GROUP: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,50}$/, 'expected 1-50 of A-Z a-z 0-9 . _ -')
      .default('default'),
  ),
  CLIENT_HEARTBEAT_INTERVAL: duration('5s').refine((ms) => ms >= 100 && ms <= 600_000, {
    message: 'expected between 100ms and 10m',
  }),
  CSV_FILE: z.preprocess(emptyToUndefined, z.string().optional()),
  CSV_SPEED: z.preprocess(emptyToUndefined, z.coerce.number().positive().max(10_000).default(60)),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  PUBLIC_URL: url(['http:', 'https:']),
  INGEST_BATCH_MAX: z.preprocess(emptyToUndefined, int(1, 10_000).default(10_000)),
  // Notifications and their delivery (src/notifications, src/alerts).
  ALERT_MAX_PRICE_AGE: duration('15m'),
  NOTIFICATIONS_PER_USER: z.preprocess(emptyToUndefined, int(1, 1_000_000).default(1000)),
  SMTP_URL: url(['smtp:', 'smtps:']),
  EMAIL_TRANSPORT: z.preprocess(emptyToUndefined, z.enum(['smtp', 'ses', 'mailbox']).optional()),
  EMAIL_FROM: z.preprocess(emptyToUndefined, z.string().default('Stockwatch <alerts@stockwatch.localhost>')),
  AWS_REGION: z.preprocess(emptyToUndefined, z.string().optional()),
  AWS_ENDPOINT_URL_SESV2: url(['http:', 'https:']),
  WEBHOOK_ALLOW_PRIVATE: bool(false),
  TELEGRAM_API_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), {
        message: 'expected an http(s) URL',
      })
      .default('https://api.telegram.org'),
  ),
  NOTIFIER_SWEEP_INTERVAL: duration('2s'),
  DELIVERY_LEASE: duration('30s'),
  DELIVERY_RETRY_BACKOFF: duration('2s'),
  // Operations (src/metrics, src/shutdown.ts, src/prices/retention.ts).
  METRICS_TOKEN: z.preprocess(
    emptyToUndefined,
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  METRICS_PORT: z.preprocess(emptyToUndefined, int(1, 65535).optional()),
  SHUTDOWN_TIMEOUT: duration('10s'),
  RETENTION_DAYS: z.preprocess(emptyToUndefined, int(0, 36_500).default(90)),
  RETENTION_INTERVAL: duration('1h'),
  // Accounts and security (src/auth, src/http/security.ts).
  BETTER_AUTH_SECRET: secret,
  AUTH_SECRET: secret,
  GOOGLE_CLIENT_ID: z.preprocess(emptyToUndefined, z.string().optional()),
  GOOGLE_CLIENT_SECRET: z.preprocess(emptyToUndefined, z.string().optional()),
  GOOGLE_ISSUER_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), {
        message: 'expected an http(s) URL',
      })
      .default('https://accounts.google.com'),
  ),
  PUBLIC_PRICES: bool(false),
  ALLOW_SIGN_UP: bool(true),
  RATE_LIMIT_PER_MINUTE: z.preprocess(emptyToUndefined, int(1, 1_000_000).default(100)),
  AUTH_RATE_LIMIT_PER_MINUTE: z.preprocess(emptyToUndefined, int(1, 1_000_000).default(10)),
  INGEST_RATE_LIMIT_PER_MINUTE: z.preprocess(emptyToUndefined, int(1, 10_000_000).default(60_000)),
  TRUST_PROXY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((v): boolean | number | string[] =>
        /^(true|false)$/i.test(v)
          ? v.toLowerCase() === 'true'
          : /^\d+$/.test(v)
            ? Number(v)
            : v
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean),
      )
      .default(false),
  ),
  CORS_ORIGINS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim().replace(/\/+$/, ''))
          .filter(Boolean),
      )
      .refine((list) => list.every((o) => URL.canParse(o) && new URL(o).origin === o), {
        message: 'expected a comma-separated list of origins such as https://app.example.com',
      })
      .default([]),
  ),
});

/** Every variable the schema reads: deploy files are checked against it (test/deploy.test.ts). */
export const ENV_VARIABLES: readonly string[] = Object.freeze(Object.keys(envSchema.shape));

export type Config = Readonly<{
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  ingestToken: string | undefined;
  marketDataProvider: 'simulator' | 'alphavantage' | 'csv' | 'none';
  symbols: readonly string[];
  simulatorIntervalMs: number;
  simulatorSeed: number;
  serverUrl: string | undefined;
  alphaVantage: {
    apiKey: string | undefined;
    /** Origin; the client appends `/query`. */
    baseUrl: string;
    /** Set for premium keys: prices then come from REALTIME_BULK_QUOTES. */
    entitlement: 'realtime' | 'delayed' | undefined;
    callsPerMinute: number;
    /** `Infinity` for plans without a daily cap. */
    callsPerDay: number;
  };
  /** When the client spends provider quota: `regular` (09:30-16:00 New York), `extended` (04:00-20:00), `always`. */
  marketHours: 'regular' | 'extended' | 'always';
  /**
   * With REDIS_URL, clients of one `group` split SYMBOLS between them (each alive client heartbeats every
   * `heartbeatMs`, and is forgotten three heartbeats after its last); the quota is shared per API key.
   */
  clientSharing: { group: string; heartbeatMs: number };
  /** CSV replay: the file (absolute) and the speed multiplier. */
  csv: { file: string | undefined; speed: number };
  publicUrl: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Most rows one grouped ingest statement may carry. */
  ingestBatchMax: number;
  /** Prices older than this are stored but never fire. */
  alertMaxPriceAgeMs: number;
  notificationsPerUser: number;
  email:
    | { kind: 'smtp'; url: string; from: string }
    | { kind: 'ses'; from: string; region?: string; endpoint?: string }
    | { kind: 'mailbox' };
  webhookAllowPrivate: boolean;
  /** The Bot API origin; the Telegram channel appends `/bot<token>/sendMessage`. */
  telegramApiUrl: string;
  notifier: { sweepMs: number; leaseMs: number; backoffMs: number };
  /**
   * `GET /metrics`: with `token` set it wants `Authorization: Bearer <token>`. `port`: a listener of its
   * own with /health and /metrics in every role (the notifier and the client have no API listener).
   */
  metrics: { token: string | undefined; port: number | undefined };
  /** How long a role may take to stop on SIGTERM before it is forced to exit. */
  shutdownTimeoutMs: number;
  /** Minute prices older than `days` are rolled up into hourly bars (0: kept forever), every `intervalMs`. */
  retention: { days: number; intervalMs: number };
  /** BETTER_AUTH_SECRET or AUTH_SECRET; unset: generated once into DATA_DIR. */
  authSecret: string | undefined;
  /** Sign-in with Google (any OpenID provider at `issuerUrl`), when both client id and secret are set. */
  google: { clientId: string; clientSecret: string; issuerUrl: string } | undefined;
  /** Lets anonymous callers read prices. */
  publicPrices: boolean;
  /** Lets anyone sign up; the first account can always be created. */
  allowSignUp: boolean;
  rateLimitPerMinute: number;
  authRateLimitPerMinute: number;
  ingestRateLimitPerMinute: number;
  /** Fastify's trustProxy: true, a hop count, or the proxies' addresses / CIDR ranges. */
  trustProxy: boolean | number | string[];
  corsOrigins: readonly string[];
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
      const shown =
        value === undefined || /TOKEN|SECRET|PASSWORD|URL|KEY/.test(name) ? '' : ` (got '${value}')`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  requireProviderSettings(e.MARKET_DATA_PROVIDER, e.ALPHAVANTAGE_API_KEY, e.CSV_FILE);
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
    alphaVantage: {
      apiKey: e.ALPHAVANTAGE_API_KEY,
      baseUrl: e.ALPHAVANTAGE_BASE_URL,
      entitlement: e.ALPHAVANTAGE_ENTITLEMENT,
      callsPerMinute: e.ALPHAVANTAGE_CALLS_PER_MINUTE,
      callsPerDay:
        e.ALPHAVANTAGE_CALLS_PER_DAY === 'unlimited'
          ? Number.POSITIVE_INFINITY
          : e.ALPHAVANTAGE_CALLS_PER_DAY,
    },
    marketHours: e.MARKET_HOURS,
    clientSharing: { group: e.CLIENT_GROUP, heartbeatMs: e.CLIENT_HEARTBEAT_INTERVAL },
    csv: { file: e.CSV_FILE && path.resolve(e.CSV_FILE), speed: e.CSV_SPEED },
    publicUrl: e.PUBLIC_URL,
    logLevel: e.LOG_LEVEL,
    ingestBatchMax: e.INGEST_BATCH_MAX,
    alertMaxPriceAgeMs: e.ALERT_MAX_PRICE_AGE,
    notificationsPerUser: e.NOTIFICATIONS_PER_USER,
    email: emailConfig(e),
    webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
    telegramApiUrl: e.TELEGRAM_API_URL.replace(/\/+$/, ''),
    notifier: {
      sweepMs: e.NOTIFIER_SWEEP_INTERVAL,
      leaseMs: e.DELIVERY_LEASE,
      backoffMs: e.DELIVERY_RETRY_BACKOFF,
    },
    metrics: { token: e.METRICS_TOKEN, port: e.METRICS_PORT },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
    retention: { days: e.RETENTION_DAYS, intervalMs: e.RETENTION_INTERVAL },
    authSecret: e.BETTER_AUTH_SECRET ?? e.AUTH_SECRET,
    google: googleConfig(e.GOOGLE_CLIENT_ID, e.GOOGLE_CLIENT_SECRET, e.GOOGLE_ISSUER_URL),
    publicPrices: e.PUBLIC_PRICES,
    allowSignUp: e.ALLOW_SIGN_UP,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    authRateLimitPerMinute: e.AUTH_RATE_LIMIT_PER_MINUTE,
    ingestRateLimitPerMinute: e.INGEST_RATE_LIMIT_PER_MINUTE,
    trustProxy: e.TRUST_PROXY,
    corsOrigins: Object.freeze(e.CORS_ORIGINS),
  });
}

function googleConfig(clientId: string | undefined, clientSecret: string | undefined, issuerUrl: string) {
  if (!clientId && !clientSecret) return undefined;
  if (!clientId || !clientSecret)
    throw new ConfigError(
      'Invalid configuration: set both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, or neither',
    );
  return { clientId, clientSecret, issuerUrl: issuerUrl.replace(/\/+$/, '') };
}

/** SMTP when SMTP_URL is set, SES when asked for, otherwise the built-in mailbox. */
function emailConfig(e: z.output<typeof envSchema>): Config['email'] {
  const kind = e.EMAIL_TRANSPORT ?? (e.SMTP_URL ? 'smtp' : 'mailbox');
  if (kind === 'smtp') {
    if (!e.SMTP_URL) throw new ConfigError('Invalid configuration: EMAIL_TRANSPORT=smtp needs SMTP_URL');
    return { kind, url: e.SMTP_URL, from: e.EMAIL_FROM };
  }
  if (kind === 'ses')
    return {
      kind,
      from: e.EMAIL_FROM,
      ...(e.AWS_REGION && { region: e.AWS_REGION }),
      ...(e.AWS_ENDPOINT_URL_SESV2 && { endpoint: e.AWS_ENDPOINT_URL_SESV2 }),
    };
  return { kind: 'mailbox' };
}

/** The chosen market-data provider cannot start without these; say which one is missing, in one line. */
function requireProviderSettings(provider: string, apiKey: string | undefined, csvFile: string | undefined) {
  if (provider === 'alphavantage' && !apiKey)
    throw new ConfigError(
      'Invalid configuration: ALPHAVANTAGE_API_KEY must be set when MARKET_DATA_PROVIDER=alphavantage ' +
        '(a free key: https://www.alphavantage.co/support/#api-key)',
    );
  if (provider === 'csv' && !csvFile)
    throw new ConfigError('Invalid configuration: CSV_FILE must be set when MARKET_DATA_PROVIDER=csv');
}

function readEnvironment(): NodeJS.ProcessEnv {
  // Variables already set win over `.env`, as with dotenv.
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}
