/**
 * Child processes the benchmarks start (node processes, the echo server, the memory probe), killed
 * when bench/run.ts exits however it exits short of SIGKILL, so that none is left behind.
 */

interface Killable {
  kill(signal?: NodeJS.Signals): unknown;
}

const children = new Set<Killable>();
let hookInstalled = false;

/** Tracks a child until `untrack()`; it is SIGKILLed if this process exits first. */
export function trackChild(child: Killable): () => void {
  children.add(child);
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const c of children) {
        try {
          c.kill('SIGKILL');
        } catch {
          // exited meanwhile: nothing left to kill
        }
      }
    });
  }
  return () => children.delete(child);
}
