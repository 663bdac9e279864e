import { pino } from 'pino';
import type { Config } from './config.ts';

/** Paths whose values must never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.ingestToken',
  '*.secret',
  '*.apiKey',
  // Accounts: operator and OAuth credentials, wherever a header or body object ends up in a log line.
  'req.headers["x-operator-token"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  '*.headers["x-operator-token"]',
  '*.body.password',
  '*.body.token',
  '*.*.password',
  '*.*.token',
  '*.authSecret',
  '*.operatorToken',
  '*.clientSecret',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.sessionToken',
];

export function createLogger(config: Pick<Config, 'logLevel'>) {
  return pino({ level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}
