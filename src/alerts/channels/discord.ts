import type { LeasedDelivery } from '../deliveries.repo.ts';
import type { AlertMessage } from '../message.ts';
import type { Channel } from './channel.ts';
import { answerError, jsonOf, postHttp, retryAfterHeaderMs } from './http.ts';

/** Discord allows 10 embeds per message (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
const MAX_EMBEDS = 10;

/**
 * Discord execute webhook (https://discord.com/developers/docs/resources/webhook#execute-webhook):
 * a JSON POST with `content` and up to ten embeds, one per alert. `?wait=true` makes Discord confirm
 * the message was created (200 with the message) instead of 204 before it is. `allowed_mentions` with
 * no parse types keeps a symbol or text from pinging anyone. A 429 carries `retry_after` (seconds,
 * fractional) in its JSON body, and the same in `Retry-After`; the body is the precise one.
 */
export function createDiscordChannel(deps: { allowPrivate: boolean }): Channel<'discord'> {
  return {
    async send(_delivery: LeasedDelivery, message: AlertMessage, target) {
      const shown = message.items.slice(0, MAX_EMBEDS);
      const more = message.items.length - shown.length;
      const body = JSON.stringify({
        content: (more > 0
          ? `${message.subject} (${more} more: ${message.historyUrl})`
          : message.subject
        ).slice(0, 2000),
        embeds: shown.map((i, index) => ({
          title: `${i.symbol} at ${i.price}`,
          description: `${i.symbol} ${i.condition}`,
          url: i.symbolUrl,
          timestamp: message.alerts[index]!.priceAt.toISOString(),
        })),
        allowed_mentions: { parse: [] },
      });
      const url = new URL(target.webhook_url);
      url.searchParams.set('wait', 'true');
      const answer = await postHttp(
        url.toString(),
        body,
        { 'content-type': 'application/json', 'user-agent': 'Stockwatch/1' },
        { allowPrivate: deps.allowPrivate, service: 'Discord' },
      );
      if (answer.status >= 200 && answer.status < 300) return;
      const json = jsonOf(answer) as { message?: string; retry_after?: number } | undefined;
      const retryAfterMs =
        typeof json?.retry_after === 'number' && json.retry_after >= 0
          ? Math.ceil(json.retry_after * 1000)
          : retryAfterHeaderMs(answer.headers);
      throw answerError('Discord', answer, json?.message, retryAfterMs);
    },
  };
}
