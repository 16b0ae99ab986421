import { performance } from 'node:perf_hooks';
import type { Outcome } from './history.js';
import { seededInts } from './random.js';

/**
 * A linearizability checker for the fault suite's register workload: is there one order of the
 * operations on each object, consistent with real time (an op that returned before another was
 * invoked comes first), in which every op behaves as on a single register?
 *
 * The search is the Wing & Gong algorithm with Lowe's improvements, as Porcupine and Knossos run it:
 * the call and return entries of the ops, sorted by time, in a doubly linked list; an op whose call
 * comes before the first return still in the list may take effect next: it is lifted out of the list
 * and the search goes on from the head; at a dead end the last op is unlifted and the next candidate
 * tried. A cache of (ops taken, model state) cuts every configuration reached twice. The backtracking
 * is an explicit stack, not recursion: histories have thousands of ops per object. Objects are
 * independent (P-compositionality): each is checked on its own.
 *
 * Indeterminate ops (history.ts `classifyError`) may take effect at any point after their
 * invocation, or never. They have no return entry (it would be at +infinity), and the search
 * succeeds once every ok op has taken effect: indeterminate ops left over never happened.
 * Ok ops are tried before indeterminate ones, so an indeterminate write is placed only where
 * something needs it. Failed ops are left out: the runtime promised they took no effect, and if it
 * lied a later read shows it. An indeterminate read constrains nothing and is left out too.
 *
 * Two reductions keep histories with dozens of indeterminate ops tractable:
 * - values nobody observes (no ok read returned them, no cas expected them) are replaced by one
 *   token: a register step compares its state only with observed values, so the search is the same,
 *   and states that differ only in an unobserved value meet in the cache;
 * - indeterminate ops with the same input (after that replacement: every write of an unobserved
 *   value) are interchangeable once invoked, so only the earliest one not yet taken is tried.
 */

export interface RegisterOp {
  /** Position in the run's history, shown in explanations. */
  index: number;
  object: string;
  client: string | number;
  kind: 'read' | 'write' | 'cas';
  /** Wall-clock ms, one clock for every op. */
  invokedAt: number;
  /** Wall-clock ms; ignored for indeterminate ops. */
  completedAt?: number;
  outcome: Outcome;
  /** write: the value written (unique in a run); ok read: the value read, null for never written. */
  value?: unknown;
  /** cas: the value it expects. */
  expected?: unknown;
  /** cas: the value it writes if the register holds `expected`. */
  next?: unknown;
  /** ok cas: whether it swapped. */
  result?: boolean;
}

export type Verdict = 'linearizable' | 'violation' | 'unknown';

export interface LinearizabilityResult {
  object: string;
  verdict: Verdict;
  /** Ops of the object in the input, failed and indeterminate ones included. */
  ops: number;
  /** For a violation or unknown: where the search got stuck, for a person reading a CI log. */
  explanation?: string[];
  /** Ops tried by the search. */
  steps: number;
}

export interface CheckRegisterOptions {
  /** What a register never written holds. @default null */
  initial?: unknown;
  /** Ops the search may try per object before it gives up with `unknown`. @default 1_000_000 */
  maxSteps?: number;
  /**
   * Milliseconds the search may take per object before it gives up with `unknown`: for long soak
   * histories, where a step's cost grows with the ops still open. @default no limit
   */
  maxMs?: number;
  /** Times in explanations are relative to this (wall-clock ms). @default the earliest invokedAt in the input */
  origin?: number;
}

/**
 * A sequential specification. `step` returns every state the op may leave behind when it takes
 * effect in `state` and answers `output` (several for a nondeterministic op; none if it cannot
 * answer that here); `output` is undefined when the answer is unknown (an indeterminate op).
 */
export interface Model<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O | undefined): S[];
  /**
   * The state as the search's cache sees it: equal states have equal keys, and states that no op
   * still to take can tell apart may share one (see `track`).
   */
  key(state: S): string;
  /** Indeterminate ops with equal input keys are interchangeable: the search tries only the earliest pending one. */
  inputKey(input: I): string;
  /**
   * True if the op, with this answer, leaves the state as it is wherever it can take effect (a
   * read): the search then takes it as soon as it can and tries nothing else there.
   */
  readOnly?(input: I, output: O): boolean;
  /**
   * Told which ops are still to take: once with `+1` for every op before the search starts, then
   * `-1` when the search takes one and `+1` when it puts it back (output undefined: indeterminate).
   */
  track?(input: I, output: O | undefined, delta: 1 | -1): void;
}

export interface SearchOp<I, O> {
  input: I;
  /** Invocation time. */
  call: number;
  /** The answer. Absent: indeterminate (may take effect at any point after `call`, or never). */
  answer?: { at: number; output: O };
}

export interface SearchResult {
  verdict: Verdict;
  steps: number;
  /** For `unknown`: which budget ran out. */
  stoppedBy?: 'steps' | 'time';
  /**
   * Positions in the input of the longest linearizable prefix found (most answered ops taken), in
   * linearization order: a full linearization when the verdict is linearizable.
   */
  longest: number[];
}

/** One entry of the linked list: the call or the return of an answered op. */
interface Entry {
  /** The op's rank among answered ops in call order: its bit in the taken set. */
  rank: number;
  time: number;
  /** The return entry, on a call entry; null on a return entry. */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

/** An op that may take effect next: an answered one (its call entry) or an indeterminate one. */
interface Candidate<S> {
  entry: Entry | null;
  /** Position of the indeterminate op in call order, when entry is null. */
  pending: number;
  /** The states it may leave, once stepped. */
  after: S[] | null;
}

/** One op taken: the candidates where it was chosen, which one, and which of its states. */
interface Frame<S> {
  candidates: Array<Candidate<S>>;
  at: number;
  alt: number;
  /** State before the op. */
  before: S;
}

/**
 * Searches for a linearization of one object's ops. Gives up with `unknown` after `maxSteps` ops
 * tried: a search cut short never claims linearizable.
 */
export function searchLinearization<S, I, O>(model: Model<S, I, O>, ops: readonly SearchOp<I, O>[], maxSteps: number, maxMs = Infinity): SearchResult {
  const deadline = Number.isFinite(maxMs) ? performance.now() + maxMs : Infinity;
  let nextClockLook = 0;
  const byCall = (a: number, b: number) => ops[a]!.call - ops[b]!.call || a - b;
  const answered = ops.flatMap((op, i) => (op.answer ? [i] : [])).sort(byCall);
  const pending = ops.flatMap((op, i) => (op.answer ? [] : [i])).sort(byCall);

  // The list of call and return entries, by time; at equal times calls come first (intervals are closed).
  const entries: Array<{ entry: Entry; call: boolean }> = [];
  answered.forEach((position, rank) => {
    const op = ops[position]!;
    const ret: Entry = { rank, time: Math.max(op.answer!.at, op.call), match: null, prev: null, next: null };
    entries.push({ entry: { rank, time: op.call, match: ret, prev: null, next: null }, call: true }, { entry: ret, call: false });
  });
  entries.sort((a, b) => a.entry.time - b.entry.time || Number(b.call) - Number(a.call) || a.entry.rank - b.entry.rank);
  const head: Entry = { rank: -1, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const { entry } of entries) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }

  const readOnly = answered.map((position) => model.readOnly?.(ops[position]!.input, ops[position]!.answer!.output) ?? false);

  // Indeterminate ops that are the same op: only the earliest not yet taken is tried.
  const sameBefore = pending.map(() => -1);
  const lastOfKey = new Map<string, number>();
  pending.forEach((position, i) => {
    const key = model.inputKey(ops[position]!.input);
    sameBefore[i] = lastOfKey.get(key) ?? -1;
    lastOfKey.set(key, i);
  });

  // The set of ops taken: answered ops as bits by rank (all of 0..firstOpen-1 are taken, `count` in
  // all), indeterminate ones as bits by position in call order; `hash` is the xor of a random
  // number per op taken (Zobrist hashing: updated in O(1) as ops are taken and put back).
  const taken = new Uint32Array((answered.length >>> 5) + 1);
  const takenPending = new Uint32Array((pending.length >>> 5) + 1);
  const random = seededInts(answered.length * 31 + pending.length);
  const answeredHash = Uint32Array.from(answered, () => random());
  const pendingHash = Uint32Array.from(pending, () => random());
  let count = 0;
  let firstOpen = 0;
  let hash = 0;
  const take = (rank: number) => {
    taken[rank >>> 5]! |= 1 << (rank & 31);
    hash ^= answeredHash[rank]!;
    count++;
    while (firstOpen < answered.length && (taken[firstOpen >>> 5]! & (1 << (firstOpen & 31))) !== 0) firstOpen++;
  };
  const untake = (rank: number) => {
    taken[rank >>> 5]! &= ~(1 << (rank & 31));
    hash ^= answeredHash[rank]!;
    count--;
    if (rank < firstOpen) firstOpen = rank;
  };
  const isPendingTaken = (i: number) => (takenPending[i >>> 5]! & (1 << (i & 31))) !== 0;
  const takePending = (i: number) => {
    takenPending[i >>> 5]! |= 1 << (i & 31);
    hash ^= pendingHash[i]!;
  };
  const untakePending = (i: number) => {
    takenPending[i >>> 5]! &= ~(1 << (i & 31));
    hash ^= pendingHash[i]!;
  };

  // The cache: configurations by hash, each with its state key and a copy of the set of ops taken.
  // Answered ops below firstOpen are all taken, so the copy holds firstOpen, the words from
  // firstOpen on that still hold taken bits, and the indeterminate ops' words.
  const cache = new Map<number, Array<{ state: string; taken: Uint32Array }>>();
  /** Words of `taken` from firstOpen's on that hold every taken bit above firstOpen. */
  const span = (): number => {
    let n = 0;
    for (let left = count - (firstOpen & ~31), w = firstOpen >>> 5; left > 0; w++, n++) left -= popcount(taken[w]!);
    return n;
  };
  const sameTaken = (copy: Uint32Array, words: number): boolean => {
    if (copy[0] !== firstOpen || copy.length !== 1 + words + takenPending.length) return false;
    const base = firstOpen >>> 5;
    for (let i = 0; i < words; i++) if (copy[1 + i] !== taken[base + i]) return false;
    for (let i = 0; i < takenPending.length; i++) if (copy[1 + words + i] !== takenPending[i]) return false;
    return true;
  };
  /** Records the configuration (the ops taken now, `state`); false if it was recorded before. */
  const visit = (state: S): boolean => {
    const key = model.key(state);
    const h = (hash ^ hashString(key)) & 0x3fffffff;
    const words = span();
    let bucket = cache.get(h);
    if (bucket) {
      for (const seen of bucket) if (seen.state === key && sameTaken(seen.taken, words)) return false;
    } else {
      cache.set(h, (bucket = []));
    }
    const copy = new Uint32Array(1 + words + takenPending.length);
    copy[0] = firstOpen;
    copy.set(taken.subarray(firstOpen >>> 5, (firstOpen >>> 5) + words), 1);
    copy.set(takenPending, 1 + words);
    bucket.push({ state: key, taken: copy });
    return true;
  };

  /** The next indeterminate op at or after `from` that may be taken while the first return in the list is at `limit`. */
  const nextPending = (from: number, limit: number): number => {
    for (let i = from; i < pending.length; i++) {
      if (ops[pending[i]!]!.call > limit) break;
      if (isPendingTaken(i)) continue;
      if (sameBefore[i]! >= 0 && !isPendingTaken(sameBefore[i]!)) continue;
      return i;
    }
    return pending.length;
  };

  const stack: Frame<S>[] = [];
  let state = model.init();
  let steps = 0;
  const longest: number[] = [];
  let longestCount = -1;
  const positionOf = ({ candidates, at }: Frame<S>) => {
    const { entry, pending: i } = candidates[at]!;
    return entry ? answered[entry.rank]! : pending[i]!;
  };
  // The first `agree` ops of the stack are those of `longest`: only the rest is copied.
  let agree = 0;
  /** Keeps the ops taken so far if they are the longest prefix yet (counted in answered ops). */
  const keepIfLongest = () => {
    if (count <= longestCount) return;
    longestCount = count;
    longest.length = agree;
    for (let i = agree; i < stack.length; i++) longest.push(positionOf(stack[i]!));
    agree = stack.length;
  };
  /** The states the candidate may leave when it takes effect in `from`. */
  const stepOf = (candidate: Candidate<S>, from: S): S[] => {
    steps++;
    if (candidate.entry) {
      const op = ops[answered[candidate.entry.rank]!]!;
      return model.step(from, op.input, op.answer!.output);
    }
    // An indeterminate op that would leave the state as it is need not be taken: leaving it out
    // reaches the same state with one more op still free to take effect later.
    const here = model.key(from);
    return model.step(from, ops[pending[candidate.pending]!]!.input, undefined).filter((after) => model.key(after) !== here);
  };

  /**
   * Right after an indeterminate op took effect (from state `before`): does the candidate reach a
   * state it could not reach without it? If not, taking it without the indeterminate op does at
   * least as well (same state, and that op still free), so the search need not go this way.
   */
  const needs = (candidate: Candidate<S>, before: S): boolean => {
    candidate.after ??= stepOf(candidate, state);
    if (candidate.after.length === 0) return false;
    const without = new Set(stepOf(candidate, before).map((s) => model.key(s)));
    return candidate.after.some((after) => !without.has(model.key(after)));
  };

  /**
   * The ops that may take effect next: the answered ops whose call comes before the first return in
   * the list, then the indeterminate ops invoked by then. A read-only op that can take effect is
   * taken alone: whatever order exists from here, one with it first exists too (it changes nothing,
   * and nothing that must precede it is left). Otherwise the earliest return first (the op every
   * later-invoked op must follow), which places long ops only where they are needed.
   * Right after an indeterminate op (`before`: the state it found), only ops that need it.
   */
  const candidatesHere = (before?: S): Array<Candidate<S>> => {
    const open: Entry[] = [];
    let entry = head.next!;
    for (; entry.match !== null; entry = entry.next!) open.push(entry);
    const limit = entry.time;
    let candidates: Array<Candidate<S>> = [];
    for (const call of open) {
      const candidate: Candidate<S> = { entry: call, pending: -1, after: null };
      if (!readOnly[call.rank]) {
        candidates.push(candidate);
        continue;
      }
      // (A read-only op that can take effect now could not before the indeterminate op, or it
      // would have been taken then: it needs it.)
      candidate.after = stepOf(candidate, state);
      if (candidate.after.length > 0) return [candidate];
    }
    candidates.sort((a, b) => a.entry!.match!.time - b.entry!.match!.time || a.entry!.rank - b.entry!.rank);
    for (let i = nextPending(0, limit); i < pending.length; i = nextPending(i + 1, limit)) candidates.push({ entry: null, pending: i, after: null });
    if (before !== undefined) candidates = candidates.filter((candidate) => needs(candidate, before));
    return candidates;
  };
  const track = (candidate: Candidate<S>, delta: 1 | -1) => {
    if (!model.track) return;
    const op = ops[candidate.entry ? answered[candidate.entry.rank]! : pending[candidate.pending]!]!;
    model.track(op.input, op.answer?.output, delta);
  };
  const mark = (candidate: Candidate<S>) => {
    if (candidate.entry) take(candidate.entry.rank);
    else takePending(candidate.pending);
    track(candidate, -1);
  };
  const unmark = (candidate: Candidate<S>) => {
    if (candidate.entry) untake(candidate.entry.rank);
    else untakePending(candidate.pending);
    track(candidate, 1);
  };
  for (const op of ops) model.track?.(op.input, op.answer?.output, 1);

  if (head.next === null) return { verdict: 'linearizable', steps, longest: [] };
  let candidates = candidatesHere();
  let at = 0;
  let alt = 0;
  for (;;) {
    if (steps > maxSteps) {
      keepIfLongest();
      return { verdict: 'unknown', steps: maxSteps, longest, stoppedBy: 'steps' };
    }
    if (steps >= nextClockLook) {
      nextClockLook = steps + 4096;
      if (performance.now() > deadline) {
        keepIfLongest();
        return { verdict: 'unknown', steps, longest, stoppedBy: 'time' };
      }
    }
    const candidate = candidates[at];
    if (candidate) {
      candidate.after ??= stepOf(candidate, state);
      if (alt >= candidate.after.length) {
        at++;
        alt = 0;
        continue;
      }
      const after = candidate.after[alt]!;
      mark(candidate);
      if (!visit(after)) {
        unmark(candidate);
        alt++;
        continue;
      }
      const before = state;
      stack.push({ candidates, at, alt, before });
      state = after;
      if (candidate.entry) lift(candidate.entry);
      if (head.next === null) return { verdict: 'linearizable', steps, longest: stack.map(positionOf) };
      candidates = candidatesHere(candidate.entry ? undefined : before);
      at = 0;
      alt = 0;
      continue;
    }

    // A dead end: nothing can take effect next. Back up one op and try its next alternative, or the
    // next candidate after it.
    keepIfLongest();
    const frame = stack.pop();
    if (!frame) return { verdict: 'violation', steps, longest };
    agree = Math.min(agree, stack.length);
    ({ candidates, at } = frame);
    alt = frame.alt + 1;
    state = frame.before;
    const taken = candidates[at]!;
    if (taken.entry) unlift(taken.entry);
    unmark(taken);
  }
}

/** Takes a call entry and its return out of the list. */
function lift(entry: Entry): void {
  entry.prev!.next = entry.next;
  entry.next!.prev = entry.prev; // a call is always followed by at least its return
  const ret = entry.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Puts back what `lift` took out (in reverse order). */
function unlift(entry: Entry): void {
  const ret = entry.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  entry.prev!.next = entry;
  entry.next!.prev = entry;
}

/** FNV-1a. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}


function popcount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

// ---------------------------------------------------------------------------------------------
// The register.

/** A register's input, with values interned as numbers (0: any value nobody observes). */
type RegisterInput = { kind: 'read' } | { kind: 'write'; value: number } | { kind: 'cas'; expected: number; next: number };
/** What a read returned (interned), whether a cas swapped; null for a write. */
type RegisterOutput = number | boolean | null;

const UNOBSERVED = 0;

/**
 * The register on interned values. An indeterminate cas swaps if the register holds its expected
 * value and does nothing otherwise; that it may also never have taken effect is the search's
 * business (it need not be taken), so a no-op where the register holds the expected value is the
 * same as not taking it and is not offered again.
 */
function registerModel(initial: number, values: number): Model<number, RegisterInput, RegisterOutput> {
  // How many ops still to take observe each value: a value none of them observes is as good as any other.
  const observers = new Int32Array(values + 1);
  return {
    init: () => initial,
    step(state, input, output) {
      switch (input.kind) {
        case 'read':
          return output === undefined || output === state ? [state] : [];
        case 'write':
          return [input.value];
        case 'cas':
          if (output === undefined) return [state === input.expected ? input.next : state];
          if (output === true) return state === input.expected ? [input.next] : [];
          return state === input.expected ? [] : [state];
      }
    },
    key: (state) => (observers[state]! > 0 ? String(state) : String(UNOBSERVED)),
    track(input, output, delta) {
      if (input.kind === 'read' && typeof output === 'number') observers[output]! += delta;
      if (input.kind === 'cas') observers[input.expected]! += delta;
    },
    inputKey: (input) => (input.kind === 'read' ? 'r' : input.kind === 'write' ? `w${input.value}` : `c${input.expected}>${input.next}`),
    // A read, and a cas that did not swap (it can only happen where the register does not hold its expected value).
    readOnly: (input, output) => input.kind === 'read' || (input.kind === 'cas' && output === false),
  };
}

/** Identity of a value: strings by content, anything else by its JSON. */
function valueKey(value: unknown): string {
  if (typeof value === 'string') return `s${value}`;
  if (value === undefined) return 'u';
  return `j${JSON.stringify(value)}`;
}

/**
 * Checks the register histories of every object in `ops`, each on its own. Throws a TypeError on an
 * op the checker cannot read (an ok read without a value, an ok cas without a boolean result).
 */
export function checkRegisterHistory(ops: readonly RegisterOp[], options: CheckRegisterOptions = {}): LinearizabilityResult[] {
  const initial = options.initial ?? null;
  const maxSteps = options.maxSteps ?? 1_000_000;
  const maxMs = options.maxMs ?? Infinity;
  const origin = options.origin ?? ops.reduce((min, op) => Math.min(min, op.invokedAt), Infinity);
  for (const op of ops) validate(op);

  const objects = new Map<string, RegisterOp[]>();
  for (const op of ops) {
    let list = objects.get(op.object);
    if (!list) objects.set(op.object, (list = []));
    list.push(op);
  }
  return [...objects.keys()].sort().map((object) => checkObject(object, objects.get(object)!, initial, { maxSteps, maxMs }, origin));
}

function validate(op: RegisterOp): void {
  if (op.outcome !== 'ok') return;
  if (op.kind === 'read' && op.value === undefined) throw new TypeError(`op #${op.index}: an ok read without a value (null stands for never written)`);
  if (op.kind === 'cas' && typeof op.result !== 'boolean') throw new TypeError(`op #${op.index}: an ok cas without a boolean result`);
}

function checkObject(object: string, all: RegisterOp[], initial: unknown, limits: { maxSteps: number; maxMs: number }, origin: number): LinearizabilityResult {
  const kept = all.filter((op) => op.outcome !== 'fail' && !(op.outcome === 'indeterminate' && op.kind === 'read'));

  // Values something observes keep their identity; every other value is UNOBSERVED.
  const observed = new Map<string, number>();
  const observe = (value: unknown) => {
    const key = valueKey(value);
    if (!observed.has(key)) observed.set(key, observed.size + 1);
  };
  for (const op of kept) {
    if (op.kind === 'read') observe(op.value);
    if (op.kind === 'cas') observe(op.expected);
  }
  const intern = (value: unknown) => observed.get(valueKey(value)) ?? UNOBSERVED;

  const searchOps: SearchOp<RegisterInput, RegisterOutput>[] = kept.map((op) => {
    const input: RegisterInput =
      op.kind === 'read' ? { kind: 'read' } : op.kind === 'write' ? { kind: 'write', value: intern(op.value) } : { kind: 'cas', expected: intern(op.expected), next: intern(op.next) };
    if (op.outcome === 'indeterminate') return { input, call: op.invokedAt };
    const output: RegisterOutput = op.kind === 'read' ? intern(op.value) : op.kind === 'cas' ? op.result! : null;
    return { input, call: op.invokedAt, answer: { at: op.completedAt ?? Infinity, output } };
  });

  const result = searchLinearization(registerModel(intern(initial), observed.size), searchOps, limits.maxSteps, limits.maxMs);
  const base = { object, verdict: result.verdict, ops: all.length, steps: result.steps };
  if (result.verdict === 'linearizable') return base;
  const prefix = result.longest.map((position) => kept[position]!);
  return { ...base, explanation: explain(object, result, all, kept, prefix, initial, limits, origin) };
}

// ---------------------------------------------------------------------------------------------
// Explanations.

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'undefined';
  return JSON.stringify(value);
}

function at(t: number | undefined, origin: number): string {
  return t === undefined || !Number.isFinite(t) ? '?' : `+${((t - origin) / 1000).toFixed(3)}s`;
}

/** `#12 client 3 read → v17 ok [+1.200s→+1.234s]` */
export function formatRegisterOp(op: RegisterOp, origin: number): string {
  const what =
    op.kind === 'read'
      ? op.outcome === 'ok' ? `read → ${formatValue(op.value)}` : 'read'
      : op.kind === 'write'
        ? `write ${formatValue(op.value)}`
        : `cas ${formatValue(op.expected)}→${formatValue(op.next)}${op.outcome === 'ok' ? ` → ${String(op.result)}` : ''}`;
  const end = op.outcome === 'indeterminate' ? '?' : at(op.completedAt, origin);
  return `#${op.index} client ${String(op.client)} ${what} ${op.outcome} [${at(op.invokedAt, origin)}→${end}]`;
}

/** Does the op set the register to `value` when it takes effect? (An indeterminate cas might.) */
function writes(op: RegisterOp, value: unknown): boolean {
  const key = valueKey(value);
  if (op.kind === 'write') return valueKey(op.value) === key;
  return op.kind === 'cas' && op.result !== false && valueKey(op.next) === key;
}

/** Replays the prefix: the value after it, and for each op of it whether it changed the value. */
function replay(prefix: readonly RegisterOp[], initial: unknown): { value: unknown; setBy: RegisterOp | undefined } {
  let value = initial;
  let setBy: RegisterOp | undefined;
  for (const op of prefix) {
    if (op.kind === 'write' || (op.kind === 'cas' && valueKey(value) === valueKey(op.expected))) {
      value = op.kind === 'write' ? op.value : op.next;
      setBy = op;
    }
  }
  return { value, setBy };
}

/** Why nothing in the prefix's end state explains the register holding `value`. */
function whyNot(value: unknown, reader: RegisterOp, all: readonly RegisterOp[], prefix: readonly RegisterOp[], initial: unknown, origin: number): string {
  const fmt = (op: RegisterOp) => formatRegisterOp(op, origin);
  const v = formatValue(value);
  const writers = all.filter((op) => op !== reader && writes(op, value));
  const inPrefix = writers.find((op) => prefix.includes(op));
  /** The first op of the prefix from `from` on that changed the register while it held `value`. */
  const overwriter = (from: number) => prefix.slice(from).find((op) => op.kind === 'write' || (op.kind === 'cas' && valueKey(value) === valueKey(op.expected)));
  if (inPrefix) {
    const by = overwriter(prefix.indexOf(inPrefix) + 1);
    const later = writers.filter((op) => op !== inPrefix && op.outcome !== 'fail');
    return `${v} was written by ${fmt(inPrefix)} but overwritten by ${by ? fmt(by) : 'a later op'}${later.length === 0 ? `, and no later write of ${v} exists` : ''}`;
  }
  if (writers.length === 0) {
    if (valueKey(value) === valueKey(initial)) {
      const by = overwriter(0);
      return `${v} is the initial value, overwritten by ${by ? fmt(by) : 'a write'}, and nothing writes ${v} again`;
    }
    return `no op writes ${v}`;
  }
  const live = writers.filter((op) => op.outcome !== 'fail');
  if (live.length === 0) return `the only write of ${v} failed, which promised it took no effect: ${writers.map(fmt).join('; ')}`;
  const late = live.filter((op) => reader.completedAt !== undefined && op.invokedAt > reader.completedAt);
  if (late.length === live.length) return `${v} is written only after this op returned: ${live.map(fmt).join('; ')}`;
  return `${v} is written by ${live.map(fmt).join('; ')}, which cannot take effect before this op in any order found`;
}

const PENDING_LINES = 8;
const PREFIX_LINES = 5;

function explain(
  object: string,
  result: SearchResult,
  all: readonly RegisterOp[],
  kept: readonly RegisterOp[],
  prefix: readonly RegisterOp[],
  initial: unknown,
  limits: { maxSteps: number; maxMs: number },
  origin: number,
): string[] {
  const fmt = (op: RegisterOp) => formatRegisterOp(op, origin);
  const answered = kept.filter((op) => op.outcome === 'ok');
  const placed = new Set(prefix);
  const placedAnswered = prefix.filter((op) => op.outcome === 'ok').length;
  const lines: string[] = [];
  if (result.verdict === 'unknown') {
    const why = result.stoppedBy === 'time' ? `${limits.maxMs} ms (maxMs), after ${result.steps} steps` : `${limits.maxSteps} steps (maxSteps)`;
    lines.push(`register ${object}: no verdict — the search stopped after ${why}; at best it placed ${placedAnswered} of ${answered.length} ok ops`);
  } else {
    lines.push(`register ${object}: not linearizable — no order of its ops explains every answer; the longest linearizable prefix found places ${placedAnswered} of ${answered.length} ok ops`);
  }

  const { value, setBy } = replay(prefix, initial);
  const open = answered.filter((op) => !placed.has(op));
  if (open.length === 0) return lines;
  const firstReturn = open.reduce((m, op) => ((op.completedAt ?? Infinity) < (m.completedAt ?? Infinity) ? op : m));
  const limit = firstReturn.completedAt ?? Infinity;
  lines.push(`after that prefix the register holds ${formatValue(value)}${setBy ? ` (from ${fmt(setBy)})` : ' (its initial value)'}`);
  lines.push(`and none of the ops that may come next can take effect (${fmt(firstReturn)} returned first: every op invoked after ${at(limit, origin)} must follow it):`);

  const candidates = open.filter((op) => op.invokedAt <= limit).sort((a, b) => a.invokedAt - b.invokedAt);
  for (const op of candidates.slice(0, PENDING_LINES)) {
    let why: string;
    if (op.kind === 'read' && valueKey(op.value) !== valueKey(value)) {
      why = `returned ${formatValue(op.value)}, but ${whyNot(op.value, op, all, prefix, initial, origin)}`;
    } else if (op.kind === 'cas' && op.result === true && valueKey(op.expected) !== valueKey(value)) {
      why = `swapped, so the register held ${formatValue(op.expected)}, but ${whyNot(op.expected, op, all, prefix, initial, origin)}`;
    } else if (op.kind === 'cas' && op.result === false && valueKey(op.expected) === valueKey(value)) {
      why = `did not swap, but the register held ${formatValue(value)}, its expected value`;
    } else {
      why = 'could take effect here, but no order continues from there';
    }
    lines.push(`  ${fmt(op)}: ${why}`);
  }
  if (candidates.length > PENDING_LINES) lines.push(`  … and ${candidates.length - PENDING_LINES} more`);
  const unsure = kept.filter((op) => op.outcome === 'indeterminate' && !placed.has(op) && op.invokedAt <= limit);
  if (unsure.length > 0) lines.push(`  (${unsure.length} indeterminate ops could also take effect here; none leads to a linearization)`);

  if (prefix.length > 0) {
    lines.push(`the prefix ends with:`);
    for (const op of prefix.slice(-PREFIX_LINES)) lines.push(`  ${fmt(op)}`);
  }
  return lines;
}
