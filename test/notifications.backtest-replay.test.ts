import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/connect.ts';
import { createCsvProvider } from '../src/market-data/providers/csv.ts';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';

const SYMBOL = 'RPLY';
const FIRST = Date.parse('2025-06-02T13:30:00Z');
const DAYS = 14;
const BARS_PER_DAY = 27; // 09:30–16:00 New York every 15 minutes

/** A deterministic random walk with a few volume bursts, as the client's CSV format writes it. */
function csv(): { text: string; count: number } {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const lines = ['symbol,timestamp,open,high,low,close,volume'];
  let price = 100;
  for (let d = 0; d < DAYS; d++)
    for (let b = 0; b < BARS_PER_DAY; b++) {
      const at = FIRST + d * 86_400_000 + b * 15 * 60_000;
      const open = price;
      // Up, then down in the second week, so that 52-week highs and lows both happen.
      price =
        Math.round(
          price * (1 + (random() - (d === 7 || d === 8 ? 0.35 : d >= 10 ? 0.8 : 0.5)) * 0.03) * 100,
        ) / 100;
      const high = Math.round(Math.max(open, price) * (1 + random() * 0.004) * 100) / 100;
      const low = Math.round(Math.min(open, price) * (1 - random() * 0.004) * 100) / 100;
      const volume = Math.round(1000 + random() * 1000) * (random() < 0.05 ? 4 : 1);
      lines.push(`${SYMBOL},${new Date(at).toISOString()},${open},${high},${low},${price},${volume}`);
    }
  return { text: `${lines.join('\n')}\n`, count: DAYS * BARS_PER_DAY };
}

const RULES: Array<Record<string, unknown>> = [
  { condition: 'price > 101', cooldown_minutes: 60 },
  { condition: 'crosses_below', threshold: 99, cooldown_minutes: 0 },
  { condition: 'change_pct_from_close', threshold: 1.5, direction: 'either', cooldown_minutes: 120 },
  { condition: 'change_pct_from_close', threshold: 2, direction: 'down', cooldown_minutes: 0 },
  { condition: 'move_pct_within', threshold: 1.5, window_minutes: 60, direction: 'up', cooldown_minutes: 30 },
  { condition: 'move_pct_within', threshold: 2, window_minutes: 240, direction: 'either', trigger: 'once' },
  { condition: 'new_high_52w', cooldown_minutes: 0 },
  { condition: 'new_low_52w', cooldown_minutes: 60 },
  { condition: 'sma_cross', fast: 5, slow: 20, direction: 'up', cooldown_minutes: 0 },
  { condition: 'sma_cross', fast: 3, slow: 8, direction: 'down', cooldown_minutes: 0 },
  { condition: 'volume_spike', threshold: 2, periods: 10, cooldown_minutes: 0 },
  { condition: 'volume_spike', threshold: 3, periods: 20, cooldown_minutes: 180 },
];

describe.each(BACKENDS)('backtest equals live evaluation of a CSV replay on %s', (backend) => {
  const clock = manualClock(new Date(FIRST));
  let t: TestApp;
  let dir: string;
  let userId: string;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock });
    userId = (await insertUser(t.runtime, 'replay@example.com')).id;
    dir = mkdtempSync(path.join(tmpdir(), 'stockwatch-replay-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fires, bar for bar, exactly where the backtest of each rule says it would have', async () => {
    const { text, count } = csv();
    const file = path.join(dir, 'bars.csv');
    writeFileSync(file, text);
    const ids: string[] = [];
    for (const body of RULES)
      ids.push(
        (await t.runtime.services.notifications.create({ id: userId }, { symbol: SYMBOL, ...body } as never))
          .id,
      );

    // The client's CSV provider at the file's own pace on a manual clock: each poll yields the bar that is
    // due, stamped with the replay instant (here the file's own times), and goes to ingest by itself.
    const provider = createCsvProvider({ file, speed: 1, clock, loop: false, minDelayMs: 0 });
    let sent = 0;
    while (sent < count) {
      clock.advance(provider.nextPollDelayMs());
      for (const bar of await provider.poll([SYMBOL])) {
        await t.runtime.services.prices.ingest(bar);
        sent++;
      }
    }

    const silent: unknown[] = [];
    for (const [i, body] of RULES.entries()) {
      const live = await queryRows<{ price_at: Date; price: number }>(
        t.runtime.database.db,
        sql`SELECT price_at, price FROM alerts WHERE notification_id = ${ids[i]!}::uuid ORDER BY price_at`,
      );
      const result = await t.runtime.services.notifications.backtest({ id: userId }, {
        symbol: SYMBOL,
        ...body,
        start_time: new Date(FIRST).toISOString(),
        end_time: new Date(clock.now().getTime() + 1).toISOString(), // the range's end is exclusive
      } as never);
      expect(result.evaluated_points).toBe(count);
      expect({ rule: body, firings: result.firings.map((f) => [f.timestamp, f.price]) }).toEqual({
        rule: body,
        firings: live.map((a) => [new Date(a.price_at).toISOString(), a.price]),
      });
      if (live.length === 0) silent.push(body);
    }
    // The series is made for every rule to fire; a comparison of empty lists would prove nothing.
    expect(silent).toEqual([]);
  });
});
