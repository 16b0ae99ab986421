/**
 * The admin API benchmarks' one setting: `--admin-objects N`, the active objects in the simulated
 * cluster (default 100,000, the issue's figure).
 *
 *   npm run bench -- --only admin-snapshot,admin-memory,admin-reconcile,admin-stream --admin-objects 20000
 *
 * bench/run.ts declares the flag (so it is accepted and listed in --help); its value is read here,
 * where the admin benchmarks need it when they are defined.
 */

export const DEFAULT_ADMIN_OBJECTS = 100_000;

export const adminObjects: number = readFlag('admin-objects', DEFAULT_ADMIN_OBJECTS);

function readFlag(name: string, fallback: number): number {
  const argv = process.argv;
  let value: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}`) value = argv[i + 1];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  }
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench: --${name} must be a positive integer (got '${value}')`);
    process.exit(2);
  }
  return n;
}
