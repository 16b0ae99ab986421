import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The workspaces that are packed, as folder → package name. */
export const PACKED = {
  kit: '@highlander/kit',
  runtime: '@highlander/runtime',
  audience: '@highlander/audience',
  'admin-api': '@highlander/admin-api',
  dashboard: '@highlander/dashboard',
  cli: '@highlander/cli',
  'examples/todo': '@highlander/example-todo',
} as const;

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dev?: boolean;
  optional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * `npm pack`s every workspace of {@link PACKED} into `dir/tarballs`, then makes `dir/app`: an
 * application outside the repository that depends on those tarballs, with a lockfile that pins every
 * other package to the version the repository's lockfile has, and installs it with `npm ci
 * --offline` from the npm cache (`npm ci` of the repository filled it): no network.
 */
export async function installScratchApp(repo: string, dir: string): Promise<string> {
  const tarballs = join(dir, 'tarballs');
  const app = join(dir, 'app');
  await mkdir(tarballs, { recursive: true });
  await mkdir(app, { recursive: true });
  const files: Record<string, string> = {};
  for (const [folder, name] of Object.entries(PACKED)) {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tarballs, `./${folder}`], { cwd: repo });
    files[name] = join(tarballs, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
  }
  const repoLock = JSON.parse(await readFile(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, LockEntry> = {};
  const dependencies: Record<string, string> = {};
  // Where each packed workspace sits in the repository's lock, and where it lands in the app's.
  const placed = new Map<string, string>(); // repo location → app location
  for (const [folder, name] of Object.entries(PACKED)) {
    const manifest = repoLock.packages[folder]!;
    const spec = `file:${relative(app, files[name]!)}`;
    dependencies[name] = spec;
    const tarball = await readFile(files[name]!);
    packages[`node_modules/${name}`] = {
      version: manifest.version!, resolved: spec, integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
      ...(manifest.dependencies ? { dependencies: manifest.dependencies } : {}),
      ...(manifest.bin ? { bin: manifest.bin } : {}),
      ...(manifest.engines ? { engines: manifest.engines } : {}),
    };
    placed.set(folder, `node_modules/${name}`);
  }
  // Every package the packed workspaces need, found as Node would from where each one sits.
  const queue = [...placed.keys()];
  const toApp = (location: string): string => {
    for (const [folder, at] of placed) if (location.startsWith(`${folder}/node_modules/`)) return `${at}${location.slice(folder.length)}`;
    return location;
  };
  for (let location = queue.shift(); location !== undefined; location = queue.shift()) {
    const entry = repoLock.packages[location]!;
    const wanted = { ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies };
    for (const dep of Object.keys(wanted)) {
      if (Object.values(PACKED).includes(dep as never)) continue;
      const found = candidates(location, dep).find((c) => repoLock.packages[c] && !repoLock.packages[c]!.link);
      if (!found) {
        if (entry.optionalDependencies?.[dep] || entry.peerDependencies?.[dep]) continue;
        throw new Error(`${location} needs ${dep}, which the repository's lockfile does not have`);
      }
      const at = toApp(found);
      if (packages[at]) continue;
      const { dev: _dev, ...copied } = repoLock.packages[found]!;
      packages[at] = copied;
      queue.push(found);
    }
  }
  await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'scratch-app', private: true, type: 'module', dependencies }, null, 2)}\n`);
  await writeFile(join(app, 'package-lock.json'), `${JSON.stringify({
    name: 'scratch-app', lockfileVersion: 3, requires: true,
    packages: { '': { name: 'scratch-app', dependencies }, ...packages },
  }, null, 2)}\n`);
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
  return app;
}

/** Where Node looks for `dep` from the package at `location`: its own node_modules, then each parent's, then the top. */
function candidates(location: string, dep: string): string[] {
  const out: string[] = [];
  let base = location;
  for (;;) {
    out.push(`${base}/node_modules/${dep}`);
    const cut = base.lastIndexOf('/node_modules/');
    if (cut < 0) break;
    base = base.slice(0, cut);
  }
  out.push(`node_modules/${dep}`);
  return [...new Set(out)];
}
