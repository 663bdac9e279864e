import type { LeasedDelivery } from '../deliveries.repo.ts';
import type { AlertMessage } from '../message.ts';
import type { Channel } from './channel.ts';
import { answerError, postHttp, retryAfterHeaderMs } from './http.ts';

/** Slack's mrkdwn needs only these three escaped (https://api.slack.com/reference/surfaces/formatting). */
const escapeMrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Slack incoming webhooks (https://api.slack.com/messaging/webhooks): a JSON POST of `text` (the
 * notification and fallback) and `blocks` to the webhook URL, which is the secret. Slack answers 200
 * `ok`, a 4xx with a plain-text reason (`invalid_token`, `channel_is_archived`: permanent), or 429 with
 * `Retry-After`. The URL may be any host: Mattermost and others accept the same payload.
 */
export function createSlackChannel(deps: { allowPrivate: boolean }): Channel<'slack'> {
  return {
    async send(_delivery: LeasedDelivery, message: AlertMessage, target) {
      const lines = message.items.map(
        (i) =>
          `• <${i.symbolUrl}|${escapeMrkdwn(i.symbol)}> is at *${escapeMrkdwn(i.price)}* (${escapeMrkdwn(i.when)}): ${escapeMrkdwn(`${i.symbol} ${i.condition}`)}`,
      );
      const body = JSON.stringify({
        text: message.subject,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: message.subject.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 3000) } },
          {
            type: 'context',
            elements: [{ type: 'mrkdwn', text: `<${message.historyUrl}|Your alerts in Stockwatch>` }],
          },
        ],
      });
      const answer = await postHttp(
        target.webhook_url,
        body,
        { 'content-type': 'application/json', 'user-agent': 'Stockwatch/1' },
        { allowPrivate: deps.allowPrivate, service: 'Slack' },
      );
      if (answer.status >= 200 && answer.status < 300) return;
      throw answerError('Slack', answer, undefined, retryAfterHeaderMs(answer.headers));
    },
  };
}
