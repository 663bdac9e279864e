import { describeCondition } from '../notifications/conditions.ts';
import type { LeasedDelivery } from './deliveries.repo.ts';

export interface AlertMessage {
  subject: string;
  text: string;
  html: string;
  /** Stable per delivery, so a message sent twice (a notifier died after sending) is recognisably one. */
  messageId: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const money = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 4 });

/** The email for one alert: what happened, when, where to look, and how to make it stop. */
export function renderAlertMessage(d: LeasedDelivery, publicUrl: string): AlertMessage {
  const base = publicUrl.replace(/\/$/, '');
  const condition = describeCondition(d.kind, d.threshold);
  const when = `${d.priceAt.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  const symbolUrl = `${base}/symbols/${encodeURIComponent(d.symbol)}`;
  const manageUrl = d.notificationId ? `${base}/notifications/${d.notificationId}` : `${base}/notifications`;
  const subject = `${d.symbol} ${condition.replace(/^price /, '')}: now ${money(d.price)}`;
  const text = [
    `${d.symbol} is at ${money(d.price)} (${when}).`,
    `Your notification "${d.symbol} ${condition}" fired.`,
    '',
    `Chart: ${symbolUrl}`,
    `Pause or change this notification: ${manageUrl}`,
    '',
    'You receive this because you asked Stockwatch to watch this price.',
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<h2 style="margin:0 0 .5em">${escapeHtml(d.symbol)} at ${escapeHtml(money(d.price))}</h2>
<p>Your notification <strong>${escapeHtml(d.symbol)} ${escapeHtml(condition)}</strong> fired on the price of ${escapeHtml(when)}.</p>
<p><a href="${escapeHtml(symbolUrl)}">Open the ${escapeHtml(d.symbol)} chart</a> ·
<a href="${escapeHtml(manageUrl)}">Pause or change this notification</a></p>
<p style="color:#666;font-size:.9em">You receive this because you asked Stockwatch to watch this price.</p>
</body></html>`;
  const host = new URL(base).hostname || 'stockwatch.local';
  return { subject, text, html, messageId: `<${d.id}@${host}>` };
}
