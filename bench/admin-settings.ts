/**
 * The admin API benchmarks' one setting: `--admin-objects N`, the active objects in the simulated
 * cluster (default 100,000, the issue's figure).
 *
 *   npm run bench -- --only admin-snapshot,admin-memory,admin-reconcile,admin-stream --admin-objects 20000
 *
 * bench/run.ts parses its flags strictly (util.parseArgs fails on an unknown one) and BenchSettings
 * has no field for this one, so this module takes `--admin-objects` out of process.argv while run.ts
 * imports the benchmarks, before run.ts parses the rest. The proper home is run.ts's parseArgs and
 * BenchSettings; until they have it, this keeps the flag working without touching them.
 */

export const DEFAULT_ADMIN_OBJECTS = 100_000;

export const adminObjects: number = takeFlag('admin-objects', DEFAULT_ADMIN_OBJECTS);

function takeFlag(name: string, fallback: number): number {
  const argv = process.argv;
  let value: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}`) {
      value = argv[i + 1];
      argv.splice(i, 2);
      i--;
    } else if (arg.startsWith(`--${name}=`)) {
      value = arg.slice(name.length + 3);
      argv.splice(i, 1);
      i--;
    }
  }
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench: --${name} must be a positive integer (got '${value}')`);
    process.exit(2);
  }
  return n;
}
