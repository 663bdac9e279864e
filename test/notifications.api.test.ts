import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';
import { type Caller, signUp, withToken } from './helpers/users.ts';

describe.each(BACKENDS)('notifications API on %s', (backend) => {
  let t: TestApp;
  let eve: Caller;
  let eveToken: Caller;

  beforeAll(async () => {
    t = await createTestApp(backend);
    eve = await signUp(t.app, { name: 'Eve' });
    eveToken = await withToken(t.app, eve);
  });
  afterAll(() => t.close());

  const call = (method: string, url: string, caller: Caller | null, payload?: unknown) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers: caller?.headers ?? {},
      ...(payload !== undefined && { payload: payload as object }),
    });

  it('takes the seed request and answers 201 {id, status: "created"}', async () => {
    const res = await call('POST', '/notifications', eve, {
      symbol: 'AAPL',
      condition: 'price > 150',
      threshold: 150,
      user_id: eve.id,
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'created' });
    expect(body.notification).toMatchObject({
      id: body.id,
      symbol: 'AAPL',
      condition: 'above',
      condition_text: 'price > 150',
      threshold: 150,
      cooldown_minutes: 60,
      trigger: 'recurring',
      expires_at: null,
      channels: [{ type: 'email' }],
      status: 'active',
      last_fired_at: null,
      fire_count: 0,
    });
  });

  it('takes the structured form with every option, through an API token', async () => {
    const res = await call('POST', '/notifications', eveToken, {
      symbol: 'msft',
      condition: 'crosses_below',
      threshold: 300.5,
      cooldown_minutes: 0,
      trigger: 'once',
      expires_at: '2030-01-01T00:00:00+01:00',
      channels: [{ type: 'email' }, { type: 'webhook', url: 'https://hooks.example.com/x' }],
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().notification).toMatchObject({
      symbol: 'MSFT',
      condition: 'crosses_below',
      condition_text: 'price crosses below 300.5',
      cooldown_minutes: 0,
      trigger: 'once',
      expires_at: '2029-12-31T23:00:00.000Z',
      channels: [{ type: 'email' }, { type: 'webhook', url: 'https://hooks.example.com/x' }],
    });
  });

  it.each([
    [
      'a condition whose number disagrees with threshold',
      { condition: 'price > 150', threshold: 140 },
      '/threshold',
    ],
    ['an unknown condition', { condition: 'price ~ 150', threshold: 150 }, '/condition'],
    ['a symbol of invalid form', { symbol: 'NOT A SYMBOL' }, '/symbol'],
    ['threshold as a string', { threshold: '150' }, '/threshold'],
    ['a negative threshold', { condition: 'above', threshold: -5 }, '/threshold'],
    ['no threshold anywhere', { condition: 'above', threshold: undefined }, '/threshold'],
    ['cooldown over a week', { cooldown_minutes: 10_081 }, '/cooldown_minutes'],
    ['a fractional cooldown', { cooldown_minutes: 1.5 }, '/cooldown_minutes'],
    ['an unknown trigger', { trigger: 'twice' }, '/trigger'],
    ['expires_at without a zone', { expires_at: '2030-01-01T00:00:00' }, '/expires_at'],
    ['an unknown channel', { channels: [{ type: 'pigeon' }] }, '/channels/0/type'],
    [
      'a webhook without https or http',
      { channels: [{ type: 'webhook', url: 'ftp://x.example.com' }] },
      '/channels/0/url',
    ],
    [
      'a webhook to a private address',
      { channels: [{ type: 'webhook', url: 'http://192.168.1.10/hook' }] },
      '/channels/0/url',
    ],
    ['no channel at all', { channels: [] }, '/channels'],
    ['a server-owned field', { fire_count: 3 }, '/fire_count'],
  ])('rejects %s with 422 naming the field', async (_name, change, pointer) => {
    const body = { symbol: 'AAPL', condition: 'price > 150', threshold: 150, ...change };
    const res = await call('POST', '/notifications', eve, body);
    expect(res.statusCode).toBe(422);
    expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
  });

  it("refuses a user_id that is not the caller's with 403", async () => {
    const res = await call('POST', '/notifications', eve, {
      symbol: 'AAPL',
      condition: 'price > 150',
      threshold: 150,
      user_id: 'someone-else',
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ status: 403, detail: "user_id 'someone-else' is not yours" });
  });

  it('answers 401 without a session or token', async () => {
    for (const [method, url] of [
      ['GET', '/notifications'],
      ['POST', '/notifications'],
      ['GET', '/alerts'],
      ['GET', '/mailbox'],
      ['GET', '/events'],
    ] as const)
      expect((await call(method, url, null, method === 'POST' ? {} : undefined)).statusCode, url).toBe(401);
  });

  it('pages through the list, newest first', async () => {
    const owner = await signUp(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        (
          await call('POST', '/notifications', owner, {
            symbol: 'PAGE',
            condition: 'above',
            threshold: i + 1,
          })
        ).json().id,
      );
    const first = (await call('GET', '/notifications?limit=2', owner)).json();
    expect(first.data.map((n: { id: string }) => n.id)).toEqual([ids[4], ids[3]]);
    const second = (await call('GET', `/notifications?limit=2&cursor=${first.next_cursor}`, owner)).json();
    expect(second.data.map((n: { id: string }) => n.id)).toEqual([ids[2], ids[1]]);
    const third = (await call('GET', `/notifications?limit=2&cursor=${second.next_cursor}`, owner)).json();
    expect(third.data.map((n: { id: string }) => n.id)).toEqual([ids[0]]);
    expect(third.next_cursor).toBeNull();
    expect((await call('GET', '/notifications?cursor=garbage', owner)).statusCode).toBe(422);
  });

  it('pauses, resumes, edits and deletes', async () => {
    const id = (
      await call('POST', '/notifications', eve, { symbol: 'EDIT', condition: 'price > 10', threshold: 10 })
    ).json().id;
    const paused = await call('PATCH', `/notifications/${id}`, eve, { paused: true });
    expect(paused.statusCode).toBe(200);
    expect(paused.json().status).toBe('paused');
    const edited = await call('PATCH', `/notifications/${id}`, eve, {
      paused: false,
      condition: 'price <= 8',
      cooldown_minutes: 5,
      channels: [{ type: 'webhook', url: 'https://hooks.example.com/y' }],
    });
    expect(edited.json()).toMatchObject({
      status: 'active',
      condition: 'at_or_below',
      threshold: 8,
      cooldown_minutes: 5,
      channels: [{ type: 'webhook', url: 'https://hooks.example.com/y' }],
    });
    expect((await call('PATCH', `/notifications/${id}`, eve, { threshold: 'x' })).statusCode).toBe(422);
    expect(
      (await call('PATCH', `/notifications/${id}`, eve, { condition: 'price > 5', threshold: 6 })).statusCode,
    ).toBe(422);
    expect((await call('PATCH', `/notifications/${id}`, eve, { status: 'done' })).statusCode).toBe(422);
    expect((await call('GET', `/notifications/${id}`, eve)).json().threshold).toBe(8);
    expect((await call('DELETE', `/notifications/${id}`, eve)).statusCode).toBe(204);
    expect((await call('GET', `/notifications/${id}`, eve)).statusCode).toBe(404);
    expect((await call('DELETE', `/notifications/${id}`, eve)).statusCode).toBe(404);
    expect((await call('GET', '/notifications/not-a-uuid', eve)).json()).toMatchObject({
      status: 404,
      detail: "Notification 'not-a-uuid' not found",
    });
  });

  it('fires on ingest, shows the alert with its delivery, and keeps it after the rule is deleted', async () => {
    const owner = await signUp(t.app);
    const id = (
      await call('POST', '/notifications', owner, { symbol: 'FIRE', condition: 'price > 10', threshold: 10 })
    ).json().id;
    const ingest = await t.app.inject({
      method: 'POST',
      url: '/stocks',
      headers: { authorization: `Bearer ${t.ingestToken}` },
      payload: { symbol: 'FIRE', timestamp: new Date().toISOString(), price: 11, volume: 1 },
    });
    expect(ingest.statusCode).toBe(201);
    const alerts = (await call('GET', '/alerts', owner)).json();
    expect(alerts.data).toHaveLength(1);
    expect(alerts.data[0]).toMatchObject({
      notification_id: id,
      symbol: 'FIRE',
      condition: 'above',
      condition_text: 'price > 10',
      price: 11,
      deliveries: [{ channel: { type: 'email' }, status: 'pending', attempts: 0, last_error: null }],
    });
    expect((await call('GET', `/notifications/${id}`, owner)).json()).toMatchObject({ fire_count: 1 });
    const alertId = alerts.data[0].id;
    expect((await call('GET', `/alerts/${alertId}`, owner)).json().id).toBe(alertId);
    expect((await call('POST', `/alerts/${alertId}/retry`, owner)).statusCode).toBe(409);
    await call('DELETE', `/notifications/${id}`, owner);
    const after = (await call('GET', '/alerts', owner)).json();
    expect(after.data[0]).toMatchObject({ id: alertId, notification_id: null });
  });

  it("lists alerts of one symbol or one rule, never another user's, and none for an id that cannot exist", async () => {
    const [owner, other] = [await signUp(t.app), await signUp(t.app)];
    const rule = async (who: typeof owner, symbol: string) =>
      (await call('POST', '/notifications', who, { symbol, condition: 'price > 10', threshold: 10 })).json()
        .id;
    const [a, , c] = [await rule(owner, 'ALA'), await rule(owner, 'ALB'), await rule(other, 'ALA')];
    for (const symbol of ['ALA', 'ALB'])
      await t.app.inject({
        method: 'POST',
        url: '/stocks',
        headers: { authorization: `Bearer ${t.ingestToken}` },
        payload: { symbol, timestamp: new Date().toISOString(), price: 11, volume: 1 },
      });
    const list = async (who: typeof owner, query: string) =>
      (await call('GET', `/alerts?${query}`, who)).json().data.map((x: { symbol: string }) => x.symbol);
    expect(await list(owner, '')).toEqual(['ALB', 'ALA']);
    expect(await list(owner, 'symbol=ALA')).toEqual(['ALA']);
    expect(await list(other, 'symbol=ALA')).toEqual(['ALA']);
    expect(await list(other, 'symbol=ALB')).toEqual([]);
    expect(await list(owner, `notification_id=${a}`)).toEqual(['ALA']);
    expect(await list(owner, `notification_id=${c}`)).toEqual([]);
    expect(await list(owner, 'notification_id=not-a-uuid')).toEqual([]);
    const bad = await call('GET', '/alerts?symbol=%20no%20way', owner);
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors?.[0]?.pointer ?? JSON.stringify(bad.json())).toContain('symbol');
  });
});
