import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/shared/clock.ts';
import { createTestApp, type TestApp } from './helpers/runtime.ts';

// The status lives in the server's memory for now, so one backend is enough.
describe('client status API', () => {
  const clock = manualClock('2025-03-10T15:00:00Z');
  let t: TestApp;
  beforeAll(async () => {
    // Reads follow the prices' rule; PUBLIC_PRICES lets this suite read without an account.
    t = await createTestApp('pglite', { clock, env: { PUBLIC_PRICES: 'true' } });
  });
  afterAll(() => t.close());

  const report = (clientId: string, symbols: Array<[string, string | null]>) => ({
    client_id: clientId,
    host: 'box-1',
    provider: 'alphavantage',
    plan: '2 symbols, 25 calls/day: each symbol refreshed every 31 min',
    spooled: 0,
    quota: {
      calls_left_today: 23,
      calls_per_day: 25,
      calls_left_this_minute: 5,
      calls_per_minute: 5,
      day_resets_at: '2025-03-11T04:00:00.000Z',
      blocked_until: null,
    },
    problem: null,
    symbols: symbols.map(([symbol, at]) => ({ symbol, last_success_at: at, newest_bar_at: at, error: null })),
  });
  const post = (body: unknown, token: string | null = t.ingestToken) =>
    t.app.inject({
      method: 'POST',
      url: '/client-status',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      payload: body as object,
    });

  it('takes a report only with the ingest token', async () => {
    expect((await post(report('a', []), null)).statusCode).toBe(401);
    expect((await post(report('a', []), 'wrong-token-wrong-token')).statusCode).toBe(401);
  });

  it('refuses unknown fields and wrong types (422), as every other body', async () => {
    const res = await post({ ...report('a', []), spooled: '3', extra: 1 });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual(
      expect.arrayContaining([
        { pointer: '/spooled', detail: 'must be of type number' },
        { pointer: '/extra', detail: 'is not allowed' },
      ]),
    );
  });

  it('shows each client’s last report, and per symbol the most recent refresh of any client', async () => {
    expect(
      (
        await post(
          report('a', [
            ['IBM', '2025-03-10T14:00:00.000Z'],
            ['MSFT', null],
          ]),
        )
      ).statusCode,
    ).toBe(204);
    clock.advance(60_000);
    expect(
      (
        await post(
          report('b', [
            ['IBM', '2025-03-10T14:30:00.000Z'],
            ['MSFT', '2025-03-10T13:00:00.000Z'],
          ]),
        )
      ).statusCode,
    ).toBe(204);
    clock.advance(60_000);
    // A newer report of client a replaces its older one.
    await post(
      report('a', [
        ['IBM', '2025-03-10T14:10:00.000Z'],
        ['MSFT', null],
      ]),
    );

    const res = await t.app.inject({ method: 'GET', url: '/client-status' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(
      body.clients.map((c: { client_id: string; reported_at: string }) => [c.client_id, c.reported_at]),
    ).toEqual([
      ['a', '2025-03-10T15:02:00.000Z'],
      ['b', '2025-03-10T15:01:00.000Z'],
    ]);
    expect(body.clients[0].quota.calls_left_today).toBe(23);
    expect(body.symbols).toEqual([
      {
        symbol: 'IBM',
        last_success_at: '2025-03-10T14:30:00.000Z',
        newest_bar_at: '2025-03-10T14:30:00.000Z',
        error: null,
        client_id: 'b',
      },
      {
        symbol: 'MSFT',
        last_success_at: '2025-03-10T13:00:00.000Z',
        newest_bar_at: '2025-03-10T13:00:00.000Z',
        error: null,
        client_id: 'b',
      },
    ]);
  });

  it('is read like prices: by signed-in users and API tokens unless PUBLIC_PRICES=true', async () => {
    const closed = await createTestApp('pglite');
    try {
      const res = await closed.app.inject({ method: 'GET', url: '/client-status' });
      expect(res.statusCode).toBe(401);
    } finally {
      await closed.close();
    }
  });
});
