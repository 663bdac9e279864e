import { describe, expect, it } from 'vitest';
import { PUBLIC_URL, useChannel } from './helpers/channel-fixture.ts';
import { BACKENDS } from './helpers/runtime.ts';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

/**
 * Telegram Bot API sendMessage: https://core.telegram.org/bots/api#sendmessage — `POST
 * https://api.telegram.org/bot<token>/sendMessage` (here TELEGRAM_API_URL) with `chat_id`, `text`,
 * `parse_mode: "HTML"` (https://core.telegram.org/bots/api#html-style) and `link_preview_options`.
 * Answers are `{"ok":true,"result":…}` or `{"ok":false,"error_code":…,"description":…}`; a 429 carries
 * the wait in `parameters.retry_after` (https://core.telegram.org/bots/api#responseparameters).
 */
describe.each(BACKENDS)('the Telegram channel (%s)', (backend) => {
  const c = useChannel(backend, {
    label: 'telegram',
    response: { status: 200, body: { ok: true, result: { message_id: 1 } } },
    channel: (_url) => ({
      type: 'telegram',
      name: 'me',
      config: { bot_token: TOKEN, chat_id: '-1001234567890' },
    }),
  });

  it('calls sendMessage with the chat, HTML text and no link preview', async () => {
    const { symbol, alertId } = await c.fire();
    const request = c.onlyRequest();
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/bot${TOKEN}/sendMessage`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({
      chat_id: '-1001234567890',
      text: [
        `<b>${symbol} &gt; 100: now 101.5</b>`,
        '',
        `<a href="${PUBLIC_URL}/symbols/${symbol}">${symbol}</a> is at <b>101.5</b> (2025-06-02 14:00:00 UTC): ${symbol} price &gt; 100`,
      ].join('\n'),
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
    });
    expect(await c.f.delivery(alertId)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('retries a 502, waits out a 429 for parameters.retry_after of its body, then delivers', async () => {
    const { alertId } = await c.fire(
      { status: 502, body: '<html>Bad Gateway</html>' },
      {
        status: 429,
        body: {
          ok: false,
          error_code: 429,
          description: 'Too Many Requests: retry after 45',
          parameters: { retry_after: 45 },
        },
      },
    );
    expect((await c.f.delivery(alertId)).last_error).toContain('Telegram answered 502');
    c.f.clock.advance(2000);
    expect(await c.f.notifier.runOnce()).toBe(1);
    expect((await c.f.delivery(alertId)).last_error).toBe(
      'Telegram answered 429: Too Many Requests: retry after 45',
    );
    c.f.clock.advance(30_000);
    expect(await c.f.notifier.runOnce()).toBe(0);
    c.f.clock.advance(16_000);
    expect(await c.f.notifier.runOnce()).toBe(1);
    expect(await c.f.delivery(alertId)).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('gives up at once when the chat does not exist (400), quoting Telegram', async () => {
    const { alertId } = await c.fire({
      status: 400,
      body: { ok: false, error_code: 400, description: 'Bad Request: chat not found' },
    });
    expect(await c.f.delivery(alertId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'Telegram answered 400: Bad Request: chat not found',
    });
  });
});
