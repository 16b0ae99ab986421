import type { ClusterSummary, NodeView, ObjectRow, ObjectView, SummaryDelta, SummarySnapshot } from '@highlander/admin-api/protocol';
import { stream } from './stream.svelte.ts';
import type { ObjectChange } from './types.ts';

export type { ObjectChange };

type ChangeListener = (changes: ObjectChange[], reset: boolean) => void;

export const objectKey = (type: string, id: string) => `${type}/${id}`;

/**
 * The live cluster as the stream tells it: summary, nodes, and every active object. Objects live
 * in a plain Map (tens of thousands; reactive proxies would cost more than the map's drawing):
 * `revision` changes once per applied message, and listeners get the individual changes.
 */
class Cluster {
  summary = $state.raw<ClusterSummary | null>(null);
  nodes = $state.raw<NodeView[]>([]);
  /** Bumped once per applied snapshot or delta. */
  revision = $state(0);
  /** A snapshot has arrived since the page loaded. */
  loaded = $state(false);
  readonly objects = new Map<string, ObjectView>();
  #listeners = new Set<ChangeListener>();
  #stop: (() => void) | null = null;

  start(): void {
    this.#stop?.();
    this.#stop = stream.subscribe({ subscribe: 'summary', objects: true }, (message) => {
      if (message.kind === 'snapshot') this.#snapshot(message);
      else this.#delta(message);
    });
  }

  /** Hears every change to the objects; `reset` after a snapshot (everything may have changed). */
  listen(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  node(name: string): NodeView | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  object(type: string, id: string): ObjectView | undefined {
    return this.objects.get(objectKey(type, id));
  }

  #snapshot(message: SummarySnapshot): void {
    this.summary = message.summary;
    this.nodes = sortNodes(message.nodes);
    const changes: ObjectChange[] = [];
    const seen = new Set<string>();
    for (const row of message.objects ?? []) {
      const object = fromRow(row);
      const key = objectKey(object.type, object.id);
      seen.add(key);
      const before = this.objects.get(key);
      this.objects.set(key, object);
      changes.push(before ? { kind: 'updated', before, object } : { kind: 'added', object });
    }
    for (const [key, before] of this.objects) {
      if (seen.has(key)) continue;
      this.objects.delete(key);
      changes.push({ kind: 'removed', before });
    }
    this.loaded = true;
    this.#emit(changes, true);
  }

  #delta(message: SummaryDelta): void {
    this.summary = message.summary;
    if (message.nodes.length > 0) {
      const byName = new Map(this.nodes.map((n) => [n.name, n]));
      for (const { name, node } of message.nodes) {
        if (node) byName.set(name, node);
        else byName.delete(name);
      }
      this.nodes = sortNodes([...byName.values()]);
    }
    const changes: ObjectChange[] = [];
    for (const { type, id, object } of message.objects) {
      const key = objectKey(type, id);
      const before = this.objects.get(key);
      if (object) {
        this.objects.set(key, object);
        changes.push(before ? { kind: 'updated', before, object } : { kind: 'added', object });
      } else if (before) {
        this.objects.delete(key);
        changes.push({ kind: 'removed', before });
      }
    }
    this.#emit(changes, false);
  }

  #emit(changes: ObjectChange[], reset: boolean): void {
    this.revision++;
    for (const listener of this.#listeners) listener(changes, reset);
  }
}

function fromRow([type, id, owner, epoch, activeSince, lastCallAt, callsPerSecond, queueLength, waiting]: ObjectRow): ObjectView {
  return { type, id, owner, epoch, activeSince, lastCallAt, callsPerSecond, queueLength, waiting };
}

function sortNodes(nodes: NodeView[]): NodeView[] {
  return [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const cluster = new Cluster();
