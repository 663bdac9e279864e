import { describe, expect, it } from 'vitest';
import { PUBLIC_URL, useChannel } from './helpers/channel-fixture.ts';
import { BACKENDS } from './helpers/runtime.ts';

/**
 * Slack incoming webhooks: https://api.slack.com/messaging/webhooks — a POST to the webhook URL with
 * `Content-type: application/json` and a JSON body with `text` (the notification, and the fallback)
 * and optional `blocks` (Block Kit). Slack answers 200 `ok`; errors are 4xx with a plain-text reason
 * (`invalid_payload`, `no_service`, …); rate limiting is a 429 with `Retry-After` in seconds
 * (https://api.slack.com/apis/rate-limits). Incoming webhooks are not signed: the URL is the secret.
 */
describe.each(BACKENDS)('the Slack channel (%s)', (backend) => {
  const c = useChannel(backend, {
    label: 'slack',
    response: { status: 200, body: 'ok' },
    channel: (url) => ({
      type: 'slack',
      name: 'team',
      config: { webhook_url: `${url}/services/T000/B000/XXXXXXXX` },
    }),
  });

  it('posts text and blocks to the webhook URL', async () => {
    const { symbol, alertId } = await c.fire();
    const request = c.onlyRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/services/T000/B000/XXXXXXXX');
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({
      text: `${symbol} > 100: now 101.5`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: `${symbol} > 100: now 101.5` } },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: `• <${PUBLIC_URL}/symbols/${symbol}|${symbol}> is at *101.5* (2025-06-02 14:00:00 UTC): ${symbol} price &gt; 100`,
          },
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: `<${PUBLIC_URL}/alerts|Your alerts in Stockwatch>` }],
        },
      ],
    });
    expect(await c.f.delivery(alertId)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('retries a 500, waits out a 429 for its Retry-After, then delivers', async () => {
    const { alertId } = await c.fire(
      { status: 500, body: 'internal_error' },
      { status: 429, headers: { 'retry-after': '30' }, body: 'rate_limited' },
    );
    expect((await c.f.delivery(alertId)).last_error).toBe('Slack answered 500: internal_error');
    c.f.clock.advance(2000);
    expect(await c.f.notifier.runOnce()).toBe(1);
    expect(await c.f.delivery(alertId)).toMatchObject({
      status: 'pending',
      attempts: 2,
      last_error: 'Slack answered 429: rate_limited',
    });
    c.f.clock.advance(20_000); // past the backoff (about 2 s), short of the 30 s Slack asked for
    expect(await c.f.notifier.runOnce()).toBe(0);
    c.f.clock.advance(11_000);
    expect(await c.f.notifier.runOnce()).toBe(1);
    expect(await c.f.delivery(alertId)).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('gives up at once when the webhook is gone (404 no_service)', async () => {
    const { alertId } = await c.fire({ status: 404, body: 'no_service' });
    expect(await c.f.delivery(alertId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'Slack answered 404: no_service',
    });
  });
});
