import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Bar } from './types.ts';

/**
 * A durable queue of what the server has not acknowledged yet, one JSON document per line.
 *
 * Appends are fsynced before they resolve, so a bar handed to the spool survives a crash. Acks rewrite
 * the rest to a temporary file and rename it over the spool: a crash leaves either the old file or the
 * new one, never a mix. A crash mid-append can leave a torn last line; opening drops it, since its
 * append never resolved and so was never promised. One process owns a spool folder at a time.
 */

export interface Spool<T> {
  /** Items waiting. */
  readonly size: number;
  /** Adds `items` at the end; resolves once they are on disk. */
  append(items: readonly T[]): Promise<void>;
  /** The first `n` items, oldest first, without removing them. */
  peek(n: number): readonly T[];
  /** Removes the first `n` items for good. */
  ack(n: number): Promise<void>;
}

export interface SpoolOptions<T> {
  /** File name inside the folder; `spool.jsonl` by default. */
  fileName?: string;
  /** Checks each stored line on open; return the item or throw. */
  parse?: (value: unknown) => T;
  /** Told when a torn last line was dropped on open. */
  onTornLine?: (info: { file: string; bytes: number }) => void;
}

export class SpoolCorruptError extends Error {
  override name = 'SpoolCorruptError';
}

export async function openSpool<T = Bar>(dir: string, options: SpoolOptions<T> = {}): Promise<Spool<T>> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, options.fileName ?? 'spool.jsonl');
  const parse = options.parse ?? ((value: unknown) => value as T);
  const { lines, completeBytes, tornBytes } = await readLines(file);
  if (tornBytes > 0) {
    await truncateTo(file, completeBytes);
    options.onTornLine?.({ file, bytes: tornBytes });
  }
  const items = lines.map((line, i) => {
    try {
      return parse(JSON.parse(line));
    } catch (error) {
      // Only the last line can tear; a bad complete line is damage this code cannot explain, so stop
      // rather than drop bars silently.
      throw new SpoolCorruptError(`Spool '${file}' line ${i + 1} cannot be read: ${String(error)}`, {
        cause: error,
      });
    }
  });
  await syncDir(dir);

  // Operations run one at a time: an ack rewriting the file must not race an append to it.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <R>(task: () => Promise<R>): Promise<R> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    get size() {
      return items.length;
    },

    append(batch) {
      return serially(async () => {
        if (batch.length === 0) return;
        const encoded = batch.map((item) => JSON.stringify(item));
        const handle = await open(file, 'a');
        try {
          await handle.writeFile(`${encoded.join('\n')}\n`);
          await handle.sync();
        } finally {
          await handle.close();
        }
        lines.push(...encoded);
        items.push(...batch);
      });
    },

    peek(n) {
      return items.slice(0, Math.max(0, n));
    },

    ack(n) {
      return serially(async () => {
        if (!Number.isInteger(n) || n < 0 || n > items.length) {
          throw new RangeError(`Cannot ack ${n} items of a spool holding ${items.length}`);
        }
        if (n === 0) return;
        const rest = lines.slice(n);
        const temp = `${file}.tmp`;
        const handle = await open(temp, 'w');
        try {
          await handle.writeFile(rest.length ? `${rest.join('\n')}\n` : '');
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, file);
        await syncDir(dir);
        lines.splice(0, n);
        items.splice(0, n);
      });
    },
  };
}

/** Complete lines, and where the last one ends: bytes after it belong to an append that never finished. */
async function readLines(
  file: string,
): Promise<{ lines: string[]; completeBytes: number; tornBytes: number }> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { lines: [], completeBytes: 0, tornBytes: 0 };
    throw error;
  }
  // Cut on the byte, not the decoded text: a torn tail may end inside a multi-byte character.
  const completeBytes = data.lastIndexOf(0x0a) + 1;
  const lines = data
    .subarray(0, completeBytes)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '');
  return { lines, completeBytes, tornBytes: data.length - completeBytes };
}

async function truncateTo(file: string, bytes: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.truncate(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename or a new file's directory entry durable. */
async function syncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}
