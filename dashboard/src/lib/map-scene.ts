/**
 * What the cluster map shows, independent of pixels: each active object's node and slot, and the
 * animations in flight (appearing on activation, fading on deactivation, travelling on migration).
 * Fed by the cluster store's changes; read by ClusterMap.canvas.svelte every frame. Pure; unit-tested.
 */
import { SlotAllocator } from './map-layout.ts';
import type { ObjectView } from '@highlander/admin-api/protocol';
import type { ObjectChange } from './types.ts';

export const APPEAR_MS = 450;
export const FADE_MS = 700;
export const MOVE_MS = 900;

export interface MapEntry {
  key: string;
  type: string;
  id: string;
  node: string;
  slot: number;
  /** Someone waits in its lock queue. */
  queued: boolean;
  /** When it appeared on the map (ms, the scene's clock); 0 for objects present at the first snapshot. */
  bornAt: number;
  /** While travelling: where from. */
  move: { node: string; slot: number; at: number } | null;
}

/** A change to the settled picture: clear a cell, or draw an entry in its cell. */
export type CellPaint = { clear: { node: string; slot: number } } | { draw: MapEntry };

export interface Ghost {
  type: string;
  node: string;
  slot: number;
  at: number;
}

export class MapScene {
  readonly entries = new Map<string, MapEntry>();
  /** Entries whose animation is not over (a small set, walked every frame). */
  readonly animating = new Set<MapEntry>();
  ghosts: Ghost[] = [];
  readonly #slots = new Map<string, SlotAllocator>();
  /** Per node: slot → entry, for hit-testing. */
  readonly #bySlot = new Map<string, Array<MapEntry | undefined>>();
  /**
   * Bumped when the settled picture must be redrawn whole (a snapshot); smaller changes are queued
   * in `paints` for a cached layer to apply cell by cell.
   */
  settledRevision = 0;
  /** Cell changes since the cached layer last took them (`takePaints`). */
  #paints: CellPaint[] = [];
  #loaded = false;

  /** Applies the store's changes at time `now`. The first snapshot appears without animation. */
  apply(changes: ObjectChange[], reset: boolean, now: number): void {
    const animate = this.#loaded;
    for (const change of changes) {
      if (change.kind === 'added') this.#add(change.object, animate ? now : 0);
      else if (change.kind === 'removed') this.#remove(change.before, animate ? now : -Infinity);
      else this.#update(change.object, animate ? now : 0);
    }
    if (reset) {
      this.#loaded = true;
      this.settledRevision++;
      this.#paints = [];
    }
  }

  /** The queued cell changes, oldest first; the caller applies them to its cached layer. */
  takePaints(): CellPaint[] {
    const paints = this.#paints;
    this.#paints = [];
    return paints;
  }

  /** Ends the animations that are over at `now` (their cells join the settled picture); returns whether any did. */
  settle(now: number): boolean {
    let changed = false;
    for (const entry of this.animating) {
      if (now - entry.bornAt >= APPEAR_MS && (!entry.move || now - entry.move.at >= MOVE_MS)) {
        entry.move = null;
        this.animating.delete(entry);
        this.#paints.push({ draw: entry });
        changed = true;
      }
    }
    if (this.ghosts.length > 0) {
      const keep: Ghost[] = [];
      for (const ghost of this.ghosts) {
        if (now - ghost.at < FADE_MS) keep.push(ghost);
        else this.#freeSlot(ghost.node, ghost.slot);
      }
      if (keep.length !== this.ghosts.length) changed = true;
      this.ghosts = keep;
    }
    return changed;
  }

  /** Whether any animation is in flight (the map needs frames). */
  get busy(): boolean {
    return this.animating.size > 0 || this.ghosts.length > 0;
  }

  /** Slots a node's region must hold (the highest in use, ghosts included). */
  extent(node: string): number {
    return this.#slots.get(node)?.extent ?? 0;
  }

  /** Objects on a node. */
  count(node: string): number {
    let n = this.#slots.get(node)?.used ?? 0;
    for (const ghost of this.ghosts) if (ghost.node === node) n--;
    return n;
  }

  /** Nodes that hold objects or ghosts. */
  nodes(): string[] {
    return [...this.#slots.keys()];
  }

  at(node: string, slot: number): MapEntry | undefined {
    return slot >= 0 ? this.#bySlot.get(node)?.[slot] : undefined;
  }

  #add(object: ObjectView, now: number): void {
    const key = `${object.type}/${object.id}`;
    const slot = this.#takeSlot(object.owner);
    const entry: MapEntry = { key, type: object.type, id: object.id, node: object.owner, slot, queued: object.waiting > 0, bornAt: now, move: null };
    this.entries.set(key, entry);
    this.#bySlot.get(object.owner)![slot] = entry;
    if (now > 0) this.animating.add(entry);
    else this.#paints.push({ draw: entry });
  }

  #remove(object: ObjectView, now: number): void {
    const key = `${object.type}/${object.id}`;
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    if (!this.animating.delete(entry)) this.#paints.push({ clear: { node: entry.node, slot: entry.slot } });
    const row = this.#bySlot.get(entry.node);
    if (row && row[entry.slot] === entry) row[entry.slot] = undefined;
    // The slot stays taken while the ghost fades, so nothing lands on top of it.
    if (Number.isFinite(now)) this.ghosts.push({ type: entry.type, node: entry.node, slot: entry.slot, at: now });
    else this.#freeSlot(entry.node, entry.slot);
  }

  #update(object: ObjectView, now: number): void {
    const key = `${object.type}/${object.id}`;
    const entry = this.entries.get(key);
    if (!entry) return this.#add(object, now);
    const queued = object.waiting > 0;
    if (entry.node === object.owner) {
      if (entry.queued !== queued) {
        entry.queued = queued;
        if (!this.animating.has(entry)) this.#paints.push({ draw: entry });
      }
      return;
    }
    entry.queued = queued;
    if (!this.animating.has(entry)) this.#paints.push({ clear: { node: entry.node, slot: entry.slot } });
    // Migrated (or re-activated elsewhere): travel from the old place to a slot on the new owner.
    const from = { node: entry.node, slot: entry.slot, at: now };
    const row = this.#bySlot.get(entry.node);
    if (row && row[entry.slot] === entry) row[entry.slot] = undefined;
    this.#freeSlot(entry.node, entry.slot);
    entry.node = object.owner;
    entry.slot = this.#takeSlot(object.owner);
    this.#bySlot.get(object.owner)![entry.slot] = entry;
    if (now > 0) {
      entry.move = from;
      this.animating.add(entry);
    } else {
      this.#paints.push({ draw: entry });
    }
  }

  #takeSlot(node: string): number {
    let slots = this.#slots.get(node);
    if (!slots) {
      slots = new SlotAllocator();
      this.#slots.set(node, slots);
      this.#bySlot.set(node, []);
    }
    return slots.take();
  }

  #freeSlot(node: string, slot: number): void {
    const slots = this.#slots.get(node);
    if (!slots) return;
    slots.give(slot);
    if (slots.used === 0) {
      this.#slots.delete(node);
      this.#bySlot.delete(node);
    }
  }
}
