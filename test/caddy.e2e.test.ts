import http from 'node:http';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaddy } from './helpers/caddy.ts';
import { freePort } from './helpers/process.ts';
import { createTestApp, type TestApp } from './helpers/runtime.ts';
import { cookiesOf } from './helpers/users.ts';

/**
 * The real deploy/Caddyfile, run by the real Caddy on high ports with `tls internal`, in front of a
 * server that trusts Caddy's address only. The test client connects from 127.0.0.2, Caddy from
 * 127.0.0.1: the address the server records must be the client's, not Caddy's, nor a forged one.
 */
const CLIENT_ADDRESS = '127.0.0.2';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  module: typeof http | typeof https,
  url: string,
  options: https.RequestOptions & { body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = module.request(url, { localAddress: CLIENT_ADDRESS, ...options }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('HTTPS through Caddy (deploy/Caddyfile)', () => {
  let t: TestApp;
  let caddy: Awaited<ReturnType<typeof startCaddy>>;
  let httpPort: number;
  let httpsPort: number;
  let ca: Buffer;

  beforeAll(async () => {
    [httpPort, httpsPort] = [await freePort(), await freePort()];
    t = await createTestApp('pglite', {
      env: { TRUST_PROXY: '127.0.0.1', PUBLIC_URL: `https://localhost:${httpsPort}` },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const appPort = (t.app.server.address() as { port: number }).port;

    caddy = await startCaddy({
      upstream: `127.0.0.1:${appPort}`,
      httpPort,
      httpsPort,
      env: { DOMAIN: 'localhost' },
      timeoutMs: 30_000,
    });
    ca = caddy.ca;
  });

  afterAll(async () => {
    await caddy?.stop();
    await t?.close();
  });

  it('serves HTTPS with a certificate from its internal CA, and HSTS', async () => {
    const res = await request(https, `https://localhost:${httpsPort}/health`, { ca });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    expect(res.headers['strict-transport-security']).toContain('max-age=31536000');
  });

  it('redirects HTTP to HTTPS', async () => {
    const res = await request(http, `http://127.0.0.1:${httpPort}/stocks?x=1`, {
      headers: { host: 'localhost' },
    });
    expect([301, 302, 307, 308]).toContain(res.status);
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe(`https://localhost:${httpsPort}/stocks?x=1`);
  });

  it("passes the caller's address to the server, and discards one the caller made up", async () => {
    const body = JSON.stringify({ email: 'caddy@example.com', password: 'through-caddy-1' });
    const signUp = await request(https, `https://localhost:${httpsPort}/auth/sign-up/email`, {
      ca,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: `https://localhost:${httpsPort}`,
        'x-forwarded-for': '203.0.113.66',
      },
      body,
    });
    expect(signUp.status, signUp.body).toBe(200);
    // Secure cookies, since PUBLIC_URL is https.
    expect(String(signUp.headers['set-cookie'])).toContain('__Secure-stockwatch.session_token=');
    const session = await request(https, `https://localhost:${httpsPort}/auth/get-session`, {
      ca,
      headers: { cookie: cookiesOf(signUp.headers['set-cookie']) },
    });
    expect(session.status).toBe(200);
    expect(JSON.parse(session.body).session.ipAddress).toBe(CLIENT_ADDRESS);
  });
});
