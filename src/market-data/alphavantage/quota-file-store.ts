import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { QuotaState, QuotaStore } from './quota.ts';

/**
 * Keeps the quota's count in a file, so that a restarted client, or `stockwatch client --once` run from
 * cron every few minutes, still knows how many of the day's calls are gone. In memory each run would
 * start from zero and a free key's 25 calls would be spent by lunchtime.
 *
 * Writes go to a temporary file renamed over the old one, so a crash leaves one whole state. They are
 * not fsynced: a power cut can forget the last call or two, which costs at most a provider refusal that
 * the client already handles. One process uses the file at a time (the client's lock sees to that).
 */
export function createFileQuotaStore(file: string): QuotaStore {
  let queue: Promise<unknown> = Promise.resolve();
  let known: string | undefined;

  async function load(): Promise<QuotaState> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw error;
    }
    known = text;
    return parseState(text) ?? emptyState();
  }

  async function save(state: QuotaState): Promise<void> {
    const text = `${JSON.stringify(state)}\n`;
    if (text === known) return;
    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.tmp`;
    await writeFile(temp, text, { mode: 0o600 });
    await rename(temp, file);
    known = text;
  }

  return {
    update(change) {
      // Read-modify-write one at a time, as the QuotaStore contract asks.
      const run = queue.then(async () => {
        const next = change(await load());
        await save(next.state);
        return next.result;
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

function emptyState(): QuotaState {
  return { recent: [], day: '', dayCount: 0, blockedUntil: 0 };
}

/** A damaged file is treated as empty rather than stopping the client: the provider still enforces its limit. */
function parseState(text: string): QuotaState | undefined {
  try {
    const v = JSON.parse(text) as Partial<QuotaState>;
    if (
      Array.isArray(v.recent) &&
      v.recent.every((t) => typeof t === 'number') &&
      typeof v.day === 'string' &&
      typeof v.dayCount === 'number' &&
      typeof v.blockedUntil === 'number'
    )
      return { recent: v.recent, day: v.day, dayCount: v.dayCount, blockedUntil: v.blockedUntil };
  } catch {}
  return undefined;
}
