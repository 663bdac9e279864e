import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDatabase, pgliteTemplate, queryRows } from '../src/db/connect.ts';

const journal = JSON.parse(readFileSync('src/db/migrations/meta/_journal.json', 'utf8')) as {
  entries: unknown[];
};

// A new DATA_DIR starts as a copy of the template `npm ci` builds, with every migration already
// applied: no initdb (seconds, and memory the process keeps), and the data it then stores persists.
describe('the PGlite template', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stockwatch-template-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('exists for the current migrations (npm ci builds it: npm run build:pglite)', () => {
    expect(existsSync(pgliteTemplate()), pgliteTemplate()).toBe(true);
  });

  it('gives a new folder every migration before migrate() runs, and keeps what is stored', async () => {
    const first = await connectDatabase({ databaseUrl: undefined, dataDir });
    const applied = await queryRows<{ n: number }>(
      first.db,
      sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`,
    );
    expect(applied[0]?.n).toBe(journal.entries.length);
    await first.migrate();
    await first.db.execute(sql`INSERT INTO symbols (symbol, last_price, last_ts) VALUES ('TPL', 1, now())`);
    await first.close();

    const again = await connectDatabase({ databaseUrl: undefined, dataDir });
    const rows = await queryRows<{ symbol: string }>(again.db, sql`SELECT symbol FROM symbols`);
    expect(rows.map((r) => r.symbol)).toEqual(['TPL']);
    await again.close();
    expect(existsSync(path.join(dataDir, 'pglite.copying'))).toBe(false);
  });
});
