import type { Logger } from 'pino';
import { ShardMapMismatch, type MemberInfo } from '@highlander/runtime';
import {
  HOME_ENSEMBLE, ShardTable, composeEpoch, mapFromMarker, moveBuckets, readShardMap, type MoveProgress, type MoveResult, type ShardMap, type ZkSession,
} from '@highlander/runtime/zookeeper';
import type { ClusterSource, LockQueueScan, SourceLockEntry } from './cluster-source.js';
import type { ShardsView } from './contracts.js';
import { ZooKeeperSource } from './zookeeper-source.js';

export interface ShardedSourceOptions {
  /** The home ensemble's connect string (`--zk`). */
  connect: string;
  /** @default '/highlander' */
  root?: string;
  /** @default 10000 */
  sessionTimeoutMs?: number;
  /** The cluster's shard map (`--zk-shards`): the same file the nodes run on. */
  shardMap: ShardMap;
  logger?: Logger;
}

/** One ensemble of a sharded cluster as the admin API sees it (`GET /api/shards`). */
export type EnsembleView = ShardsView['ensembles'][number];

/**
 * A sharded cluster (shard-map.ts in the runtime) as one {@link ClusterSource}: a
 * {@link ZooKeeperSource} per ensemble, all under the same root. Members come from the home
 * ensemble (every node joins every ensemble); lock-queue scans are the union of every ensemble's;
 * an object's queue is read, watched and force-evicted in the ensemble of its bucket; epochs are
 * reported as the nodes report them (`generation × 2⁶⁴ + czxid`), so the model matches scans
 * against the nodes' events.
 */
export class ShardedSource implements ClusterSource {
  readonly root: string;
  #table: ShardTable;
  #mapText: string;
  /** The move this admin API runs, with its latest progress. */
  #move: { buckets: string[]; to: string; progress: MoveProgress | null } | undefined;
  readonly description: string;
  readonly #sources: Map<string, ZooKeeperSource>;
  readonly #connects: Map<string, string>;

  private constructor(root: string, table: ShardTable, sources: Map<string, ZooKeeperSource>, connects: Map<string, string>) {
    this.root = root;
    this.#table = table;
    this.#mapText = table.marker();
    this.#sources = sources;
    this.#connects = connects;
    this.description = `zookeeper ${root} sharded over ${[...connects].map(([name, connect]) => `${name} ${connect}`).join(', ')}`;
  }

  /**
   * Opens a source per ensemble. Refuses (`ShardMapMismatch`) when an ensemble's `<root>/shard-map`
   * holds another map (the nodes would not run on this one); a missing marker is fine (the first
   * node writes it).
   */
  static async open(options: ShardedSourceOptions): Promise<ShardedSource> {
    const root = options.root ?? '/highlander';
    const table = new ShardTable(options.shardMap);
    const connects = new Map<string, string>([[HOME_ENSEMBLE, options.connect], ...options.shardMap.shards.map((s) => [s.name, s.connect] as [string, string])]);
    const sources = new Map<string, ZooKeeperSource>();
    try {
      for (const [name, connect] of connects) {
        const source = await ZooKeeperSource.open({
          connect, root, ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}), ...(options.logger ? { logger: options.logger } : {}),
        });
        sources.set(name, source);
        const found = await readShardMap(source.session, source.keyspace);
        // The home ensemble's map is the cluster's (a move changes it); another ensemble's is as first written.
        if (found !== undefined && found !== table.marker() && name !== HOME_ENSEMBLE) continue;
        if (found !== undefined && found !== table.marker() && !sameEnsembles(found, connects)) {
          throw new ShardMapMismatch(root, `${source.keyspace.shardMapPath} in ensemble ${name} holds ${found.slice(0, 300)}, the admin API was given ${table.marker()}`,
            'give the admin API the same --zk-shards file as the nodes');
        }
      }
    } catch (err) {
      await Promise.allSettled([...sources.values()].map((s) => s.close()));
      throw err;
    }
    const sharded = new ShardedSource(root, table, sources, connects);
    await sharded.refresh();
    return sharded;
  }

  /** The shard map in force, as last read from the home ensemble. */
  get table(): ShardTable {
    return this.#table;
  }

  /** Reads the cluster's map from the home ensemble (a move may have changed it). */
  async refresh(): Promise<void> {
    const text = await readShardMap(this.#home().session, this.#home().keyspace);
    if (text === undefined || text === this.#mapText) return;
    this.#table = new ShardTable(mapFromMarker(text, this.#connects));
    this.#mapText = text;
  }

  /** The move under way through this admin API, if any. */
  get move(): { buckets: string[]; to: string; progress: MoveProgress | null } | undefined {
    return this.#move;
  }

  /** Moves buckets to a standby shard while the cluster runs (the runtime's shard-move.ts); one at a time per admin API. */
  async moveBuckets(buckets: string[], to: string): Promise<MoveResult> {
    if (this.#move) throw new Error(`a move is under way through this admin API (buckets ${this.#move.buckets.join(', ')} to ${this.#move.to})`);
    this.#move = { buckets, to, progress: null };
    try {
      const sessions = new Map<string, ZkSession>([...this.#sources].map(([name, source]) => [name, source.session]));
      const result = await moveBuckets({
        root: this.root, sessions, connects: this.#connects, buckets, to,
        onProgress: (progress) => {
          if (this.#move) this.#move.progress = progress;
        },
      });
      await this.refresh();
      return result;
    } finally {
      this.#move = undefined;
      await this.refresh().catch(() => {});
    }
  }

  /** The ensembles, home first, with the buckets each holds (as of the last {@link refresh}). */
  ensembles(): EnsembleView[] {
    const counts = this.table.bucketCounts();
    const shards = new Map(this.table.map.shards.map((s) => [s.name, s]));
    return [...this.#sources].map(([name, source]) => ({
      name,
      connect: this.#connects.get(name)!,
      buckets: name === HOME_ENSEMBLE ? this.table.homeRanges() : shards.get(name)!.buckets,
      bucketCount: counts.get(name) ?? 0,
      generation: name === HOME_ENSEMBLE ? 0 : shards.get(name)!.generation,
      connected: source.connected,
    }));
  }

  /** Connected while every ensemble is. */
  get connected(): boolean {
    for (const source of this.#sources.values()) if (!source.connected) return false;
    return true;
  }

  watchMembers(listener: (members: MemberInfo[]) => void): Promise<() => void> {
    return this.#home().watchMembers(listener);
  }

  onReconnect(listener: () => void): () => void {
    const stops = [...this.#sources.values()].map((s) => s.onReconnect(listener));
    return () => stops.forEach((stop) => stop());
  }

  async scanLockQueues(options: { concurrency: number }): Promise<LockQueueScan[]> {
    await this.refresh();
    const scans = await Promise.all([...this.#sources].map(async ([name, source]) => {
      const found = await source.scanLockQueues(options);
      // A queue left in an ensemble that no longer holds its bucket is not this cluster's truth.
      return found.filter((q) => this.table.route(q.id).ensemble === name).map((q) => ({ ...q, entries: this.#withEpochs(q.id, q.entries) as LockQueueScan['entries'] }));
    }));
    return scans.flat();
  }

  async readLockEntry(type: string, id: string, path: string): Promise<{ epoch: string; waitingSince: number } | null> {
    const entry = await this.#sourceOf(id).readLockEntry(type, id, path);
    return entry ? { ...entry, epoch: composeEpoch(this.table.route(id).generation, entry.epoch) } : null;
  }

  async lockQueue(type: string, id: string): Promise<SourceLockEntry[]> {
    return this.#withEpochs(id, await this.#sourceOf(id).lockQueue(type, id));
  }

  watchLockQueue(type: string, id: string, listener: (queue: SourceLockEntry[]) => void): () => void {
    return this.#sourceOf(id).watchLockQueue(type, id, (queue) => listener(this.#withEpochs(id, queue)));
  }

  forceRemoveLock(entry: { type: string; id: string; path: string }): Promise<boolean> {
    return this.#sourceOf(entry.id).forceRemoveLock(entry);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#sources.values()].map((s) => s.close()));
  }

  /** The home ensemble's source (its session is the one the rebalancer's lock and pause live on). */
  home(): ZooKeeperSource {
    return this.#home();
  }

  #home(): ZooKeeperSource {
    return this.#sources.get(HOME_ENSEMBLE)!;
  }

  #sourceOf(id: string): ZooKeeperSource {
    return this.#sources.get(this.table.route(id).ensemble)!;
  }

  #withEpochs(id: string, entries: SourceLockEntry[]): SourceLockEntry[] {
    const { generation } = this.table.route(id);
    if (generation === 0) return entries;
    return entries.map((e) => (e.epoch === null ? e : { ...e, epoch: composeEpoch(generation, e.epoch) }));
  }
}

/** Whether a marker names only ensembles the admin API has connect strings for. */
function sameEnsembles(marker: string, connects: ReadonlyMap<string, string>): boolean {
  try {
    mapFromMarker(marker, connects);
    return true;
  } catch {
    return false;
  }
}
