import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../operator.ts';

/**
 * What a client keeps in its folder (DATA_DIR/client) besides the spool: a stable id for the status it
 * reports, and per symbol the newest bar it fetched and when the provider last answered, so that a
 * restarted client resumes where it stopped rather than from nothing.
 */

export interface SymbolProgress {
  /** ISO instant of the newest bar fetched (spooled, whether or not the server has it yet). */
  newestBarAt?: string;
  /** ISO instant of the provider's last successful answer for the symbol. */
  lastSuccessAt?: string;
}

export interface ClientState {
  clientId: string;
  symbols: Record<string, SymbolProgress>;
}

export interface ClientStateStore {
  load(): ClientState;
  save(state: ClientState): void;
}

/** In one JSON file, replaced whole by rename so that a crash leaves the old or the new state. */
export function createFileStateStore(dir: string): ClientStateStore {
  const file = path.join(dir, 'state.json');
  let written = '';
  return {
    load() {
      try {
        const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ClientState>;
        if (typeof parsed.clientId === 'string' && typeof parsed.symbols === 'object' && parsed.symbols)
          return { clientId: parsed.clientId, symbols: parsed.symbols };
      } catch {
        // Missing or damaged: start afresh. Losing it costs a re-sent window, which the server dedupes.
      }
      return { clientId: randomUUID(), symbols: {} };
    },
    save(state) {
      const text = `${JSON.stringify(state, null, 2)}\n`;
      if (text === written) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
      written = text;
    },
  };
}

export function createMemoryStateStore(initial?: ClientState): ClientStateStore {
  let state: ClientState = initial ?? { clientId: randomUUID(), symbols: {} };
  return {
    load: () => structuredClone(state),
    save(next) {
      state = structuredClone(next);
    },
  };
}

export class ClientLockedError extends OperatorError {
  override name = 'ClientLockedError';
}

/**
 * One client per folder: two would interleave appends and acks in one spool. Returns the release
 * function. A lock left by a process that died (SIGKILL, power cut) is taken over.
 */
export function lockClientDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'client.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder))
      throw new ClientLockedError(
        `Another stockwatch client (pid ${holder}) is using ${dir}. Stop it, or give this one its own DATA_DIR.`,
      );
    rmSync(file, { force: true });
  }
  throw new ClientLockedError(`Could not take the client lock in ${dir}; another client is starting there`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
