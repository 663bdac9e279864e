import type { LeasedDelivery } from '../deliveries.repo.ts';
import type { AlertMessage } from '../message.ts';
import type { Channel } from './channel.ts';
import { answerError, postHttp, retryAfterHeaderMs } from './http.ts';

/**
 * ntfy (https://docs.ntfy.sh/publish/): a JSON publish to the server's root URL ("publish as JSON"),
 * which carries the topic in the body, so a server behind a path prefix works as well. An access
 * token, when the topic is protected, goes in `Authorization: Bearer`. ntfy answers 429 when the
 * visitor's message limit is hit; that is retried like a 5xx.
 */
export function createNtfyChannel(deps: { allowPrivate: boolean }): Channel<'ntfy'> {
  return {
    async send(_delivery: LeasedDelivery, message: AlertMessage, target) {
      const body = JSON.stringify({
        topic: target.topic,
        title: message.subject,
        message: message.items.map((i) => i.line).join('\n'),
        tags: ['chart_with_upwards_trend'],
        priority: target.priority ?? 4,
        click: message.items.length === 1 ? message.items[0]!.symbolUrl : message.historyUrl,
      });
      const answer = await postHttp(
        `${target.server_url.replace(/\/+$/, '')}/`,
        body,
        {
          'content-type': 'application/json',
          'user-agent': 'Stockwatch/1',
          ...(target.token && { authorization: `Bearer ${target.token}` }),
        },
        { allowPrivate: deps.allowPrivate, service: 'ntfy' },
      );
      if (answer.status >= 200 && answer.status < 300) return;
      // ntfy's errors are JSON: {"code":40301,"http":403,"error":"forbidden",...}
      let detail: string | undefined;
      try {
        detail = (JSON.parse(answer.body) as { error?: string }).error;
      } catch {}
      throw answerError('ntfy', answer, detail, retryAfterHeaderMs(answer.headers));
    },
  };
}
