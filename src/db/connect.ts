import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { ExtractTablesWithRelations, SQL } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { PACKAGE_ROOT } from '../shared/paths.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** What every repository method accepts: the database, or a transaction it should join. */
export type Executor = Database | Transaction;

export type TransactionRunner = <T>(work: (tx: Executor) => Promise<T>) => Promise<T>;

export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: 'pglite' | 'postgres';
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  readonly transaction: TransactionRunner;
  /** Applies pending migrations; safe when several processes start at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = path.join(PACKAGE_ROOT, 'src/db/migrations');
// Any fixed number works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK_KEY = 7_265_312_001;

// int8 as a JS number: volumes and counts stay far below 2^53, and the API speaks JSON numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export interface ConnectOptions {
  /** PostgreSQL URL; unset means PGlite in `dataDir`, and `memory://` a throw-away PGlite in memory. */
  databaseUrl: string | undefined;
  dataDir: string;
  poolSize?: number;
}

export async function connectDatabase(options: ConnectOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl === 'memory://') return connectPglite('memory://');
  if (options.databaseUrl) return connectPostgres(options.databaseUrl, options.poolSize ?? 20);
  const folder = path.join(options.dataDir, 'pglite');
  const template = pgliteTemplate();
  if (!existsSync(path.join(folder, 'PG_VERSION')) && existsSync(template)) {
    // Copied aside and renamed: a start stopped halfway must not leave a folder that looks made.
    const copying = `${folder}.copying`;
    rmSync(copying, { recursive: true, force: true });
    cpSync(template, copying, { recursive: true });
    rmSync(folder, { recursive: true, force: true });
    renameSync(copying, folder);
  }
  mkdirSync(folder, { recursive: true });
  return connectPglite(folder);
}

// PostgreSQL's default 128 MB buffer pool, resident in the WebAssembly heap, was a third of the memory of
// `stockwatch all` (docs/PERFORMANCE.md); the files stay cached by the OS anyway. A start parameter, not
// PGlite's `postgresqlconf`, which would overwrite the data folder's postgresql.conf (time zone included).
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * An empty database folder with every migration applied, which `npm ci` builds
 * (`npm run build:pglite`). A new DATA_DIR starts as a copy of it instead of running initdb, which
 * takes seconds and leaves hundreds of MB of WebAssembly memory touched, and resident, for the life
 * of the process (PGlite's own tarball loading left 150 MB more than this copy). Its name carries a
 * digest of the migrations it holds: after any change to them it is ignored until rebuilt, and a new
 * database is made the slow way, by initdb and the migrations. A function, not a constant: only a new
 * embedded folder needs it, and the digest reads every migration file.
 */
export const pgliteTemplate = () => path.join(PACKAGE_ROOT, `dist/pglite-template-${migrationsDigest()}`);

function migrationsDigest(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(migrationsFolder)
    .filter((f) => f.endsWith('.sql'))
    .sort())
    hash.update(file).update(readFileSync(path.join(migrationsFolder, file)));
  hash.update(readFileSync(path.join(migrationsFolder, 'meta/_journal.json')));
  return hash.digest('hex').slice(0, 16);
}

/** Writes the template (and drops templates of other migrations). */
export async function buildPgliteTemplate(target = pgliteTemplate()): Promise<void> {
  const dir = path.dirname(target);
  mkdirSync(dir, { recursive: true });
  for (const old of readdirSync(dir).filter((f) => f.startsWith('pglite-template-')))
    rmSync(path.join(dir, old), { recursive: true, force: true });
  // Built aside and renamed, so that a stopped build never leaves a half-made template.
  const building = `${target}.building`;
  const client = await PGlite.create(building, { startParams: PGLITE_START_PARAMS });
  try {
    await migratePglite(drizzlePglite({ client }), { migrationsFolder });
  } finally {
    await client.close();
  }
  renameSync(building, target);
}

async function connectPglite(location: string): Promise<DatabaseHandle> {
  const client = await PGlite.create(location, { startParams: PGLITE_START_PARAMS });
  const db = drizzlePglite({ client, schema }) as unknown as Database;
  return {
    db,
    kind: 'pglite',
    transaction: (work) => db.transaction((tx) => work(tx)),
    // One process owns a PGlite folder, so there is nobody to race with.
    migrate: () => migratePglite(db as never, { migrationsFolder }),
    close: () => client.close(),
  };
}

async function connectPostgres(databaseUrl: string, poolSize: number): Promise<DatabaseHandle> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: 5000 });
  // An idle client losing its server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = drizzlePg({ client: pool, schema }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    transaction: (work) => pgTransaction(pool, work),
    async migrate() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        // Servers starting together queue here; the later ones find nothing left to apply.
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        await migratePg(drizzlePg({ client }), { migrationsFolder });
      } finally {
        await client.end();
      }
    },
    close: () => pool.end(),
  };
}

// Building a Drizzle instance walks the whole schema (about 0.3 ms with fourteen tables, per
// transaction); one per pooled connection, reused while the pool keeps it, costs that once.
const transactionDbs = new WeakMap<pg.PoolClient, Database>();
function transactionDb(client: pg.PoolClient): Database {
  let db = transactionDbs.get(client);
  if (!db) {
    db = drizzlePg({ client, schema }) as unknown as Database;
    transactionDbs.set(client, db);
  }
  return db;
}

/**
 * Drizzle's own transaction leaks the pooled client when BEGIN fails (the database just went away),
 * and returns a broken client to the pool; this one releases it in every case and discards it
 * after a failure, so that an outage never exhausts the pool.
 */
async function pgTransaction<T>(pool: pg.Pool, work: (tx: Executor) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client whose server vanishes emits 'error'; unheard, it would end the process.
  const ignore = () => {};
  client.on('error', ignore);
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(transactionDb(client));
    await client.query('COMMIT');
    return result;
  } catch (error) {
    failure = error as Error;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.off('error', ignore);
    client.release(failure && isDatabaseUnavailable(failure) ? failure : undefined);
  }
}

/** Runs raw SQL and returns its rows, whichever driver is underneath. */
export async function queryRows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const result = (await executor.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/** True when an error means "the database cannot be reached right now", as opposed to a bad query. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
    if (
      typeof message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect/i.test(message)
    )
      return true;
  }
  return false;
}
