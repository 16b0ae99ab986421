/**
 * The contract between bench/run.ts and one benchmark: it sets up once, then measures its figure
 * and its raw baseline once per run, in the same run, against the same servers.
 */

/** Where the standalone servers started by bench/run.ts are. */
export interface BenchServers {
  /** ZooKeeper connect string, `127.0.0.1:<port>`. */
  zookeeper: string;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string };
  /** The servers' processes (the ZooKeeper JVM, the Ceph daemons), for benchmarks that report CPU and memory. */
  processes?: Array<{ name: string; pid: number }>;
}

export interface BenchSettings {
  /** Length of one measurement (of the figure, and separately of the baseline). */
  durationMs: number;
  /** Unmeasured load before each measurement. */
  warmupMs: number;
  /** Activations for the memory benchmark. */
  memoryObjects: number;
}

export interface BenchContext {
  servers: BenchServers;
  settings: BenchSettings;
  /** A ZooKeeper root and S3 prefix no other benchmark uses: `/bench-<label>-<pid>-<time>`. */
  uniqueRoot(label: string): string;
  /** A progress line. */
  log(message: string): void;
}

/** One run's numbers; `details` are printed under the run's progress line. */
export interface Sample {
  figure: number;
  baseline: number;
  details?: string[];
}

export interface BenchSession {
  /** Measures the figure and the baseline once; `run` counts from 0. */
  measure(run: number): Promise<Sample>;
  /** Stops whatever setup started. Always called, also after a failure. */
  close(): Promise<void>;
}

/**
 * What counts as meeting the target: the median figure itself, or the median figure divided by
 * the median baseline, compared with `value`.
 */
export interface Target {
  of: 'figure' | 'ratio';
  comparison: '>=' | '<=';
  value: number;
  /** How the README states it, e.g. `≥ 500,000 calls/s`. */
  label: string;
}

export interface Benchmark {
  name: string;
  /** The figure, as the table's first column says it. */
  title: string | ((settings: BenchSettings) => string);
  unit: string;
  /** What the baseline is, for the progress output. */
  baselineTitle: string;
  baselineUnit: string;
  target: Target;
  /** Measured once per invocation whatever `--runs` says (too slow to repeat). */
  once?: boolean;
  setup(context: BenchContext): Promise<BenchSession>;
}
