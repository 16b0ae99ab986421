import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnGuarded, type DaemonExit, type GuardedDaemonOptions } from './guarded-daemon.js';

export interface GuardedCommandOptions extends GuardedDaemonOptions {
  /** SIGKILL the command after this long. */
  timeoutMs: number;
}

export interface GuardedCommandResult {
  exit: DaemonExit;
  /** True when the command was killed for running past `timeoutMs`. */
  timedOut: boolean;
  /** Its stdout and stderr, interleaved (read back from `logFile`). */
  output: string;
}

/**
 * Runs a short-lived command (a setup step such as `ceph osd new`) under the same guard as the
 * daemons, so that it too dies with this process instead of waiting for a server that is gone.
 * Resolves with how it ended, whatever that was; the caller decides what counts as failure.
 * Give each run its own `logFile`: the output is read back from it.
 */
export async function runGuarded(options: GuardedCommandOptions): Promise<GuardedCommandResult> {
  const command = await spawnGuarded(options);
  const timeout = new AbortController();
  const result = await Promise.race([
    command.exited,
    // the rejection is our own abort, once the command has exited
    sleep(options.timeoutMs, 'timeout' as const, { signal: timeout.signal }).catch(() => undefined),
  ]);
  timeout.abort();
  const timedOut = result === 'timeout';
  if (timedOut) command.kill('SIGKILL');
  const exit = await command.exited;
  return { exit, timedOut, output: await readFile(options.logFile, 'utf8') };
}
