import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs "$@" in the background with its output appended to the log file ($1), prints its pid, and
 * SIGKILLs it when our stdin reaches EOF. Our stdin is a pipe whose other end only the spawning Node
 * process holds, so EOF means that process is gone, however it died (SIGKILL included).
 *
 * The watcher is a subshell using the `read` builtin, so killing it (when the daemon exits first)
 * leaves no stray `cat` behind. fd 3 carries the pipe into the subshell because a non-interactive
 * shell points the stdin of background jobs at /dev/null. The daemon gets neither the pipe nor our
 * stdout, so only this wrapper's exit closes our stdout. The exit status is the daemon's (128+N if
 * it died of signal N).
 */
const GUARD_SCRIPT = `
log=$1; shift
exec 3<&0 0</dev/null
"$@" 3<&- >>"$log" 2>&1 &
daemon=$!
echo "$daemon"
( while read -r _ <&3; do :; done; kill -KILL "$daemon" ) >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$daemon"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
`;

/** The guard shell's `$0`, which tells it apart from its daemon in `ps` and /proc. */
export const GUARD_PROCESS_NAME = 'highlander-guard';

export interface GuardedDaemonOptions {
  /** Names the daemon in errors, e.g. `zookeeper server 2`. */
  name: string;
  /** The executable; it must stay in the foreground (`ceph-mon -f`, `java … QuorumPeerMain`). */
  command: string;
  /** @default [] */
  args?: readonly string[];
  /** File that receives the daemon's stdout and stderr, appended across restarts. */
  logFile: string;
  /** @default process.cwd() */
  cwd?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** How a daemon ended: an exit code, or the signal that killed it. */
export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopOptions {
  /** How long to wait after SIGTERM before sending SIGKILL. @default 5000 */
  gracefulTimeoutMs?: number;
}

/**
 * A daemon that cannot outlive the Node process that spawned it. Nothing here keeps the event
 * loop alive: a script that ends without stopping its daemons simply takes them with it.
 */
export interface GuardedDaemon {
  readonly name: string;
  /** The pid of the daemon itself (not of the guard), for SIGSTOP/SIGCONT/SIGKILL in tests. */
  readonly pid: number;
  readonly logFile: string;
  /**
   * Resolves (never rejects) once the daemon has exited. Reading it keeps this process alive
   * until then (a running daemon does not otherwise hold the event loop open).
   */
  readonly exited: Promise<DaemonExit>;
  /** True until the daemon has exited. */
  readonly running: boolean;
  /** Sends `signal` to the daemon; does nothing once it has exited. @default 'SIGKILL' */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM (plus SIGCONT, in case it is paused), then SIGKILL after a grace period; resolves once exited. */
  stop(options?: StopOptions): Promise<DaemonExit>;
}

/** Spawns a daemon under a guard that SIGKILLs it when this process dies. Resolves once its pid is known. */
export async function spawnGuarded(options: GuardedDaemonOptions): Promise<GuardedDaemon> {
  const stderrFd = openSync(options.logFile, 'a');
  let guard: ChildProcess;
  try {
    guard = spawn('sh', ['-c', GUARD_SCRIPT, GUARD_PROCESS_NAME, options.logFile, options.command, ...(options.args ?? [])], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      // stdin: the lifeline pipe; stdout: the daemon's pid; stderr: the guard's own complaints.
      stdio: ['pipe', 'pipe', stderrFd],
      // Own process group: a Ctrl-C in the terminal reaches only us, and we decide what to stop.
      detached: true,
    });
  } finally {
    closeSync(stderrFd);
  }
  const exited = new Promise<DaemonExit>((resolve) => {
    guard.once('exit', (code, signal) => {
      // If the guard itself was killed, closing the lifeline makes its watcher kill the daemon.
      guard.stdin?.destroy();
      resolve(toDaemonExit(code, signal));
    });
  });
  const pid = await readDaemonPid(guard, options.name);
  guard.unref();
  unrefStream(guard.stdin);
  unrefStream(guard.stdout);
  return new RunningDaemon(options.name, pid, options.logFile, exited, guard);
}

class RunningDaemon implements GuardedDaemon {
  #running = true;
  readonly #exited: Promise<DaemonExit>;

  constructor(
    readonly name: string,
    readonly pid: number,
    readonly logFile: string,
    exited: Promise<DaemonExit>,
    private readonly guard: ChildProcess,
  ) {
    this.#exited = exited.then((exit) => {
      this.#running = false;
      return exit;
    });
  }

  get exited(): Promise<DaemonExit> {
    if (this.#running) this.guard.ref(); // someone waits for the exit: do not let the process end first
    return this.#exited;
  }

  get running(): boolean {
    return this.#running;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.#running) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      // ESRCH: it exited and our 'exit' event has not been delivered yet; there is nothing to signal.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  async stop(options: StopOptions = {}): Promise<DaemonExit> {
    const gracefulTimeoutMs = options.gracefulTimeoutMs ?? 5000;
    if (!this.#running) return this.#exited;
    this.kill('SIGTERM');
    this.kill('SIGCONT');
    const timeout = new AbortController();
    const graceful = await Promise.race([
      this.exited,
      // the rejection is our own abort, once the daemon has exited
      sleep(gracefulTimeoutMs, undefined, { signal: timeout.signal }).catch(() => undefined),
    ]);
    timeout.abort();
    if (graceful !== undefined) return graceful;
    this.kill('SIGKILL');
    return await this.exited;
  }
}

function readDaemonPid(guard: ChildProcess, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const newline = output.indexOf('\n');
      if (newline === -1) return;
      cleanup();
      const pid = Number(output.slice(0, newline));
      if (Number.isInteger(pid) && pid > 0) resolve(pid);
      else reject(new Error(`${name}: the guard printed ${JSON.stringify(output)} instead of a pid`));
    };
    // 'close', not 'exit': 'exit' may come before the pid line has been read from the pipe.
    const onClose = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`${name}: the guard exited (code ${code}, signal ${signal}) before reporting the daemon pid`));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new Error(`${name}: could not spawn the guard shell: ${error.message}`, { cause: error }));
    };
    const cleanup = (): void => {
      guard.stdout?.off('data', onData);
      guard.off('close', onClose);
      guard.off('error', onError);
    };
    guard.stdout?.on('data', onData);
    guard.once('close', onClose);
    guard.once('error', onError);
  });
}

function toDaemonExit(code: number | null, signal: NodeJS.Signals | null): DaemonExit {
  // The guard exits with 128+N when the daemon died of signal N.
  if (code !== null && code > 128) {
    const name = Object.entries(constants.signals).find(([, number]) => number === code - 128)?.[0];
    if (name !== undefined) return { code: null, signal: name as NodeJS.Signals };
  }
  return { code, signal };
}

function unrefStream(stream: unknown): void {
  (stream as { unref?: () => void } | null)?.unref?.();
}
