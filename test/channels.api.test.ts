import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingServer } from './helpers/recording-server.ts';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';
import { type Caller, signUp, withToken } from './helpers/users.ts';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

describe.each(BACKENDS)('saved channels and notification settings API on %s', (backend) => {
  let t: TestApp;
  let server: Awaited<ReturnType<typeof startRecordingServer>>;
  let eve: Caller;
  let eveToken: Caller;
  let mallory: Caller;

  beforeAll(async () => {
    server = await startRecordingServer({ status: 200, body: { ok: true, result: {} } });
    t = await createTestApp(backend, {
      env: { WEBHOOK_ALLOW_PRIVATE: 'true', TELEGRAM_API_URL: server.url },
    });
    eve = await signUp(t.app, { name: 'Eve' });
    eveToken = await withToken(t.app, eve);
    mallory = await signUp(t.app, { name: 'Mallory' });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  const call = (method: string, url: string, caller: Caller | null, payload?: unknown) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers: caller?.headers ?? {},
      ...(payload !== undefined && { payload: payload as object }),
    });

  it('saves each type, answers with the secrets masked, and lists them', async () => {
    const inputs = [
      { type: 'ntfy', name: 'phone', config: { topic: 'sw-eve', token: 'tk_abcdefghijklmnop' } },
      {
        type: 'slack',
        name: 'team',
        config: { webhook_url: 'https://hooks.slack.com/services/T0/B0/SECRETSECRET' },
      },
      {
        type: 'discord',
        name: 'guild',
        config: { webhook_url: 'https://discord.com/api/webhooks/1/SECRET' },
      },
      { type: 'telegram', name: 'me', config: { bot_token: TOKEN, chat_id: 42 } },
      { type: 'webhook', name: 'ops', config: { url: 'https://ops.example.com/hook?key=SECRET' } },
      { type: 'email', name: 'inbox', config: {} },
    ];
    const created = [];
    for (const input of inputs) {
      const res = await call('POST', '/channels', eveToken, input);
      expect(res.statusCode, res.body).toBe(201);
      created.push(res.json());
    }
    expect(created.map((c) => c.config)).toEqual([
      { server_url: 'https://ntfy.sh', topic: 'sw-eve', token: '…mnop' },
      { webhook_url: 'https://hooks.slack.com/…' },
      { webhook_url: 'https://discord.com/…' },
      { bot_token: '…Dsaw', chat_id: '42' },
      { url: 'https://ops.example.com/…' },
      {},
    ]);
    for (const c of created)
      expect(c).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        created_at: expect.any(String),
      });
    const list = await call('GET', '/channels', eve);
    expect(list.statusCode).toBe(200);
    expect(list.json().data).toEqual(created);
    expect(list.body).not.toContain('SECRET');
    expect(list.body).not.toContain(TOKEN);
    expect((await call('GET', '/channels', mallory)).json().data).toEqual([]);
  });

  it('refuses invalid settings with a 422 naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ type: 'ntfy', name: 'x', config: { topic: 'has space' } }, '/config/topic'],
      [
        { type: 'ntfy', name: 'x', config: { topic: 't', server_url: 'ftp://ntfy.sh' } },
        '/config/server_url',
      ],
      [{ type: 'slack', name: 'x', config: {} }, '/config/webhook_url'],
      [{ type: 'telegram', name: 'x', config: { bot_token: 'nope', chat_id: '1' } }, '/config/bot_token'],
      [{ type: 'telegram', name: 'x', config: { bot_token: TOKEN, chat_id: 'me' } }, '/config/chat_id'],
      [{ type: 'discord', name: 'x', config: { webhook_url: 'https://d.example/x', extra: 1 } }, '/config'],
      [{ type: 'pager', name: 'x', config: {} }, '/type'],
      [{ type: 'email', name: '', config: {} }, '/name'],
      [{ type: 'email', name: 'x', config: {}, user_id: 'someone' }, ''],
    ];
    for (const [payload, pointer] of cases) {
      const res = await call('POST', '/channels', eve, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
      if (pointer)
        expect(
          res.json().errors.map((e: { pointer: string }) => e.pointer),
          JSON.stringify(payload),
        ).toContainEqual(expect.stringContaining(pointer));
    }
  });

  it('refuses private addresses unless WEBHOOK_ALLOW_PRIVATE is set', async () => {
    const strict = await createTestApp('pglite');
    try {
      const owner = await signUp(strict.app);
      for (const config of [
        { webhook_url: 'http://127.0.0.1:9/x' },
        { webhook_url: 'http://localhost/x' },
        { webhook_url: 'http://169.254.169.254/latest' },
      ]) {
        const res = await strict.app.inject({
          method: 'POST',
          url: '/channels',
          headers: owner.headers,
          payload: { type: 'slack', name: 'x', config },
        });
        expect(res.statusCode).toBe(422);
        expect(res.json().errors[0].pointer).toBe('/config/webhook_url');
      }
    } finally {
      await strict.close();
    }
  });

  it('changes the name and settings, keeping a secret that was left out', async () => {
    const created = (
      await call('POST', '/channels', eve, {
        type: 'telegram',
        name: 'old',
        config: { bot_token: TOKEN, chat_id: '1' },
      })
    ).json();
    const res = await call('PATCH', `/channels/${created.id}`, eve, {
      name: 'new',
      config: { chat_id: '@stocks_eve' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'new', config: { bot_token: '…Dsaw', chat_id: '@stocks_eve' } });
    // The kept token still works: a test message reaches the Bot API with it.
    server.reset();
    expect((await call('POST', `/channels/${created.id}/test`, eve)).statusCode).toBe(200);
    expect(server.requests[0]!.path).toBe(`/bot${TOKEN}/sendMessage`);
    expect(JSON.parse(server.requests[0]!.body).chat_id).toBe('@stocks_eve');
    const bad = await call('PATCH', `/channels/${created.id}`, eve, { config: { chat_id: 'no spaces' } });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors[0].pointer).toBe('/config/chat_id');
  });

  it('sends a test message and reports the outcome; a refusal is a 502 quoting the service', async () => {
    const channel = (
      await call('POST', '/channels', eve, {
        type: 'ntfy',
        name: 'phone',
        config: { server_url: server.url, topic: 'eve-test' },
      })
    ).json();
    server.reset();
    const ok = await call('POST', `/channels/${channel.id}/test`, eve);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ ok: true, detail: 'Test message sent to ntfy channel "phone"' });
    expect(server.requests).toHaveLength(1);
    expect(JSON.parse(server.requests[0]!.body)).toMatchObject({
      topic: 'eve-test',
      title: 'Stockwatch test message for "phone"',
    });

    server.answer({ status: 403, body: { code: 40301, http: 403, error: 'forbidden' } });
    const refused = await call('POST', `/channels/${channel.id}/test`, eve);
    expect(refused.statusCode).toBe(502);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json()).toMatchObject({
      status: 502,
      detail: 'Test message not delivered: ntfy answered 403: forbidden',
    });
  });

  it('lets notifications send through one of your channels, never through another user’s', async () => {
    const mine = (await call('POST', '/channels', eve, { type: 'email', name: 'inbox', config: {} })).json();
    const theirs = (
      await call('POST', '/channels', mallory, { type: 'email', name: 'm', config: {} })
    ).json();
    const rule = (payload: unknown) => call('POST', '/notifications', eve, payload);
    const ok = await rule({
      symbol: 'CHN',
      condition: 'above',
      threshold: 1,
      channels: [{ type: 'channel', id: mine.id }],
    });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().notification.channels).toEqual([{ type: 'channel', id: mine.id }]);
    for (const id of [theirs.id, '00000000-0000-4000-8000-000000000000']) {
      const res = await rule({
        symbol: 'CHN',
        condition: 'above',
        threshold: 1,
        channels: [{ type: 'channel', id }],
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().errors).toEqual([
        { pointer: '/channels/0/id', detail: 'no channel of yours has this id' },
      ]);
      expect(res.body.replace(id, '<id>')).toBe(
        '{"type":"/problems/validation","title":"Invalid request","status":422,"detail":"Channel \'<id>\' not found","errors":[{"pointer":"/channels/0/id","detail":"no channel of yours has this id"}]}',
      );
    }
    const patched = await call('PATCH', `/notifications/${ok.json().id}`, eve, {
      channels: [{ type: 'channel', id: theirs.id }],
    });
    expect(patched.statusCode).toBe(422);

    // In use: kept, with the reason; free again once the notification is gone.
    const inUse = await call('DELETE', `/channels/${mine.id}`, eve);
    expect(inUse.statusCode).toBe(409);
    expect(inUse.json().detail).toBe(`Channel '${mine.id}' is used by 1 notification; change it first`);
    expect((await call('DELETE', `/notifications/${ok.json().id}`, eve)).statusCode).toBe(204);
    expect((await call('DELETE', `/channels/${mine.id}`, eve)).statusCode).toBe(204);
    expect((await call('GET', `/channels/${mine.id}`, eve)).statusCode).toBe(404);
  });

  it('reads and writes the grouping window and quiet hours, validating the time zone', async () => {
    const defaults = await call('GET', '/settings/notifications', eve);
    expect(defaults.statusCode).toBe(200);
    expect(defaults.json()).toEqual({ group_window_seconds: 30, quiet_hours: null });
    const settings = {
      group_window_seconds: 120,
      quiet_hours: { start: '22:30', end: '06:45', time_zone: 'America/New_York', mode: 'drop' },
    };
    const put = await call('PUT', '/settings/notifications', eveToken, settings);
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual(settings);
    expect((await call('GET', '/settings/notifications', eve)).json()).toEqual(settings);
    // The webhook secret lives in the same row and is untouched by these.
    const secret = (await call('GET', '/settings/webhook-secret', eve)).json().secret;
    await call('PUT', '/settings/notifications', eve, { group_window_seconds: 0, quiet_hours: null });
    expect((await call('GET', '/settings/webhook-secret', eve)).json().secret).toBe(secret);
    expect((await call('GET', '/settings/notifications', mallory)).json()).toEqual({
      group_window_seconds: 30,
      quiet_hours: null,
    });

    const bad: Array<[unknown, string]> = [
      [
        { ...settings, quiet_hours: { ...settings.quiet_hours, time_zone: 'Mars/Olympus' } },
        '/quiet_hours/time_zone',
      ],
      [{ ...settings, quiet_hours: { ...settings.quiet_hours, start: '24:00' } }, '/quiet_hours/start'],
      [{ ...settings, quiet_hours: { ...settings.quiet_hours, end: '22:30' } }, '/quiet_hours/end'],
      [{ ...settings, quiet_hours: { ...settings.quiet_hours, mode: 'snooze' } }, '/quiet_hours/mode'],
      [{ ...settings, group_window_seconds: -1 }, '/group_window_seconds'],
      [{ ...settings, group_window_seconds: '30' }, '/group_window_seconds'],
      [{ group_window_seconds: 30 }, '/quiet_hours'],
    ];
    for (const [payload, pointer] of bad) {
      const res = await call('PUT', '/settings/notifications', eve, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
      expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
  });

  it('needs a signed-in caller and documents every route', async () => {
    for (const [method, url] of [
      ['GET', '/channels'],
      ['POST', '/channels'],
      ['GET', '/settings/notifications'],
    ] as const)
      expect((await call(method, url, null, method === 'POST' ? {} : undefined)).statusCode).toBe(401);
    const spec = (await call('GET', '/openapi.json', null)).json();
    for (const path of ['/channels', '/channels/{id}', '/channels/{id}/test', '/settings/notifications'])
      expect(spec.paths[path], path).toBeDefined();
  });
});
