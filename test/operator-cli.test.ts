import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT, type RunningProcess, spawnStockwatch } from './helpers/process.ts';
import { createTestApp, createTestDatabase } from './helpers/runtime.ts';

/** Runs `stockwatch <args>` to completion, keeping stdout and stderr apart. */
function stockwatch(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'bin/stockwatch.mjs'), ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const TOKEN = /^sw_[A-Za-z0-9_-]{43}\n$/;
// Each command is a Node process that starts tsx and opens a database: seconds each on a busy machine.

describe('operator commands on the embedded database, while the server runs', { timeout: 120_000 }, () => {
  let dataDir: string;
  let server: RunningProcess;
  let address: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'stockwatch-cli-'));
    const port = await freePort();
    env = { DATA_DIR: dataDir, PORT: String(port), MARKET_DATA_PROVIDER: 'none', LOG_LEVEL: 'warn' };
    server = spawnStockwatch(['server'], { ...env, LOG_LEVEL: 'info' });
    await server.waitForOutput(/Stockwatch is up/, 150_000);
    address = `http://127.0.0.1:${port}`;
  }, 180_000);
  afterAll(async () => {
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves an operator token for them in server.json, readable by its owner only', () => {
    const file = path.join(dataDir, 'server.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).operatorToken).toEqual(expect.any(String));
  });

  it('creates the first account (admin) and a token; tokens create prints only the token', async () => {
    const created = await stockwatch(
      ['users', 'create', '--email', 'ops@example.com', '--password', 'operator-pw-1'],
      env,
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Created admin account ops@example\.com \(id \S+\)\n$/);

    const token = await stockwatch(['tokens', 'create', '--email', 'ops@example.com', '--name', 'cron'], env);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(TOKEN);

    const me = await fetch(`${address}/me`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email: 'ops@example.com', role: 'admin' });
  });

  it('says what went wrong on stderr, with nothing on stdout', async () => {
    const unknown = await stockwatch(
      ['tokens', 'create', '--email', 'nobody@example.com', '--name', 'x'],
      env,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain("No account with email 'nobody@example.com'");
    const missing = await stockwatch(['users', 'create', '--email', 'x@example.com'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--password is required');
  });

  it('refuses the operator routes without the operator token', async () => {
    const res = await fetch(`${address}/operator/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-operator-token': 'guess' },
      body: JSON.stringify({ email: 'ops@example.com', name: 'x' }),
    });
    expect(res.status).toBe(401);
  });
});

describe('operator commands with DATABASE_URL talk to PostgreSQL directly', { timeout: 120_000 }, () => {
  it('creates an account and a token that a server on the same database accepts', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'stockwatch-cli-'));
    const env = { DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'warn' };
    try {
      const user = await stockwatch(
        ['users', 'create', '--email', 'pg@example.com', '--password', 'operator-pw-1'],
        env,
      );
      expect(user.code, user.stderr).toBe(0);
      const token = await stockwatch(['tokens', 'create', '--email', 'pg@example.com', '--name', 'ci'], env);
      expect(token.stdout).toMatch(TOKEN);
      const t = await createTestApp('postgres', { databaseUrl: database.url });
      try {
        const me = await t.app.inject({
          url: '/me',
          headers: { authorization: `Bearer ${token.stdout.trim()}` },
        });
        expect(me.json()).toMatchObject({ email: 'pg@example.com' });
      } finally {
        await t.close();
      }
    } finally {
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
