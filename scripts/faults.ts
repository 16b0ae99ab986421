/**
 * The fault suite's randomized schedule, outside CI.
 *
 *   npm run faults -- --soak 30            # draw network and process faults for 30 minutes
 *   npm run faults -- --soak 30 --seed 42  # the same faults as an earlier run with seed 42
 *   npm run faults                         # the CI-sized schedule (a few faults)
 *
 * It runs test/cluster/faults/schedule.test.ts with vitest (real ZooKeeper ensemble, radosgw, node
 * processes; see that file), which prints the seed first, a line per fault as it recovers, and the
 * run's figures and every invariant's verdict at the end. The exit code is vitest's.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

function usage(message: string): never {
  console.error(`faults: ${message}\nusage: npm run faults -- [--soak <minutes>] [--seed <0..4294967295>]`);
  process.exit(2);
}

let values: { soak?: string; seed?: string; help?: boolean };
try {
  ({ values } = parseArgs({ options: { soak: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
} catch (error) {
  usage((error as Error).message);
}
if (values.help) usage('runs the fault suite\'s randomized schedule');
const env: NodeJS.ProcessEnv = { ...process.env };
if (values.soak !== undefined) {
  const minutes = Number(values.soak);
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 1440) usage(`--soak takes a number of minutes from 0 to 1440, got '${values.soak}'`);
  env.HIGHLANDER_FAULT_SOAK_MINUTES = String(minutes);
}
if (values.seed !== undefined) {
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) usage(`--seed takes an integer from 0 to 4294967295, got '${values.seed}'`);
  env.HIGHLANDER_FAULT_SEED = String(seed);
}
// A soak's history (a 30-minute run records about 200,000 calls and their events) and its check
// need more heap than Node's default; near that limit the check crawled through garbage collection.
if (values.soak !== undefined) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --max-old-space-size=8192`.trim();
const child = spawn('npx', ['vitest', 'run', 'test/cluster/faults/schedule.test.ts'], { stdio: 'inherit', env });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
