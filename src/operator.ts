import { readFileSync } from 'node:fs';
import path from 'node:path';

export class OperatorError extends Error {
  override name = 'OperatorError';
}

export function serverInfoPath(dataDir: string) {
  return path.join(dataDir, 'server.json');
}

export interface ServerInfo {
  pid: number;
  address: string;
  database: 'pglite' | 'postgres';
  /** Accepted by the server's loopback-only /operator routes (stockwatch users|tokens create). */
  operatorToken?: string;
}

/** The running server that owns DATA_DIR, if any (a stale file of a dead process does not count). */
export function runningServer(dataDir: string): ServerInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(serverInfoPath(dataDir), 'utf8')) as ServerInfo;
    process.kill(info.pid, 0);
    return info.pid === process.pid ? undefined : info;
  } catch {
    return undefined;
  }
}

/** PGlite is owned by one process: a second one opening the same folder would corrupt it. */
export function assertNoEmbeddedServer(dataDir: string) {
  const info = runningServer(dataDir);
  if (info)
    throw new OperatorError(
      `Stockwatch is already running on the embedded database in ${dataDir} (pid ${info.pid}, ${info.address}). ` +
        'Stop it first; it applies migrations itself when it starts.',
    );
}
