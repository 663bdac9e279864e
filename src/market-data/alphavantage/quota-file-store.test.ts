import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQuota } from './quota.ts';
import { createFileQuotaStore } from './quota-file-store.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'stockwatch-quota-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('file quota store', () => {
  it('carries the day’s count from one process to the next, as cron runs of --once need', async () => {
    const file = path.join(dir, 'client', 'quota.json');
    let now = Date.parse('2025-03-10T15:00:00Z');
    const clock = { now: () => now };
    const limits = { perMinute: 5, perDay: 3 };
    const first = createQuota({ clock, limits, store: createFileQuotaStore(file) });
    expect(await first.take()).toEqual({ allowed: true });
    expect(await first.take()).toEqual({ allowed: true });

    now += 10 * 60_000;
    const second = createQuota({ clock, limits, store: createFileQuotaStore(file) });
    expect(await second.remaining()).toMatchObject({ day: 1, minute: 5 });
    expect(await second.take()).toEqual({ allowed: true });
    expect(await second.take()).toMatchObject({ allowed: false, reason: 'day' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ day: '2025-03-10', dayCount: 3 });
  });

  it('remembers a refusal from the provider across restarts', async () => {
    const file = path.join(dir, 'quota.json');
    const clock = { now: () => Date.parse('2025-03-10T15:00:00Z') };
    await createQuota({ clock, store: createFileQuotaStore(file) }).exhaust('day');
    const later = createQuota({ clock, store: createFileQuotaStore(file) });
    expect(await later.check()).toMatchObject({ allowed: false, reason: 'blocked' });
    expect(await later.remaining()).toMatchObject({
      day: 0,
      minute: 0,
      blockedUntil: Date.parse('2025-03-11T04:00:05Z'),
    });
  });

  it('treats a damaged file as empty instead of refusing to start', async () => {
    const file = path.join(dir, 'quota.json');
    writeFileSync(file, '{"recent": "garbage"');
    const quota = createQuota({
      clock: { now: () => Date.parse('2025-03-10T15:00:00Z') },
      store: createFileQuotaStore(file),
    });
    expect(await quota.take()).toEqual({ allowed: true });
  });
});
