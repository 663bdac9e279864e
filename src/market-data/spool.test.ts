import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSpool, SpoolCorruptError } from './spool.ts';
import type { Bar } from './types.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stockwatch-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bar = (minute: number): Bar => ({
  symbol: 'IBM',
  timestamp: new Date(Date.UTC(2025, 2, 7, 19, minute)).toISOString(),
  price: 260 + minute / 100,
  volume: 1000 + minute,
});

describe('spool', () => {
  it('keeps order across appends, peeks without removing, acks from the front', async () => {
    const spool = await openSpool(dir);
    await spool.append([bar(1), bar(2)]);
    await spool.append([bar(3)]);
    expect(spool.size).toBe(3);
    expect(spool.peek(2)).toEqual([bar(1), bar(2)]);
    expect(spool.peek(10)).toEqual([bar(1), bar(2), bar(3)]);
    await spool.ack(2);
    expect(spool.peek(10)).toEqual([bar(3)]);
    await spool.ack(1);
    expect(spool.size).toBe(0);
    expect(spool.peek(1)).toEqual([]);
  });

  it('survives a restart: what was appended and not acked is there after reopening', async () => {
    const first = await openSpool(dir);
    await first.append([bar(1), bar(2), bar(3), bar(4)]);
    await first.ack(1);
    const second = await openSpool(dir);
    expect(second.peek(10)).toEqual([bar(2), bar(3), bar(4)]);
    await second.append([bar(5)]);
    await second.ack(2);
    expect((await openSpool(dir)).peek(10)).toEqual([bar(4), bar(5)]);
    // No temporary file is left behind by the ack.
    expect(await readdir(dir)).toEqual(['spool.jsonl']);
  });

  it('drops a torn last line from a crash mid-append, and appends cleanly after it', async () => {
    const spool = await openSpool(dir);
    await spool.append([bar(1), bar(2)]);
    const file = path.join(dir, 'spool.jsonl');
    // What a crash halfway through writing the third line leaves, cut inside a multi-byte character.
    const third = Buffer.from(JSON.stringify({ ...bar(3), symbol: 'ÆØÅ' }));
    await appendFile(file, third.subarray(0, 20));
    const torn: number[] = [];
    const reopened = await openSpool(dir, { onTornLine: ({ bytes }) => torn.push(bytes) });
    expect(torn).toEqual([20]);
    expect(reopened.peek(10)).toEqual([bar(1), bar(2)]);
    await reopened.append([bar(4)]);
    expect((await openSpool(dir)).peek(10)).toEqual([bar(1), bar(2), bar(4)]);
    expect((await readFile(file, 'utf8')).split('\n')).toHaveLength(4);
  });

  it('refuses to guess when a complete line in the middle is damaged', async () => {
    await writeFile(
      path.join(dir, 'spool.jsonl'),
      `${JSON.stringify(bar(1))}\n{"symbol":\n${JSON.stringify(bar(2))}\n`,
    );
    await expect(openSpool(dir)).rejects.toThrow(SpoolCorruptError);
    await expect(openSpool(dir)).rejects.toThrow(/line 2/);
  });

  it('runs concurrent appends and acks one at a time, losing nothing', async () => {
    const spool = await openSpool(dir);
    await spool.append([bar(0)]);
    await Promise.all([
      spool.append([bar(1)]),
      spool.ack(1),
      spool.append([bar(2), bar(3)]),
      spool.ack(1),
      spool.append([bar(4)]),
    ]);
    expect(spool.peek(10)).toEqual([bar(2), bar(3), bar(4)]);
    expect((await openSpool(dir)).peek(10)).toEqual([bar(2), bar(3), bar(4)]);
  });

  it('refuses to ack what it does not hold, and validates lines when asked to', async () => {
    const spool = await openSpool(dir);
    await spool.append([bar(1)]);
    await expect(spool.ack(2)).rejects.toThrow(RangeError);
    expect(spool.size).toBe(1);
    const strict = openSpool(dir, {
      parse: (value) => {
        if ((value as Bar).symbol !== 'MSFT') throw new Error('not an MSFT bar');
        return value as Bar;
      },
    });
    await expect(strict).rejects.toThrow(/line 1 cannot be read: Error: not an MSFT bar/);
  });
});
