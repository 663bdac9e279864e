/**
 * Bench 5: time for `node bin/stockwatch.mjs all` to answer /health, on a new DATA_DIR (target 10 s)
 * and on an existing one (target 3 s), median of 3 each; the baseline is the start and exit of a bare
 * `node -e ''`.
 *
 *   npx tsx bench/startup.ts [--runs=3]
 */
import { spawn } from 'node:child_process';
import {
  BIN,
  fmt,
  median,
  numberFlag,
  printResults,
  REPO_ROOT,
  runBench,
  startServer,
  tempDir,
  timed,
} from './lib.ts';

const RUNS = numberFlag('runs', 'BENCH_RUNS', 3);

function run(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

runBench('Bench 5: startup of stockwatch all', 5 * 60_000, async () => {
  const bare: number[] = [];
  const help: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push((await timed(() => run(['-e', '']))).ms);
    // Loads every module through tsx and exits: the share of start-up that is code loading.
    help.push((await timed(() => run([BIN, '--help']))).ms);
  }

  const fresh: number[] = [];
  const existing: number[] = [];
  const stops: number[] = [];
  let reused = '';
  for (let i = 0; i < RUNS; i++) {
    const dataDir = tempDir('startup');
    const server = await startServer({ command: 'all', dataDir });
    fresh.push(server.startupMs);
    stops.push(await server.stop());
    reused = dataDir;
    console.log(`new DATA_DIR      run ${i + 1}: /health after ${fmt.s(server.startupMs)}`);
  }
  for (let i = 0; i < RUNS; i++) {
    const server = await startServer({ command: 'all', dataDir: reused });
    existing.push(server.startupMs);
    stops.push(await server.stop());
    console.log(`existing DATA_DIR run ${i + 1}: /health after ${fmt.s(server.startupMs)}`);
  }
  console.log(
    `medians: node -e '' ${fmt.ms(median(bare))}; stockwatch --help (all modules loaded) ${fmt.ms(median(help))}; ` +
      `stop on SIGTERM ${fmt.ms(median(stops))}`,
  );

  const baseline = median(bare);
  const row = (label: string, times: number[], targetMs: number) => {
    const m = median(times);
    return {
      metric: `${label}: stockwatch all → /health 200 (median of ${RUNS})`,
      measured: fmt.s(m),
      baseline: `${fmt.ms(baseline)} (node -e '')`,
      ratio: `${fmt.ratio(m / baseline)}× baseline; ${fmt.pct(m / targetMs)} of target`,
      target: `≤ ${targetMs / 1000} s`,
      met: m <= targetMs,
    };
  };
  printResults([row('new DATA_DIR', fresh, 10_000), row('existing DATA_DIR', existing, 3_000)]);
});
