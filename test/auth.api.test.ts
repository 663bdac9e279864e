import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';
import { type Caller, cookiesOf, SAME_ORIGIN, signUp, uniqueEmail, withToken } from './helpers/users.ts';

describe.each(BACKENDS)('accounts and tokens on %s', (backend) => {
  let t: TestApp;
  let admin: Caller & { password: string };

  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  const inject = (method: string, url: string, headers: Record<string, string> = {}, payload?: unknown) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload !== undefined && { payload: payload as object }),
    });

  describe('first run', () => {
    it('says setup is needed, makes the first account admin and every later one a user', async () => {
      expect((await inject('GET', '/auth/setup')).json()).toEqual({
        needs_setup: true,
        sign_up: true,
        providers: ['email'],
      });
      admin = await signUp(t.app, { name: 'Admin' });
      const other = await signUp(t.app);
      expect((await inject('GET', '/auth/setup')).json()).toMatchObject({ needs_setup: false });
      expect((await inject('GET', '/me', admin.headers)).json()).toMatchObject({
        id: admin.id,
        name: 'Admin',
        role: 'admin',
      });
      expect((await inject('GET', '/me', other.headers)).json()).toMatchObject({ role: 'user' });
    });
  });

  describe('sign-up and sign-in', () => {
    it('sets an httpOnly, SameSite=Lax session cookie (not Secure over plain HTTP)', async () => {
      const res = await inject(
        'POST',
        '/auth/sign-up/email',
        {},
        { email: uniqueEmail(), password: 'password-1' },
      );
      expect(res.statusCode).toBe(200);
      const cookie = String(res.headers['set-cookie']);
      expect(cookie).toMatch(/^stockwatch\.session_token=/);
      expect(cookie).toContain('HttpOnly');
      expect(cookie).toContain('SameSite=Lax');
      expect(cookie).not.toContain('Secure');
    });

    it('rejects unknown fields (a client cannot set its role), wrong types and short passwords with 422', async () => {
      for (const body of [
        { email: uniqueEmail(), password: 'password-1', role: 'admin' },
        { email: uniqueEmail(), password: 12345678 },
        { email: 'not-an-email', password: 'password-1' },
        { email: uniqueEmail(), password: 'short' },
      ]) {
        const res = await inject('POST', '/auth/sign-up/email', {}, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(422);
        expect(res.json()).toMatchObject({ status: 422, title: 'Invalid request' });
      }
    });

    it('refuses a second account with the same email, as a problem document', async () => {
      const res = await inject(
        'POST',
        '/auth/sign-up/email',
        {},
        { email: admin.email, password: 'password-2' },
      );
      expect(res.statusCode).toBe(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
    });

    it('signs in with the right password only', async () => {
      const wrong = await inject(
        'POST',
        '/auth/sign-in/email',
        {},
        { email: admin.email, password: 'nope-nope' },
      );
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json()).toMatchObject({ status: 401, detail: 'Invalid email or password' });
      const right = await inject(
        'POST',
        '/auth/sign-in/email',
        {},
        { email: admin.email, password: admin.password },
      );
      expect(right.statusCode).toBe(200);
      const me = await inject('GET', '/me', { cookie: cookiesOf(right.headers['set-cookie']) });
      expect(me.json().id).toBe(admin.id);
    });

    it('ends the session on the server at sign-out: the old cookie no longer works', async () => {
      const user = await signUp(t.app);
      expect((await inject('GET', '/me', user.headers)).statusCode).toBe(200);
      const out = await inject('POST', '/auth/sign-out', user.headers);
      expect(out.statusCode).toBe(200);
      expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
      // The browser would drop the cookie; a copy kept by anyone else is dead too.
      expect((await inject('GET', '/me', user.headers)).statusCode).toBe(401);
      expect((await inject('GET', '/auth/get-session', user.headers)).json()).toBeNull();
    });
  });

  describe('API tokens', () => {
    it('shows a token once, stores only its hash, and lets it act as its owner', async () => {
      const created = await inject('POST', '/tokens', admin.headers, { name: 'laptop' });
      expect(created.statusCode).toBe(201);
      const { token, id, prefix } = created.json();
      expect(token).toMatch(/^sw_[A-Za-z0-9_-]{43}$/);
      expect(token.startsWith(prefix)).toBe(true);
      const listed = (await inject('GET', '/tokens', admin.headers)).json().data;
      expect(listed.find((x: { id: string }) => x.id === id)).toMatchObject({ name: 'laptop', prefix });
      expect(JSON.stringify(listed)).not.toContain(token);
      const stored = await t.runtime.database.db.execute(
        // biome-ignore lint/suspicious/noExplicitAny: raw SQL in a test
        `SELECT token_hash FROM api_tokens WHERE id = '${id}'` as any,
      );
      expect(JSON.stringify(stored)).not.toContain(token);

      const bearer = { authorization: `Bearer ${token}` };
      expect((await inject('GET', '/me', bearer)).json().id).toBe(admin.id);
      expect((await inject('GET', '/stocks', bearer)).statusCode).toBe(200);
      expect((await inject('GET', `/tokens/${id}`, bearer)).json().last_used_at).not.toBeNull();
    });

    it('revocation takes effect on the very next request', async () => {
      const caller = await withToken(t.app, admin, 'short-lived');
      expect((await inject('GET', '/me', caller.headers)).statusCode).toBe(200);
      const id = (await inject('GET', '/tokens', admin.headers)).json().data[0].id;
      expect((await inject('DELETE', `/tokens/${id}`, admin.headers)).statusCode).toBe(204);
      const after = await inject('GET', '/me', caller.headers);
      expect(after.statusCode).toBe(401);
      expect(after.json()).toMatchObject({ status: 401, detail: 'Invalid or revoked API token' });
    });

    it('answers 401 for an unknown token on any route, and 401 for anonymous user endpoints', async () => {
      const bad = { authorization: `Bearer sw_${'x'.repeat(43)}` };
      expect((await inject('GET', '/tokens', bad)).statusCode).toBe(401);
      expect((await inject('GET', '/tokens')).statusCode).toBe(401);
      expect((await inject('POST', '/tokens', {}, { name: 'x' })).statusCode).toBe(401);
      expect((await inject('GET', '/me')).statusCode).toBe(401);
    });

    it('validates the token name strictly', async () => {
      for (const body of [{}, { name: '' }, { name: 7 }, { name: 'ok', user_id: admin.id }]) {
        const res = await inject('POST', '/tokens', admin.headers, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(422);
      }
    });
  });

  describe('prices', () => {
    it('needs a user or a token to read, and takes the ingest token only to write', async () => {
      expect((await inject('GET', '/stocks')).statusCode).toBe(401);
      expect((await inject('GET', '/stocks/AAPL')).statusCode).toBe(401);
      expect((await inject('GET', '/stocks', admin.headers)).statusCode).toBe(200);
      const caller = await withToken(t.app, admin);
      const price = { symbol: 'AUTHZ', timestamp: '2025-04-12T10:00:00Z', price: 1, volume: 1 };
      expect((await inject('POST', '/stocks', caller.headers, price)).statusCode).toBe(401);
      expect((await inject('POST', '/stocks', admin.headers, price)).statusCode).toBe(401);
      const ingest = { authorization: `Bearer ${t.ingestToken}` };
      expect((await inject('POST', '/stocks', ingest, price)).statusCode).toBe(201);
      // The ingest token is not a user: it cannot read as one.
      expect((await inject('GET', '/stocks/AUTHZ', ingest)).statusCode).toBe(401);
      expect(
        (await inject('GET', '/stocks/AUTHZ?start_time=2025-04-12T00:00:00Z', caller.headers)).statusCode,
      ).toBe(200);
    });
  });

  describe('CSRF', () => {
    it('refuses cookie-authenticated writes from another origin or without Origin, accepts same-origin ones', async () => {
      const { cookie } = admin.headers as { cookie: string };
      const cases: Array<[Record<string, string>, number]> = [
        [{ cookie, origin: 'https://evil.example' }, 403],
        [{ cookie, origin: 'http://localhost:8080' }, 403],
        [{ cookie }, 403],
        [{ cookie, 'sec-fetch-site': 'cross-site' }, 403],
        [{ cookie, origin: SAME_ORIGIN }, 201],
        [{ cookie, origin: 'http://127.0.0.1' }, 201],
        [{ cookie, 'sec-fetch-site': 'same-origin' }, 201],
      ];
      for (const [headers, status] of cases) {
        const res = await inject('POST', '/tokens', headers, { name: 'csrf' });
        expect(res.statusCode, JSON.stringify(headers)).toBe(status);
      }
      // Sign-out is a cookie write too.
      expect(
        (await inject('POST', '/auth/sign-out', { cookie, origin: 'https://evil.example' })).statusCode,
      ).toBe(403);
      expect((await inject('GET', '/me', admin.headers)).statusCode).toBe(200);
    });

    it('refuses a sign-in posted from another site (login CSRF); bearer requests need no Origin', async () => {
      const res = await inject(
        'POST',
        '/auth/sign-in/email',
        { origin: 'https://evil.example' },
        { email: admin.email, password: admin.password },
      );
      expect(res.statusCode).toBe(403);
      const caller = await withToken(t.app, admin);
      expect((await inject('POST', '/tokens', caller.headers, { name: 'no-origin' })).statusCode).toBe(201);
    });
  });

  describe('the contract', () => {
    it('documents every auth route in /openapi.json with its request and response schema', async () => {
      const doc = (await inject('GET', '/openapi.json')).json();
      for (const [path, method] of [
        ['/auth/sign-up/email', 'post'],
        ['/auth/sign-in/email', 'post'],
        ['/auth/sign-out', 'post'],
        ['/tokens', 'post'],
        ['/operator/users', 'post'],
        ['/operator/tokens', 'post'],
      ] as const) {
        expect(doc.paths[path]?.[method]?.requestBody, `${method} ${path}`).toBeDefined();
        expect(doc.paths[path][method].responses, `${method} ${path}`).toBeDefined();
      }
      for (const path of ['/auth/setup', '/auth/get-session', '/me', '/tokens', '/tokens/{id}'])
        expect(doc.paths[path]?.get?.responses?.['200'], path).toBeDefined();
      expect(doc.paths['/tokens/{id}'].delete).toBeDefined();
      expect(
        doc.paths['/auth/sign-up/email'].post.responses['200'].content['application/json'].schema,
      ).toBeDefined();
    });

    it('sends security headers with a CSP the dashboard passes, and no CORS headers by default', async () => {
      const res = await inject('GET', '/health', { origin: 'https://elsewhere.example' });
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });
  });
});
