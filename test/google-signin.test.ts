import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/process.ts';
import { createTestApp, type TestApp } from './helpers/runtime.ts';
import { cookiesOf } from './helpers/users.ts';

/**
 * Sign-in with Google is standard OpenID Connect, so a real OpenID provider (oidc-provider, certified
 * by the OpenID Foundation) stands in for Google: discovery, authorization code with PKCE and nonce,
 * token exchange, an RS256-signed ID token checked against the provider's JWKS, userinfo. Only its
 * login page is automatic (the person "Grace" signs in at once). Nothing of ours is mocked.
 */
const APP_ORIGIN = 'http://localhost';
const GRACE = { sub: 'google-sub-grace', email: 'grace@example.com', name: 'Grace Hopper' };

async function startOpenIdProvider() {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'stockwatch-test',
        client_secret: 'stockwatch-test-secret-stockwatch-test-secret',
        redirect_uris: [`${APP_ORIGIN}/auth/callback/google`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ ...GRACE, sub, email_verified: true }),
    }),
    cookies: { keys: ['oidc-test-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      Interaction: 600,
      Grant: 600,
      Session: 600,
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
  });
  const callback = provider.callback();
  const server: Server = createServer((req, res) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    // The login and consent page, answered at once: Grace signs in and grants what was asked.
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const grant = new provider.Grant({ accountId: GRACE.sub, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: GRACE.sub }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    })().catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { issuer, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('sign-in with Google (OpenID Connect) against a local OpenID provider', () => {
  let op: Awaited<ReturnType<typeof startOpenIdProvider>>;
  let t: TestApp;

  beforeAll(async () => {
    op = await startOpenIdProvider();
    t = await createTestApp('pglite', {
      env: {
        PUBLIC_URL: APP_ORIGIN,
        GOOGLE_CLIENT_ID: 'stockwatch-test',
        GOOGLE_CLIENT_SECRET: 'stockwatch-test-secret-stockwatch-test-secret',
        GOOGLE_ISSUER_URL: op.issuer,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await op?.close();
  });

  /** What a browser does: start at the app, follow the provider's redirects, come back to the app. */
  async function signInWithGoogle(callbackURL = '/dashboard') {
    const start = await t.app.inject({
      method: 'POST',
      url: '/auth/sign-in/social',
      headers: { origin: APP_ORIGIN },
      payload: { provider: 'google', callbackURL },
    });
    expect(start.statusCode, start.body).toBe(200);
    const appCookies = cookiesOf(start.headers['set-cookie']);
    let url = new URL(start.json().url);
    expect(url.origin).toBe(op.issuer);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('nonce')).toBeTruthy();

    const providerCookies = new Map<string, string>();
    for (let hop = 0; url.origin === op.issuer; hop++) {
      expect(hop).toBeLessThan(10);
      const res = await fetch(url, {
        redirect: 'manual',
        headers: { cookie: [...providerCookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const [name, ...value] = pair!.split('=');
        providerCookies.set(name!, value.join('='));
      }
      expect([302, 303], await res.clone().text()).toContain(res.status);
      url = new URL(res.headers.get('location')!, url);
    }
    expect(url.origin).toBe(APP_ORIGIN);
    return { callback: url, appCookies };
  }

  it('signs Grace in: the provider sends her back, the app sets a session cookie and redirects', async () => {
    const { callback, appCookies } = await signInWithGoogle();
    const back = await t.app.inject({
      url: `${callback.pathname}${callback.search}`,
      headers: { cookie: appCookies },
    });
    expect(back.statusCode).toBe(302);
    expect(back.headers.location).toBe('/dashboard');
    const session = cookiesOf(back.headers['set-cookie']);
    expect(session).toContain('stockwatch.session_token=');
    const me = await t.app.inject({ url: '/me', headers: { cookie: session } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ email: GRACE.email, name: GRACE.name, role: 'admin' });

    // Signing in again finds the same account.
    const again = await signInWithGoogle();
    const second = await t.app.inject({
      url: `${again.callback.pathname}${again.callback.search}`,
      headers: { cookie: again.appCookies },
    });
    const me2 = await t.app.inject({
      url: '/me',
      headers: { cookie: cookiesOf(second.headers['set-cookie']) },
    });
    expect(me2.json().id).toBe(me.json().id);
  });

  it('refuses a callback whose state does not belong to this browser (no session)', async () => {
    const { callback } = await signInWithGoogle();
    // Another browser (without the state cookie) presents the code.
    const back = await t.app.inject({ url: `${callback.pathname}${callback.search}` });
    expect(String(back.headers['set-cookie'] ?? '')).not.toContain('stockwatch.session_token=');
    expect(back.headers.location ?? '').not.toBe('/dashboard');
  });

  it('lists Google among the providers on the first-run page', async () => {
    expect((await t.app.inject({ url: '/auth/setup' })).json().providers).toEqual(['email', 'google']);
  });
});
