import { createHash } from 'node:crypto';
import type { MemberInfo } from './coordinator.js';

/**
 * Placement decides which node activates an object that no node owns yet. It only runs for new
 * activations; an owned object is always served by its owner.
 */
export interface PlacementContext {
  type: string;
  id: string;
  /** The node asking. */
  self: string;
  /** Live members that take new activations (not draining), sorted by name; never empty. */
  candidates: MemberInfo[];
}

export interface Placement {
  readonly name: string;
  /** Returns the name of one of `candidates`. */
  choose(context: PlacementContext): string;
}

export type PlacementName = 'local' | 'round-robin' | 'random' | 'least-loaded' | 'hash';

/** The calling node activates the object itself (when it takes activations). */
export const localPlacement: Placement = {
  name: 'local',
  choose: ({ self, candidates }) => (candidates.some((m) => m.name === self) ? self : candidates[0]!.name),
};

/** Each new activation goes to the next node in name order (the seed's `next_node`). */
export function roundRobinPlacement(): Placement {
  let next = 0;
  return {
    name: 'round-robin',
    choose: ({ candidates }) => candidates[next++ % candidates.length]!.name,
  };
}

export const randomPlacement: Placement = {
  name: 'random',
  choose: ({ candidates }) => candidates[Math.floor(Math.random() * candidates.length)]!.name,
};

/** The node with the fewest activations (as last published); ties go to the caller, then by name. */
export const leastLoadedPlacement: Placement = {
  name: 'least-loaded',
  choose: ({ self, candidates }) => {
    let best = candidates[0]!;
    for (const m of candidates) {
      if (m.activations < best.activations || (m.activations === best.activations && m.name === self)) best = m;
    }
    return best.name;
  },
};

/**
 * Rendezvous hashing on `<type>/<id>`: every node picks the same node for an id, and a
 * membership change moves only the ids of the node that came or went.
 */
export const hashPlacement: Placement = {
  name: 'hash',
  choose: ({ type, id, candidates }) => {
    let best = candidates[0]!.name;
    let bestScore = -1n;
    for (const m of candidates) {
      const digest = createHash('sha1').update(`${m.name}\0${type}/${id}`).digest();
      const score = digest.readBigUInt64BE(0);
      if (score > bestScore) {
        bestScore = score;
        best = m.name;
      }
    }
    return best;
  },
};

export function placementByName(name: PlacementName): Placement {
  switch (name) {
    case 'local': return localPlacement;
    case 'round-robin': return roundRobinPlacement();
    case 'random': return randomPlacement;
    case 'least-loaded': return leastLoadedPlacement;
    case 'hash': return hashPlacement;
    default: throw new TypeError(`unknown placement '${String(name)}': use local, round-robin, random, least-loaded, hash or a Placement object`);
  }
}
