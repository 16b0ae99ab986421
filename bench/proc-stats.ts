import { readFile, readdir } from 'node:fs/promises';
import { GUARD_PROCESS_NAME } from '../scripts/servers/guarded-daemon.js';

/**
 * CPU and memory of processes, from /proc (Linux): CPU time from /proc/<pid>/stat (utime + stime,
 * in clock ticks of 1/100 s), resident memory from /proc/<pid>/status (VmRSS, and VmHWM: the peak).
 *
 * ```ts
 * const sampler = await ProcessSampler.start([{ name: 'node-a', pid }]);
 * // … the measured window …
 * const usage = await sampler.stop(); // [{ name, pid, cpuPercent, rssBytes, peakRssBytes }]
 * ```
 */

export interface WatchedProcess {
  name: string;
  pid: number;
}

export interface ProcessUsage extends WatchedProcess {
  /** CPU time over the window as a share of one core (200 = two cores busy). */
  cpuPercent: number;
  rssBytes: number;
  peakRssBytes: number;
}

/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const TICKS_PER_SECOND = 100;

export class ProcessSampler {
  private constructor(
    private readonly processes: WatchedProcess[],
    private readonly startTicks: Array<number | null>,
    private readonly startedAt: number,
  ) {}

  static async start(processes: WatchedProcess[]): Promise<ProcessSampler> {
    const ticks = await Promise.all(processes.map((p) => cpuTicks(p.pid)));
    return new ProcessSampler(processes, ticks, performance.now());
  }

  /** Usage of each process since `start` (processes that exited meanwhile are left out). */
  async stop(): Promise<ProcessUsage[]> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const usage: ProcessUsage[] = [];
    for (const [i, process] of this.processes.entries()) {
      const [ticks, memory] = await Promise.all([cpuTicks(process.pid), residentMemory(process.pid)]);
      const before = this.startTicks[i];
      if (ticks === null || before === null || before === undefined || memory === null) continue;
      usage.push({ ...process, cpuPercent: ((ticks - before) / TICKS_PER_SECOND / seconds) * 100, ...memory });
    }
    return usage;
  }
}

/** utime + stime of a process, or null when it is gone. */
export async function cpuTicks(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of the whole line
  } catch {
    return null;
  }
}

export async function residentMemory(pid: number): Promise<{ rssBytes: number; peakRssBytes: number } | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
  } catch {
    return null;
  }
}

/** Processes whose command line contains `fragment` (e.g. a server's temporary directory). */
export async function processesWithArgument(fragment: string): Promise<WatchedProcess[]> {
  const found: WatchedProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      // The guard shells that keep the test servers' daemons tied to their parent carry the same arguments: not them.
      if (argv.some((arg) => arg.includes(fragment)) && !argv.includes(GUARD_PROCESS_NAME)) {
        const name = (argv[0] ?? '').split('/').at(-1) ?? 'process';
        found.push({ name, pid: Number(entry) });
      }
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}
