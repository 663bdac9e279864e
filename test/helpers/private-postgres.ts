import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './process.ts';

const run = promisify(execFile);

/** The PostgreSQL 15 binaries of Debian's package; POSTGRES_BIN_DIR overrides. */
const BIN_DIR = process.env.POSTGRES_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/stockwatch`, trust authentication. */
  readonly url: string;
  readonly port: number;
  /** Stops the server (fast shutdown: connections are cut, as in a crash of the clients' view). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** `pg_ctl restart -m fast`. */
  restart(): Promise<void>;
  /** Stops the server and deletes its data folder. */
  dispose(): Promise<void>;
}

/**
 * A PostgreSQL cluster of its own, on a free port in a temporary folder, that a test may stop and
 * restart without touching the machine's shared server (other suites and people use that one).
 * initdb refuses to run as root, so as root the binaries run as the `postgres` OS user.
 */
export async function startPrivatePostgres(options: { database?: string } = {}): Promise<PrivatePostgres> {
  const database = options.database ?? 'stockwatch';
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'stockwatch-pg-'));
  const dataDir = path.join(dir, 'data');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    const { stdout: gidOut } = await run('id', ['-g', 'postgres']);
    chownSync(dir, uid, Number(gidOut.trim()));
  }
  const pgUser = (command: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', path.join(BIN_DIR, command), ...args], { cwd: dir })
      : run(path.join(BIN_DIR, command), args, { cwd: dir });

  const port = await freePort();
  await pgUser('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  // Fast and throw-away: no fsync; a few connections more than two servers, two notifiers and a test need.
  const ctlOptions = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  const logFile = path.join(dir, 'postgres.log');
  const start = async () => {
    await pgUser('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', ctlOptions, '-w', '-t', '60', 'start']);
  };
  const stop = async () => {
    await pgUser('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => {});
  };
  await start();
  await pgUser('psql', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'postgres',
    '-c',
    `CREATE DATABASE ${database}`,
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    port,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
