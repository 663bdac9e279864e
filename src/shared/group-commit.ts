/**
 * Group commit: requests that arrive while earlier ones are being written wait and are then written
 * together in one transaction. Nobody waits on a timer, a lone request is written at once, and under
 * load the number of transactions stays at `maxConcurrent` however many requests come in.
 * Each caller's promise settles only after the transaction that carried its items has committed.
 */
export interface GroupCommitter<T, R> {
  submit(items: T[]): Promise<R>;
  /** Resolves once everything submitted so far has been written (or has failed). */
  drain(): Promise<void>;
}

interface Pending<T, R> {
  items: T[];
  resolve(result: R): void;
  reject(error: unknown): void;
}

export function createGroupCommitter<T, R>(options: {
  /** Writes the groups' items in one transaction and returns one result per group, in order. */
  write(groups: T[][]): Promise<R[]>;
  maxConcurrent: number;
  /** Items per transaction before the rest waits for the next one. */
  maxItems: number;
}): GroupCommitter<T, R> {
  const queue: Array<Pending<T, R>> = [];
  let running = 0;
  const idle: Array<() => void> = [];

  const takeGroup = () => {
    const taken: Array<Pending<T, R>> = [];
    let count = 0;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (taken.length > 0 && count + next.items.length > options.maxItems) break;
      taken.push(queue.shift()!);
      count += next.items.length;
    }
    return taken;
  };

  const pump = () => {
    while (running < options.maxConcurrent && queue.length > 0) {
      const group = takeGroup();
      running++;
      options
        .write(group.map((p) => p.items))
        .then(
          (results) => {
            for (const [i, p] of group.entries()) p.resolve(results[i] as R);
          },
          (error: unknown) => {
            for (const p of group) p.reject(error);
          },
        )
        .finally(() => {
          running--;
          pump();
          if (running === 0 && queue.length === 0) for (const done of idle.splice(0)) done();
        });
    }
  };

  return {
    submit(items) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ items, resolve, reject });
        pump();
      });
    },
    drain() {
      if (running === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
