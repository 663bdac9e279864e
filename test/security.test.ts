import { randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACT_PATHS } from '../src/logger.ts';
import { createTestApp, REDIS_URL, type TestApp } from './helpers/runtime.ts';
import { cookiesOf, SAME_ORIGIN, signUp, uniqueEmail, withToken } from './helpers/users.ts';

/** A client address of its own per run, so that counters left in Redis by an earlier run do not count. */
const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

describe('rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('pglite', {
      env: {
        RATE_LIMIT_PER_MINUTE: '5',
        AUTH_RATE_LIMIT_PER_MINUTE: '3',
        INGEST_RATE_LIMIT_PER_MINUTE: '8',
        TRUST_PROXY: 'true',
      },
    });
  });
  afterAll(() => t.close());

  const from = (ip: string, headers: Record<string, string> = {}) => ({ 'x-forwarded-for': ip, ...headers });

  it('allows RATE_LIMIT_PER_MINUTE requests per client IP, then answers 429 with Retry-After as a problem', async () => {
    const ip = randomIp();
    for (let i = 0; i < 5; i++)
      expect((await t.app.inject({ url: '/auth/setup', headers: from(ip) })).statusCode).toBe(200);
    const limited = await t.app.inject({ url: '/auth/setup', headers: from(ip) });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(limited.json()).toMatchObject({ status: 429, title: 'Too many requests' });
    // Another client is not affected, and /health and /ready never count.
    expect((await t.app.inject({ url: '/auth/setup', headers: from(randomIp()) })).statusCode).toBe(200);
    for (let i = 0; i < 10; i++) {
      expect((await t.app.inject({ url: '/health', headers: from(ip) })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/ready', headers: from(ip) })).statusCode).toBe(200);
    }
  });

  it('rate limits wrong passwords much more strictly; the right one waits too', async () => {
    const ip = randomIp();
    const user = await signUp(t.app);
    const attempt = (password: string) =>
      t.app.inject({
        method: 'POST',
        url: '/auth/sign-in/email',
        headers: from(ip),
        payload: { email: user.email, password },
      });
    for (let i = 0; i < 3; i++) expect((await attempt(`wrong-${i}-password`)).statusCode).toBe(401);
    const limited = await attempt('wrong-again-password');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await attempt(user.password)).statusCode).toBe(429);
  });

  it('counts requests with the ingest token against INGEST_RATE_LIMIT_PER_MINUTE instead', async () => {
    const ip = randomIp();
    const ingest = from(ip, { authorization: `Bearer ${t.ingestToken}` });
    const price = (i: number) => ({
      symbol: 'RL',
      timestamp: `2025-04-12T10:0${i}:00Z`,
      price: 1,
      volume: 1,
    });
    for (let i = 0; i < 8; i++)
      expect(
        (await t.app.inject({ method: 'POST', url: '/stocks', headers: ingest, payload: price(i) }))
          .statusCode,
      ).toBe(201);
    expect(
      (await t.app.inject({ method: 'POST', url: '/stocks', headers: ingest, payload: price(9) })).statusCode,
    ).toBe(429);
    // The same IP without the token still has its own, separate budget.
    expect((await t.app.inject({ url: '/auth/setup', headers: from(ip) })).statusCode).toBe(200);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY is set', async () => {
    const direct = await createTestApp('pglite', { env: { RATE_LIMIT_PER_MINUTE: '2' } });
    try {
      // Two different forged addresses, one real client: one budget.
      expect((await direct.app.inject({ url: '/auth/setup', headers: from(randomIp()) })).statusCode).toBe(
        200,
      );
      expect((await direct.app.inject({ url: '/auth/setup', headers: from(randomIp()) })).statusCode).toBe(
        200,
      );
      expect((await direct.app.inject({ url: '/auth/setup', headers: from(randomIp()) })).statusCode).toBe(
        429,
      );
    } finally {
      await direct.close();
    }
  });
});

describe('two servers sharing one Redis', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const env = { REDIS_URL, RATE_LIMIT_PER_MINUTE: '6', TRUST_PROXY: 'true' };
    // One after the other: two PGlite instances starting at once can starve each other's plugins.
    a = await createTestApp('pglite', { env });
    b = await createTestApp('pglite', { env });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('enforce one combined limit', async () => {
    const headers = { 'x-forwarded-for': randomIp() };
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await (i % 2 ? b : a).app.inject({ url: '/auth/setup', headers })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
  });
});

describe('configuration', () => {
  it('PUBLIC_PRICES=true lets anonymous callers read prices', async () => {
    const t = await createTestApp('pglite', { env: { PUBLIC_PRICES: 'true' } });
    try {
      expect((await t.app.inject({ url: '/stocks' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('PUBLIC_URL=https:// makes the session cookie Secure (and __Secure- prefixed) and sends HSTS', async () => {
    const t = await createTestApp('pglite', { env: { PUBLIC_URL: 'https://stocks.example.com' } });
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/sign-up/email',
        headers: { origin: 'https://stocks.example.com' },
        payload: { email: uniqueEmail(), password: 'password-1' },
      });
      expect(res.statusCode).toBe(200);
      const cookie = String(res.headers['set-cookie']);
      expect(cookie).toMatch(/^__Secure-stockwatch\.session_token=/);
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).toContain('HttpOnly');
      const headers = { cookie: cookiesOf(res.headers['set-cookie']) };
      expect((await t.app.inject({ url: '/me', headers })).statusCode).toBe(200);
      expect(String(res.headers['strict-transport-security'])).toContain('max-age=31536000');
      // With PUBLIC_URL set, only its origin is ours.
      const local = await t.app.inject({
        method: 'POST',
        url: '/tokens',
        headers: { ...headers, origin: 'http://localhost' },
        payload: { name: 'x' },
      });
      expect(local.statusCode).toBe(403);
    } finally {
      await t.close();
    }
  });

  it('ALLOW_SIGN_UP=false still lets the first account be created, then refuses sign-up', async () => {
    const t = await createTestApp('pglite', { env: { ALLOW_SIGN_UP: 'false' } });
    try {
      expect((await t.app.inject({ url: '/auth/setup' })).json()).toMatchObject({
        needs_setup: true,
        sign_up: true,
      });
      await signUp(t.app);
      expect((await t.app.inject({ url: '/auth/setup' })).json()).toMatchObject({ sign_up: false });
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/sign-up/email',
        payload: { email: uniqueEmail(), password: 'password-1' },
      });
      expect(res.statusCode).toBe(403);
    } finally {
      await t.close();
    }
  });

  it('CORS_ORIGINS opens CORS to those origins only, without credentials', async () => {
    const t = await createTestApp('pglite', { env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const preflight = (origin: string) =>
        t.app.inject({
          method: 'OPTIONS',
          url: '/tokens',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization',
          },
        });
      const ok = await preflight('https://app.example.com');
      expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(ok.headers['access-control-allow-credentials']).toBeUndefined();
      expect(
        (await preflight('https://evil.example')).headers['access-control-allow-origin'],
      ).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

describe('logs', () => {
  it('never contain a password, token or cookie value from a sign-up, sign-in and token flow', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    // The production logger's redaction, at the most verbose level, with errors logged too.
    const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    const t = await createTestApp('pglite', { logger });
    try {
      const user = await signUp(t.app);
      const signIn = await t.app.inject({
        method: 'POST',
        url: '/auth/sign-in/email',
        payload: { email: user.email, password: user.password },
      });
      const sessionCookie = cookiesOf(signIn.headers['set-cookie']);
      const caller = await withToken(t.app, user);
      const token = caller.headers.authorization!.slice('Bearer '.length);
      await t.app.inject({ url: '/me', headers: caller.headers });
      await t.app.inject({ url: '/me', headers: { cookie: sessionCookie } });
      await t.app.inject({
        method: 'POST',
        url: '/auth/sign-out',
        headers: { cookie: sessionCookie, origin: SAME_ORIGIN },
      });
      // Failures log more: a wrong password, a revoked-looking token, a forged cross-site write.
      await t.app.inject({
        method: 'POST',
        url: '/auth/sign-in/email',
        payload: { email: user.email, password: `${user.password}-wrong` },
      });
      await t.app.inject({ url: '/me', headers: { authorization: `Bearer ${token}x` } });
      await t.app.inject({
        method: 'POST',
        url: '/tokens',
        headers: { cookie: user.headers.cookie!, origin: 'https://evil.example' },
        payload: { name: 'x' },
      });
      await t.app.inject({
        method: 'POST',
        url: '/stocks',
        headers: { authorization: `Bearer ${t.ingestToken}` },
        payload: {},
      });

      const log = lines.join('');
      expect(lines.length).toBeGreaterThan(5);
      const secrets = [
        user.password,
        token,
        t.ingestToken,
        t.runtime.secrets.authSecret,
        ...[sessionCookie, user.headers.cookie!].flatMap((c) => c.split('=').slice(1).join('=').split('.')),
      ];
      for (const secret of secrets) expect(log, 'a secret reached the log').not.toContain(secret);
    } finally {
      await t.close();
    }
  });
});
