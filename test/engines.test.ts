import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { expect, it } from 'vitest';

/**
 * Stockwatch runs on Node 20.19+ (package.json `engines`), and so must everything it installs: a
 * package that declares a newer Node (content-disposition 3 and cookie 2 did, through @fastify/static and
 * light-my-request) may rely on what Node 20 lacks. package.json `overrides` pins such packages to
 * versions that accept Node 20; this test finds any that comes back with an update.
 */
it('installs no package whose engines exclude the oldest Node that Stockwatch supports', () => {
  const root = path.resolve(import.meta.dirname, '..');
  const own = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const oldest = semver.minVersion(own.engines.node)!.version;
  const refused: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const folder = path.join(dir, name);
      if (name.startsWith('@')) {
        walk(folder);
        continue;
      }
      const manifest = path.join(folder, 'package.json');
      if (existsSync(manifest)) {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
        const node = pkg.engines?.node;
        if (typeof node === 'string' && !semver.satisfies(oldest, node))
          refused.push(`${pkg.name}@${pkg.version} wants node ${node}`);
      }
      if (existsSync(path.join(folder, 'node_modules'))) walk(path.join(folder, 'node_modules'));
    }
  };
  walk(path.join(root, 'node_modules'));
  expect({ oldest, refused }).toEqual({ oldest: '20.19.0', refused: [] });
});
