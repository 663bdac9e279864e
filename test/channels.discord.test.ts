import { describe, expect, it } from 'vitest';
import { PUBLIC_URL, useChannel } from './helpers/channel-fixture.ts';
import { BACKENDS } from './helpers/runtime.ts';

/**
 * Discord execute webhook: https://discord.com/developers/docs/resources/webhook#execute-webhook —
 * `POST /webhooks/{id}/{token}` with a JSON body (`content` up to 2000 characters, up to 10 `embeds`,
 * `allowed_mentions`), query `wait=true` to get the created message (200) instead of 204. A 429 carries
 * `retry_after` in seconds in its JSON body (https://discord.com/developers/docs/topics/rate-limits).
 */
describe.each(BACKENDS)('the Discord channel (%s)', (backend) => {
  const c = useChannel(backend, {
    label: 'discord',
    response: { status: 200, body: { id: '1', type: 0, content: '' } },
    channel: (url) => ({
      type: 'discord',
      name: 'server',
      config: { webhook_url: `${url}/api/webhooks/123456/tok-en_abc` },
    }),
  });

  it('executes the webhook with content, one embed per alert and no mentions, waiting for the message', async () => {
    const { symbol, alertId } = await c.fire();
    const request = c.onlyRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/api/webhooks/123456/tok-en_abc?wait=true');
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({
      content: `${symbol} > 100: now 101.5`,
      embeds: [
        {
          title: `${symbol} at 101.5`,
          description: `${symbol} price > 100`,
          url: `${PUBLIC_URL}/symbols/${symbol}`,
          timestamp: '2025-06-02T14:00:00.000Z',
        },
      ],
      allowed_mentions: { parse: [] },
    });
    expect(await c.f.delivery(alertId)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('retries a 503, waits out a 429 for the retry_after of its body, then delivers', async () => {
    const { alertId } = await c.fire(
      { status: 503, body: 'upstream connect error' },
      { status: 429, body: { message: 'You are being rate limited.', retry_after: 64.57, global: false } },
    );
    expect((await c.f.delivery(alertId)).last_error).toContain('Discord answered 503');
    c.f.clock.advance(2000);
    expect(await c.f.notifier.runOnce()).toBe(1);
    expect((await c.f.delivery(alertId)).last_error).toBe(
      'Discord answered 429: You are being rate limited.',
    );
    c.f.clock.advance(64_000); // backoff alone (about 2 s) would allow it; Discord asked for 64.57 s
    expect(await c.f.notifier.runOnce()).toBe(0);
    c.f.clock.advance(1000);
    expect(await c.f.notifier.runOnce()).toBe(1);
    expect(await c.f.delivery(alertId)).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('gives up at once on an unknown webhook (404)', async () => {
    const { alertId } = await c.fire({ status: 404, body: { message: 'Unknown Webhook', code: 10015 } });
    expect(await c.f.delivery(alertId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'Discord answered 404: Unknown Webhook',
    });
  });
});
