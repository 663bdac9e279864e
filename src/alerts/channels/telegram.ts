import type { LeasedDelivery } from '../deliveries.repo.ts';
import type { AlertMessage } from '../message.ts';
import type { Channel } from './channel.ts';
import { answerError, jsonOf, postHttp } from './http.ts';

/** Telegram's HTML parse mode needs only these escaped (https://core.telegram.org/bots/api#html-style). */
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const MAX_TEXT = 4096;

/**
 * Telegram sendMessage (https://core.telegram.org/bots/api#sendmessage): a JSON POST to
 * `<TELEGRAM_API_URL>/bot<token>/sendMessage` with `chat_id`, `text` in HTML parse mode, and link
 * previews off. Telegram answers `{ok:true,result}` or `{ok:false,error_code,description}`; a 429
 * carries the wait in `parameters.retry_after` (seconds) of the body. The API URL is the operator's
 * (trusted), so it is not held to the private-address rule.
 */
export function createTelegramChannel(deps: { apiUrl: string }): Channel<'telegram'> {
  const api = deps.apiUrl.replace(/\/+$/, '');
  return {
    async send(_delivery: LeasedDelivery, message: AlertMessage, target) {
      const lines = message.items.map(
        (i) =>
          `<a href="${escapeHtml(i.symbolUrl)}">${escapeHtml(i.symbol)}</a> is at <b>${escapeHtml(i.price)}</b> (${escapeHtml(i.when)}): ${escapeHtml(`${i.symbol} ${i.condition}`)}`,
      );
      let text = [`<b>${escapeHtml(message.subject)}</b>`, '', ...lines].join('\n');
      if (text.length > MAX_TEXT)
        text = `<b>${escapeHtml(message.subject)}</b>\n\n<a href="${escapeHtml(message.historyUrl)}">See them in Stockwatch</a>`;
      const body = JSON.stringify({
        chat_id: target.chat_id,
        text,
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
      });
      const answer = await postHttp(
        `${api}/bot${target.bot_token}/sendMessage`,
        body,
        { 'content-type': 'application/json', 'user-agent': 'Stockwatch/1' },
        { allowPrivate: true, service: 'Telegram' },
      );
      const json = jsonOf(answer) as
        | { ok?: boolean; description?: string; parameters?: { retry_after?: number } }
        | undefined;
      if (answer.status >= 200 && answer.status < 300 && json?.ok !== false) return;
      const retryAfter = json?.parameters?.retry_after;
      throw answerError(
        'Telegram',
        answer,
        json?.description,
        typeof retryAfter === 'number' && retryAfter >= 0 ? retryAfter * 1000 : undefined,
      );
    },
  };
}
