import { describe, expect, it } from 'vitest';
import { PUBLIC_URL, useChannel } from './helpers/channel-fixture.ts';
import { BACKENDS } from './helpers/runtime.ts';

/**
 * ntfy publish API, "Publish as JSON": https://docs.ntfy.sh/publish/#publish-as-json — a POST of a
 * JSON object with `topic`, `message`, `title`, `tags`, `priority` (1–5), `click` to the server's root
 * URL; a protected topic takes `Authorization: Bearer <access token>`
 * (https://docs.ntfy.sh/publish/#access-tokens).
 */
describe.each(BACKENDS)('the ntfy channel (%s)', (backend) => {
  const c = useChannel(backend, {
    label: 'ntfy',
    response: { status: 200, body: { id: 'abc', event: 'message' } },
    channel: (url) => ({
      type: 'ntfy',
      name: 'phone',
      config: { server_url: `${url}/`, topic: 'stockwatch-eve', token: 'tk_secret0123456789' },
    }),
  });

  it('publishes the alert as JSON to the root URL with the access token', async () => {
    const { symbol, alertId } = await c.fire();
    const request = c.onlyRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers.authorization).toBe('Bearer tk_secret0123456789');
    expect(JSON.parse(request.body)).toEqual({
      topic: 'stockwatch-eve',
      title: `${symbol} > 100: now 101.5`,
      message: `${symbol} is at 101.5 (2025-06-02 14:00:00 UTC): ${symbol} price > 100`,
      tags: ['chart_with_upwards_trend'],
      priority: 4,
      click: `${PUBLIC_URL}/symbols/${symbol}`,
    });
    expect(await c.f.delivery(alertId)).toMatchObject({ status: 'sent', attempts: 1, last_error: null });
  });

  it('retries a 5xx, waits out a 429 for its Retry-After, then delivers', async () => {
    const { alertId } = await c.fire(
      { status: 502, body: 'bad gateway' },
      {
        status: 429,
        headers: { 'retry-after': '120' },
        body: { code: 42901, http: 429, error: 'limit reached' },
      },
    );
    expect(await c.f.delivery(alertId)).toMatchObject({ status: 'pending', attempts: 1 });
    expect((await c.f.delivery(alertId)).last_error).toContain('502');
    c.f.clock.advance(2000); // the first backoff: 1 s ± 50%
    expect(await c.f.notifier.runOnce()).toBe(1);
    expect((await c.f.delivery(alertId)).last_error).toBe('ntfy answered 429: limit reached');
    c.f.clock.advance(60_000); // backoff alone would allow it by now; ntfy asked for 120 s
    expect(await c.f.notifier.runOnce()).toBe(0);
    c.f.clock.advance(61_000);
    expect(await c.f.notifier.runOnce()).toBe(1);
    expect(await c.f.delivery(alertId)).toMatchObject({ status: 'sent', attempts: 3 });
    expect(c.server.requests).toHaveLength(3);
  });

  it('gives up at once on a 403 (wrong token), with ntfy’s reason in the history', async () => {
    const { alertId } = await c.fire({ status: 403, body: { code: 40301, http: 403, error: 'forbidden' } });
    expect(await c.f.delivery(alertId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'ntfy answered 403: forbidden',
    });
  });
});
