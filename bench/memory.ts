/**
 * Bench 4: resident memory of `stockwatch all` (embedded PGlite, simulator on, default settings,
 * a fresh DATA_DIR) over a stretch of running, sampled from /proc every 10 s.
 * Target: under 300 MB at the end; the baseline is the resident memory right after start.
 *
 *   npx tsx bench/memory.ts [--minutes=10] [--every=10]
 */
import { fmt, numberFlag, printResults, residentBytes, runBench, sleep, startServer } from './lib.ts';

const MINUTES = numberFlag('minutes', 'BENCH_MEMORY_MINUTES', 10);
const EVERY_S = numberFlag('every', 'BENCH_MEMORY_EVERY', 10);
const TARGET_BYTES = 300e6;

/** Whether the simulator's prices reached the API (with default settings, reading them may need a sign-in). */
async function simulatorCheck(url: string): Promise<string> {
  try {
    const response = await fetch(`${url}/stocks`);
    if (response.status !== 200) return `GET /stocks answered ${response.status}: simulator not checked`;
    const listing = (await response.json()) as { data: unknown[] };
    return `simulator: ${listing.data.length} symbols in GET /stocks`;
  } catch (error) {
    return `simulator not checked: ${String(error)}`;
  }
}

runBench(
  `Bench 4: resident memory of stockwatch all over ${MINUTES} min`,
  (MINUTES + 3) * 60_000,
  async () => {
    // Nothing set but the fresh DATA_DIR and a free port: the defaults of `npm start`.
    const server = await startServer({ command: 'all' });
    const baseline = residentBytes(server.pid);
    console.log(`started in ${fmt.s(server.startupMs)}; RSS right after start ${fmt.mb(baseline)}`);

    const samples: Array<{ s: number; rss: number }> = [];
    const started = performance.now();
    const end = started + MINUTES * 60_000;
    while (performance.now() < end) {
      await sleep(Math.min(EVERY_S * 1000, end - performance.now()));
      if (server.child.exitCode !== null)
        throw new Error(`stockwatch all exited with ${server.child.exitCode}`);
      const s = Math.round((performance.now() - started) / 1000);
      const rss = residentBytes(server.pid);
      samples.push({ s, rss });
      // One line a minute keeps the log readable; every sample goes into the summary.
      if (samples.length % Math.max(1, Math.round(60 / EVERY_S)) === 0 || performance.now() >= end)
        console.log(`${String(s).padStart(5)} s  RSS ${fmt.mb(rss)}`);
    }

    const peak = residentBytes(server.pid, 'VmHWM');
    const final = samples.at(-1)?.rss ?? baseline;
    const max = Math.max(...samples.map((x) => x.rss));
    console.log(
      `sampled max ${fmt.mb(max)}, kernel peak (VmHWM) ${fmt.mb(peak)}; ${await simulatorCheck(server.url)}`,
    );
    const stopMs = await server.stop();
    console.log(`stopped with SIGTERM in ${fmt.s(stopMs)}, exit code ${server.child.exitCode}`);

    printResults([
      {
        metric: `RSS of stockwatch all after ${MINUTES} min (sampled every ${EVERY_S} s)`,
        measured: `${fmt.mb(final)} (max ${fmt.mb(max)})`,
        baseline: `${fmt.mb(baseline)} (right after start)`,
        ratio: `${fmt.ratio(final / baseline)}× baseline; ${fmt.pct(final / TARGET_BYTES)} of target`,
        target: '< 300 MB',
        // The target is for the process after its first minutes: the new data folder's initdb peak passes.
        met: final < TARGET_BYTES,
      },
    ]);
  },
);
