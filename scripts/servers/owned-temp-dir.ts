import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUARD_PROCESS_NAME } from './guarded-daemon.js';

const OWNER_FILE = 'owner.pid';
/** A directory without an owner file younger than this may be mid-creation by another process. */
const UNOWNED_GRACE_MS = 60_000;

const liveDirs = new Set<string>();
let exitHookInstalled = false;

/**
 * Creates `<baseDir>/<prefix>XXXXXX` with an `owner.pid` file naming this process, after removing
 * stale directories with the same prefix: those whose owner is dead (a test killed with SIGKILL
 * leaves its directory behind). If this process exits without removing the directory, an exit
 * hook kills whatever still uses it and removes it.
 */
export async function createOwnedTempDir(prefix: string, baseDir: string = tmpdir()): Promise<string> {
  removeStaleTempDirs(prefix, baseDir);
  const dir = await mkdtemp(join(baseDir, prefix));
  await writeFile(join(dir, OWNER_FILE), `${process.pid}\n`);
  liveDirs.add(dir);
  installExitHook();
  return dir;
}

/** Removes a directory made by {@link createOwnedTempDir}; stop its daemons first. */
export async function removeOwnedTempDir(dir: string): Promise<void> {
  liveDirs.delete(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
}

/**
 * Removes `<baseDir>/<prefix>*` directories whose owner process is no longer alive, first
 * SIGKILLing any process whose command line still names the directory (normally none: the
 * guard kills daemons with their parent).
 */
export function removeStaleTempDirs(prefix: string, baseDir: string = tmpdir()): void {
  let entries: string[];
  try {
    entries = readdirSync(baseDir).filter((entry) => entry.startsWith(prefix));
  } catch (error) {
    // no base directory yet: mkdtemp will report it if it is really missing
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const dir = join(baseDir, entry);
    if (!isStale(dir)) continue;
    killProcessesUsing(dir);
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

function isStale(dir: string): boolean {
  let owner: number;
  try {
    owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    try {
      return Date.now() - statSync(dir).mtimeMs > UNOWNED_GRACE_MS;
    } catch {
      return false; // removed meanwhile by its owner or another cleaner
    }
  }
  return !Number.isInteger(owner) || owner <= 0 || !isAlive(owner);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but owned by another user
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * SIGKILLs every daemon (any process but this one and the guard shells) with an argument naming a
 * path inside `dir`. Guards are spared so they reap their daemon and exit by themselves instead of
 * leaving it a zombie. Linux only; a no-op elsewhere.
 */
export function killProcessesUsing(dir: string): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return; // no procfs (not Linux): rely on the guard alone
  }
  const inside = `${dir}/`;
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited while we looked, or not ours to read
    }
    if (args[3] === GUARD_PROCESS_NAME) continue; // sh -c <script> <$0> …
    if (!args.some((arg) => arg === dir || arg.includes(inside))) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // exited meanwhile, or not ours to kill: nothing more we can do about it
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const dir of liveDirs) {
      killProcessesUsing(dir);
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // a daemon still writing into it; the next start's stale-directory sweep removes it
      }
    }
  });
}
