import { describeCondition } from '../notifications/conditions.ts';
import type { LeasedDelivery } from './deliveries.repo.ts';

/** One alert of a message, formatted once for every channel. */
export interface AlertItem {
  deliveryId: string;
  symbol: string;
  /** `price > 150` */
  condition: string;
  /** `151.25` */
  price: string;
  /** `2025-06-02 14:00:00 UTC` */
  when: string;
  symbolUrl: string;
  manageUrl: string;
  /** `AAPL is at 151.25 (2025-06-02 14:00:00 UTC): price > 150` */
  line: string;
}

export interface AlertMessage {
  subject: string;
  text: string;
  html: string;
  /** Stable per message (its first delivery), so a message sent twice is recognisably one. */
  messageId: string;
  /** What the message reports, oldest first: one alert, or several when grouped. */
  alerts: LeasedDelivery[];
  items: AlertItem[];
  /** The user's alert history, for "and N more" and links. */
  historyUrl: string;
}

/** A grouped message lists at most this many alerts and counts the rest. */
export const MAX_LISTED = 50;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const money = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 4 });

function itemOf(d: LeasedDelivery, base: string): AlertItem {
  const condition = describeCondition(d.kind, d.threshold);
  const when = `${d.priceAt.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  const price = money(d.price);
  return {
    deliveryId: d.id,
    symbol: d.symbol,
    condition,
    price,
    when,
    symbolUrl: `${base}/symbols/${encodeURIComponent(d.symbol)}`,
    manageUrl: d.notificationId ? `${base}/notifications/${d.notificationId}` : `${base}/notifications`,
    line: `${d.symbol} is at ${price} (${when}): ${d.symbol} ${condition}`,
  };
}

/**
 * The message for one alert, or for several of one user and channel that were grouped (quiet hours,
 * group window): a subject naming them, and a list with each alert's price, time and links.
 */
export function renderAlertMessage(
  group: LeasedDelivery | LeasedDelivery[],
  publicUrl: string,
): AlertMessage {
  const alerts = Array.isArray(group) ? group : [group];
  const first = alerts[0]!;
  const base = publicUrl.replace(/\/$/, '');
  const items = alerts.map((d) => itemOf(d, base));
  const host = new URL(base).hostname || 'stockwatch.local';
  const historyUrl = `${base}/alerts`;
  const common = { messageId: `<${first.id}@${host}>`, alerts, items, historyUrl };
  const footer = 'You receive this because you asked Stockwatch to watch this price.';
  if (items.length === 1) {
    const d = first;
    const it = items[0]!;
    const subject = `${d.symbol} ${it.condition.replace(/^price /, '')}: now ${it.price}`;
    const text = [
      `${d.symbol} is at ${it.price} (${it.when}).`,
      `Your notification "${d.symbol} ${it.condition}" fired.`,
      '',
      `Chart: ${it.symbolUrl}`,
      `Pause or change this notification: ${it.manageUrl}`,
      '',
      footer,
    ].join('\n');
    const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<h2 style="margin:0 0 .5em">${escapeHtml(d.symbol)} at ${escapeHtml(it.price)}</h2>
<p>Your notification <strong>${escapeHtml(d.symbol)} ${escapeHtml(it.condition)}</strong> fired on the price of ${escapeHtml(it.when)}.</p>
<p><a href="${escapeHtml(it.symbolUrl)}">Open the ${escapeHtml(d.symbol)} chart</a> ·
<a href="${escapeHtml(it.manageUrl)}">Pause or change this notification</a></p>
<p style="color:#666;font-size:.9em">${footer}</p>
</body></html>`;
    return { subject, text, html, ...common };
  }

  const listed = items.slice(0, MAX_LISTED);
  const more = items.length - listed.length;
  const symbols = [...new Set(items.map((i) => i.symbol))];
  const named = symbols.slice(0, 5).join(', ') + (symbols.length > 5 ? ', …' : '');
  const subject = `${items.length} alerts: ${named}`;
  const text = [
    `${items.length} of your notifications fired:`,
    '',
    ...listed.flatMap((i) => [`- ${i.line}`, `  Chart: ${i.symbolUrl} · Manage: ${i.manageUrl}`]),
    ...(more > 0 ? ['', `…and ${more} more: ${historyUrl}`] : []),
    '',
    `All your alerts: ${historyUrl}`,
    '',
    footer,
  ].join('\n');
  const rows = listed
    .map(
      (i) =>
        `<li><strong>${escapeHtml(i.symbol)}</strong> at ${escapeHtml(i.price)} (${escapeHtml(i.when)}): ${escapeHtml(i.symbol)} ${escapeHtml(i.condition)} · <a href="${escapeHtml(i.symbolUrl)}">chart</a> · <a href="${escapeHtml(i.manageUrl)}">manage</a></li>`,
    )
    .join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">
<h2 style="margin:0 0 .5em">${items.length} alerts</h2>
<ul>
${rows}
</ul>
${more > 0 ? `<p>…and ${more} more.</p>` : ''}
<p><a href="${escapeHtml(historyUrl)}">All your alerts</a></p>
<p style="color:#666;font-size:.9em">${footer}</p>
</body></html>`;
  return { subject, text, html, ...common };
}
