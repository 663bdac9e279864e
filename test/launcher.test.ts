import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// bin/stockwatch.mjs runs dist/server/main.mjs (built by `npm ci`) only while no source is newer than
// it, so that an edited source is never ignored; otherwise it runs the sources through tsx.
describe('bin/stockwatch.mjs', () => {
  let root: string;
  const run = () =>
    execFileSync(process.execPath, [path.join(root, 'bin/stockwatch.mjs')], { encoding: 'utf8' });
  const age = (file: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(path.join(root, file), t, t);
  };

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'stockwatch-launcher-'));
    mkdirSync(path.join(root, 'bin'));
    cpSync(path.resolve('bin/stockwatch.mjs'), path.join(root, 'bin/stockwatch.mjs'));
    symlinkSync(path.resolve('node_modules'), path.join(root, 'node_modules'));
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ type: 'module' }));
    mkdirSync(path.join(root, 'src/db'), { recursive: true });
    // Type annotations: only tsx can run this file.
    writeFileSync(path.join(root, 'src/main.ts'), "const from: string = 'source';\nconsole.log(from);\n");
    writeFileSync(path.join(root, 'src/db/schema.ts'), 'export {};\n');
    mkdirSync(path.join(root, 'dist/server'), { recursive: true });
    writeFileSync(path.join(root, 'dist/server/main.mjs'), "console.log('bundle');\n");
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs the bundle when every source is older than it', () => {
    age('src/main.ts', 60);
    age('src/db/schema.ts', 60);
    age('dist/server/main.mjs', 10);
    expect(run().trim()).toBe('bundle');
  });

  it('runs the sources through tsx when any of them, however deep, is newer than the bundle', () => {
    age('src/db/schema.ts', 1);
    expect(run().trim()).toBe('source');
  });

  it('runs the sources when there is no bundle', () => {
    rmSync(path.join(root, 'dist'), { recursive: true });
    expect(run().trim()).toBe('source');
  });
});
