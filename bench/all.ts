/**
 * Runs every benchmark in bench/, one after another, each in its own process; flags given here
 * (e.g. `--minutes=2` for the memory bench) are passed to each, which ignores those it does not know.
 *
 *   npm run bench [-- --minutes=2]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './lib.ts';

// The foundation's benches first, in the order of docs/PERFORMANCE.md; any others after them.
const FIRST = ['ingest-single.ts', 'ingest-batch.ts', 'history.ts', 'memory.ts', 'startup.ts'];
const dir = path.join(REPO_ROOT, 'bench');
const others = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !['lib.ts', 'all.ts', ...FIRST].includes(f))
  .sort();

const failed: string[] = [];
for (const file of [...FIRST, ...others]) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(dir, file), ...process.argv.slice(2)],
    {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) failed.push(`${file} (exit ${result.status ?? result.signal})`);
}
if (failed.length > 0) {
  console.error(`\nFailed: ${failed.join(', ')}`);
  process.exit(1);
}
