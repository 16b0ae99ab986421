/**
 * One colour per object type, the same on every view and stable over time: a type keeps the colour
 * it was first given when other types appear, and across reloads (remembered in localStorage).
 * Types seen together for the first time are coloured in name order; a type seen later takes the
 * first free colour of the palette. Past the palette's ten colours, colours repeat.
 */
import { schemeTableau10 } from 'd3';

const STORAGE_KEY = 'highlander.typeColors';
const PALETTE = schemeTableau10;

/** Where assignments are remembered (the browser's localStorage; any Storage-like object in tests). */
export interface ColorStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export class TypeColorMemory {
  readonly #slots = new Map<string, number>();
  readonly #storage: ColorStorage | undefined;

  constructor(storage?: ColorStorage) {
    this.#storage = storage;
    try {
      const saved: unknown = JSON.parse(storage?.getItem(STORAGE_KEY) ?? '{}');
      if (saved && typeof saved === 'object') {
        for (const [type, slot] of Object.entries(saved)) {
          if (Number.isInteger(slot) && slot >= 0) this.#slots.set(type, slot as number);
        }
      }
    } catch {
      // Unreadable or blocked storage: start afresh; colours are then stable for this page only.
    }
  }

  /** Gives every type not seen before a colour (in name order), then returns the lookup. */
  colors(types: Iterable<string>): (type: string) => string {
    const fresh = [...new Set(types)].filter((t) => !this.#slots.has(t)).sort();
    if (fresh.length > 0) {
      for (const type of fresh) this.#slots.set(type, this.#freeSlot());
      this.#save();
    }
    return (type) => {
      let slot = this.#slots.get(type);
      if (slot === undefined) {
        slot = this.#freeSlot();
        this.#slots.set(type, slot);
        this.#save();
      }
      return PALETTE[slot % PALETTE.length]!;
    };
  }

  /** The first palette colour no type has; once all are taken, the next slot in turn (colours repeat). */
  #freeSlot(): number {
    const used = new Set(this.#slots.values());
    for (let slot = 0; slot < PALETTE.length; slot++) if (!used.has(slot)) return slot;
    return this.#slots.size;
  }

  #save(): void {
    try {
      this.#storage?.setItem(STORAGE_KEY, JSON.stringify(Object.fromEntries(this.#slots)));
    } catch {
      // Full or blocked storage: the colours stay stable for this page.
    }
  }
}

/** The page's memory: every view colours types through it. */
const shared = new TypeColorMemory(browserStorage());

function browserStorage(): ColorStorage | undefined {
  try {
    return (globalThis as { localStorage?: ColorStorage }).localStorage;
  } catch {
    return undefined; // storage blocked for this origin: colours are stable for this page only
  }
}

/** The colour of each type (see the top of this file). */
export function typeColors(types: Iterable<string>): (type: string) => string {
  return shared.colors(types);
}
