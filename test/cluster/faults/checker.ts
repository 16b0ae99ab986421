import { formatOp, objectKey, outcomeOf, type Op } from './history.js';
import { checkRegisterHistory, type RegisterOp } from './linearizability.js';

/**
 * The fault suite's invariants, checked on a recorded history, the final states and what ZooKeeper
 * holds after the run. Pure: checker.test.ts feeds it hand-made histories and proves that each
 * invariant fires.
 *
 * Counter (`tally`): acknowledged values are unique; with A acknowledged and I indeterminate
 * increments the final value F satisfies A ≤ F ≤ A + I; every acknowledged value and every value a
 * read returned is ≤ F.
 * Set (`bag`): every acknowledged element is in the final set; every element in it was acknowledged
 * or indeterminate (a failed add promised no effect); every element a read returned is still there.
 * Register (`register`): the history of each register (reads, writes, compare-and-sets; failed calls
 * took no effect, indeterminate ones may or may not have) is linearizable (linearizability.ts); a search
 * that runs out of steps is reported too, never taken as a pass.
 * Final states read through a node and straight from S3 agree.
 * Serving (one owner at a time): per object, the ok replies of one epoch span [first servedAt, last
 * servedAt]; an older epoch's span ends before a newer one's begins; no reply of an epoch was served
 * after a newer epoch of the object activated (`object.activated` events), nor before its own epoch
 * activated; a read returns at least what was acknowledged before it was invoked.
 * Leaks: with the nodes up and quiescent, every lock znode belongs to an activation that a live node
 * reports with the same epoch, no object is active on two nodes, and `<root>/nodes` lists exactly the
 * live nodes; after every node stopped, no member znode, lock znode or lock parent is left.
 */

export type Invariant =
  | 'duplicate-ack'
  | 'final-below-acked'
  | 'final-above-possible'
  | 'acked-value-lost'
  | 'read-above-final'
  | 'set-acked-missing'
  | 'set-unexplained-element'
  | 'set-read-element-lost'
  | 'final-unreadable'
  | 'not-linearizable'
  | 'linearizability-unknown'
  | 'final-sources-disagree'
  | 'overlapping-epochs'
  | 'stale-serve'
  | 'served-before-activation'
  | 'stale-read'
  | 'duplicate-owner'
  | 'unlocked-activation'
  | 'leaked-lock'
  | 'leaked-node'
  | 'member-missing'
  | 'leaked-lock-parent';

export interface Violation {
  invariant: Invariant;
  /** `tally/t3`, a znode path, or a node name. */
  subject: string;
  message: string;
  /** Ops (formatted) and events that show it. */
  evidence: string[];
}

/** Final states of every object, from one source. `null`: the object could not be read. */
export interface FinalState {
  /** e.g. `node-a` (a `read` query) or `s3`. */
  source: string;
  tally: Record<string, number | null>;
  bag: Record<string, string[] | null>;
  /** A register's value (`value: null`: never written); null: unreadable. */
  register: Record<string, { value: string | null } | null>;
}

/** An `object.activated` event. */
export interface ActivationRecord {
  type: string;
  id: string;
  epoch: string;
  node: string;
  time: number;
}

export interface LockZnode {
  type: string;
  id: string;
  /** The znode's name, `lock-<node>-<session>-<nonce>-<seq>`. */
  name: string;
  node: string;
  /** Its czxid, as the runtime's epochs are. */
  epoch: string;
}

/** What is under a test root in ZooKeeper. */
export interface CoordinationState {
  /** Children of `<root>/nodes`. */
  members: string[];
  locks: LockZnode[];
  /** `<root>/objects/<type>/<bucket>/<id>` znodes (lock parents), with or without children. */
  lockParents: string[];
}

/** One entry of a node's `activations` command. */
export interface LiveActivation {
  node: string;
  type: string;
  id: string;
  epoch: string;
  status: string;
}

export interface CheckInput {
  ops: readonly Op[];
  finals: readonly FinalState[];
  activations: readonly ActivationRecord[];
  /** Taken with the nodes up, after the workload stopped and every fault was healed. */
  running?: { coordination: CoordinationState; liveNodes: string[]; activations: LiveActivation[] };
  /** Taken after every node stopped. */
  stopped?: CoordinationState;
  /** Times in evidence are relative to this. @default the first op's invokedAt */
  origin?: number;
  /** Steps the linearizability search may take per register before it reports `linearizability-unknown`. @default 1_000_000 */
  linearizabilitySteps?: number;
  /** Milliseconds the linearizability search may take per register (soaks). @default no limit */
  linearizabilityMs?: number;
}

/** Evidence lines kept per violation. */
const EVIDENCE_LINES = 6;

export function check(input: CheckInput): Violation[] {
  const origin = input.origin ?? input.ops[0]?.invokedAt ?? 0;
  const fmt = (op: Op) => formatOp(op, origin);
  return [
    ...checkCounters(input, fmt),
    ...checkSets(input, fmt),
    ...checkRegisters(input, origin),
    ...checkFinalAgreement(input),
    ...checkServing(input, fmt, origin),
    ...checkReads(input, fmt),
    ...checkLeaks(input),
  ];
}

function byObject(ops: readonly Op[], type: string): Map<string, Op[]> {
  const map = new Map<string, Op[]>();
  for (const op of ops) {
    if (op.type !== type) continue;
    let list = map.get(op.id);
    if (!list) map.set(op.id, (list = []));
    list.push(op);
  }
  return map;
}

function idsOf(input: CheckInput, type: 'tally' | 'bag'): string[] {
  const ids = new Set<string>();
  for (const op of input.ops) if (op.type === type) ids.add(op.id);
  for (const final of input.finals) for (const id of Object.keys(final[type])) ids.add(id);
  return [...ids].sort();
}

/** A register op as the linearizability checker reads it. */
function registerOp(op: Op): RegisterOp {
  const kind = op.name === 'write' || op.name === 'cas' ? op.name : 'read';
  const base: RegisterOp = { index: op.index, object: op.id, client: String(op.issuer), kind, invokedAt: op.invokedAt, outcome: outcomeOf(op) };
  if (op.completedAt !== undefined) base.completedAt = op.completedAt;
  if (kind === 'write') base.value = op.written;
  if (kind === 'cas') Object.assign(base, { expected: op.expected ?? null, next: op.written }, op.swapped === undefined ? {} : { result: op.swapped });
  if (kind === 'read' && op.read !== undefined) base.value = op.read;
  return base;
}

function checkRegisters(input: CheckInput, origin: number): Violation[] {
  const ops = input.ops.filter((op) => op.type === 'register');
  // An ok reply the history could not read (no value, no swapped flag) is evidence of a broken reply, not a pass.
  const unreadable = ops.filter((op) => outcomeOf(op) === 'ok' && ((op.name === 'read' && op.read === undefined) || (op.name === 'cas' && op.swapped === undefined)));
  const violations: Violation[] = unreadable.map((op) => ({
    invariant: 'not-linearizable', subject: objectKey(op), message: 'an acknowledged call whose reply carries no result', evidence: [formatOp(op, origin)],
  }));
  const readable = ops.filter((op) => !unreadable.includes(op));
  for (const result of checkRegisterHistory(readable.map(registerOp), { initial: null, origin, maxSteps: input.linearizabilitySteps ?? 1_000_000, maxMs: input.linearizabilityMs ?? Infinity })) {
    if (result.verdict === 'linearizable') continue;
    const [message = '', ...evidence] = result.explanation ?? [];
    violations.push({
      invariant: result.verdict === 'violation' ? 'not-linearizable' : 'linearizability-unknown',
      subject: `register/${result.object}`,
      message: message.replace(/^register \S+: /, ''),
      evidence,
    });
  }
  return violations;
}

function checkCounters(input: CheckInput, fmt: (op: Op) => string): Violation[] {
  const violations: Violation[] = [];
  const ops = byObject(input.ops, 'tally');
  for (const id of idsOf(input, 'tally')) {
    const subject = `tally/${id}`;
    const list = ops.get(id) ?? [];
    const increments = list.filter((op) => op.name === 'increment');
    const acked = increments.filter((op) => outcomeOf(op) === 'ok' && op.value !== undefined);
    const indeterminate = increments.filter((op) => outcomeOf(op) === 'indeterminate');
    const reads = list.filter((op) => op.name === 'read' && outcomeOf(op) === 'ok' && op.value !== undefined);

    const byValue = new Map<number, Op[]>();
    for (const op of acked) byValue.set(op.value!, [...(byValue.get(op.value!) ?? []), op]);
    for (const [value, same] of byValue) {
      if (same.length > 1) {
        violations.push({ invariant: 'duplicate-ack', subject, message: `value ${value} acknowledged to ${same.length} increments`, evidence: same.slice(0, EVIDENCE_LINES).map(fmt) });
      }
    }

    for (const final of input.finals) {
      const value = final.tally[id];
      if (value === undefined || value === null) {
        violations.push({ invariant: 'final-unreadable', subject, message: `no final value from ${final.source}`, evidence: [] });
        continue;
      }
      const from = `final value ${value} (${final.source})`;
      if (value < acked.length) {
        violations.push({ invariant: 'final-below-acked', subject, message: `${from} < ${acked.length} acknowledged increments: acknowledged writes lost`, evidence: [] });
      }
      if (value > acked.length + indeterminate.length) {
        // The values no acknowledgement carries were produced by the failed or indeterminate calls, or by a repeated one.
        const unacked: number[] = [];
        for (let v = 1; v <= value && unacked.length < 10; v++) if (!byValue.has(v)) unacked.push(v);
        const unsure = increments.filter((op) => outcomeOf(op) !== 'ok');
        violations.push({
          invariant: 'final-above-possible', subject,
          message: `${from} > ${acked.length} acknowledged + ${indeterminate.length} indeterminate increments: a failed increment took effect, or one was applied twice`,
          evidence: [`values no acknowledgement carries: ${unacked.join(', ') || 'none'}`, ...unsure.slice(-EVIDENCE_LINES).map(fmt)],
        });
      }
      const lost = acked.filter((op) => op.value! > value);
      if (lost.length > 0) {
        violations.push({ invariant: 'acked-value-lost', subject, message: `${lost.length} acknowledged values above the ${from}`, evidence: lost.slice(0, EVIDENCE_LINES).map(fmt) });
      }
      const above = reads.filter((op) => op.value! > value);
      if (above.length > 0) {
        violations.push({ invariant: 'read-above-final', subject, message: `${above.length} reads returned more than the ${from}: writes they saw were lost`, evidence: above.slice(0, EVIDENCE_LINES).map(fmt) });
      }
    }
  }
  return violations;
}

function checkSets(input: CheckInput, fmt: (op: Op) => string): Violation[] {
  const violations: Violation[] = [];
  const ops = byObject(input.ops, 'bag');
  for (const id of idsOf(input, 'bag')) {
    const subject = `bag/${id}`;
    const list = ops.get(id) ?? [];
    const adds = list.filter((op) => op.name === 'add' && op.element !== undefined);
    const acked = adds.filter((op) => outcomeOf(op) === 'ok');
    const possible = new Set(adds.filter((op) => outcomeOf(op) !== 'fail').map((op) => op.element!));
    const addOf = new Map(adds.map((op) => [op.element!, op]));
    const seen = new Map<string, Op>();
    for (const op of list) {
      if (op.name === 'read' && outcomeOf(op) === 'ok') for (const e of op.elements ?? []) if (!seen.has(e)) seen.set(e, op);
    }
    for (const final of input.finals) {
      const elements = final.bag[id];
      if (elements === undefined || elements === null) {
        violations.push({ invariant: 'final-unreadable', subject, message: `no final elements from ${final.source}`, evidence: [] });
        continue;
      }
      const present = new Set(elements);
      const missing = acked.filter((op) => !present.has(op.element!));
      if (missing.length > 0) {
        violations.push({ invariant: 'set-acked-missing', subject, message: `${missing.length} acknowledged elements missing from the final set (${final.source})`, evidence: missing.slice(0, EVIDENCE_LINES).map(fmt) });
      }
      const unexplained = elements.filter((e) => !possible.has(e));
      if (unexplained.length > 0) {
        violations.push({
          invariant: 'set-unexplained-element', subject,
          message: `${unexplained.length} elements in the final set (${final.source}) whose add failed or never happened`,
          evidence: unexplained.slice(0, EVIDENCE_LINES).map((e) => (addOf.has(e) ? fmt(addOf.get(e)!) : `${e}: never added`)),
        });
      }
      const lost = [...seen].filter(([e]) => !present.has(e));
      if (lost.length > 0) {
        violations.push({ invariant: 'set-read-element-lost', subject, message: `${lost.length} elements a read returned are missing from the final set (${final.source})`, evidence: lost.slice(0, EVIDENCE_LINES).map(([e, op]) => `${e} seen by ${fmt(op)}`) });
      }
    }
  }
  return violations;
}

function checkFinalAgreement(input: CheckInput): Violation[] {
  const violations: Violation[] = [];
  const [first, ...others] = input.finals;
  if (!first) return violations;
  for (const other of others) {
    for (const id of new Set([...Object.keys(first.tally), ...Object.keys(other.tally)])) {
      const a = first.tally[id];
      const b = other.tally[id];
      if (a !== null && b !== null && a !== undefined && b !== undefined && a !== b) {
        violations.push({ invariant: 'final-sources-disagree', subject: `tally/${id}`, message: `${first.source} says ${a}, ${other.source} says ${b}`, evidence: [] });
      }
    }
    for (const id of new Set([...Object.keys(first.register), ...Object.keys(other.register)])) {
      const a = first.register[id];
      const b = other.register[id];
      if (!a || !b) {
        for (const [final, value] of [[first, a], [other, b]] as const) {
          if (!value) violations.push({ invariant: 'final-unreadable', subject: `register/${id}`, message: `no final value from ${final.source}`, evidence: [] });
        }
      } else if (a.value !== b.value) {
        violations.push({ invariant: 'final-sources-disagree', subject: `register/${id}`, message: `${first.source} says ${a.value}, ${other.source} says ${b.value}`, evidence: [] });
      }
    }
    for (const id of new Set([...Object.keys(first.bag), ...Object.keys(other.bag)])) {
      const a = first.bag[id];
      const b = other.bag[id];
      if (!a || !b) continue;
      const sa = new Set(a);
      const sb = new Set(b);
      const onlyA = a.filter((e) => !sb.has(e));
      const onlyB = b.filter((e) => !sa.has(e));
      if (onlyA.length > 0 || onlyB.length > 0) {
        violations.push({
          invariant: 'final-sources-disagree', subject: `bag/${id}`,
          message: `${onlyA.length} elements only in ${first.source}, ${onlyB.length} only in ${other.source}`,
          evidence: [...onlyA.slice(0, 3).map((e) => `${e}: ${first.source} only`), ...onlyB.slice(0, 3).map((e) => `${e}: ${other.source} only`)],
        });
      }
    }
  }
  return violations;
}

function checkServing(input: CheckInput, fmt: (op: Op) => string, origin: number): Violation[] {
  const violations: Violation[] = [];
  const at = (t: number) => `+${((t - origin) / 1000).toFixed(3)}s`;
  const serves = new Map<string, Op[]>();
  for (const op of input.ops) {
    if (outcomeOf(op) !== 'ok' || !op.served) continue;
    const key = objectKey(op);
    serves.set(key, [...(serves.get(key) ?? []), op]);
  }
  const activated = new Map<string, ActivationRecord[]>();
  for (const a of input.activations) {
    const key = `${a.type}/${a.id}`;
    activated.set(key, [...(activated.get(key) ?? []), a]);
  }

  for (const [key, list] of serves) {
    // Per epoch: the span of servedAt, and the ops at its ends.
    const spans = new Map<string, { first: Op; last: Op }>();
    for (const op of list) {
      const span = spans.get(op.served!.epoch);
      if (!span) spans.set(op.served!.epoch, { first: op, last: op });
      else {
        if (op.served!.servedAt < span.first.served!.servedAt) span.first = op;
        if (op.served!.servedAt > span.last.served!.servedAt) span.last = op;
      }
    }
    const epochs = [...spans.keys()].sort((a, b) => compareEpochs(a, b));
    for (let i = 0; i < epochs.length; i++) {
      for (let j = i + 1; j < epochs.length; j++) {
        const older = spans.get(epochs[i]!)!;
        const newer = spans.get(epochs[j]!)!;
        if (older.last.served!.servedAt > newer.first.served!.servedAt) {
          violations.push({
            invariant: 'overlapping-epochs', subject: key,
            message: `epoch ${epochs[i]} (${older.first.served!.node}) served until ${at(older.last.served!.servedAt)}, after epoch ${epochs[j]} (${newer.first.served!.node}) began serving at ${at(newer.first.served!.servedAt)}`,
            evidence: [fmt(older.last), fmt(newer.first)],
          });
        }
      }
    }

    const activations = activated.get(key) ?? [];
    for (const epoch of epochs) {
      const ops = list.filter((op) => op.served!.epoch === epoch);
      if (epoch === '0') {
        violations.push({ invariant: 'served-before-activation', subject: key, message: `${ops.length} replies served with no lock (epoch 0)`, evidence: ops.slice(0, EVIDENCE_LINES).map(fmt) });
        continue;
      }
      const own = activations.find((a) => a.epoch === epoch);
      if (own) {
        const early = ops.filter((op) => op.served!.servedAt < own.time);
        if (early.length > 0) {
          violations.push({
            invariant: 'served-before-activation', subject: key,
            message: `${early.length} replies of epoch ${epoch} served before it activated on ${own.node} at ${at(own.time)}`,
            evidence: early.slice(0, EVIDENCE_LINES).map(fmt),
          });
        }
      }
      const newer = activations.filter((a) => compareEpochs(a.epoch, epoch) > 0);
      if (newer.length === 0) continue;
      const firstNewer = newer.reduce((m, a) => (a.time < m.time ? a : m));
      const stale = ops.filter((op) => op.served!.servedAt > firstNewer.time);
      if (stale.length > 0) {
        violations.push({
          invariant: 'stale-serve', subject: key,
          message: `${stale.length} replies of epoch ${epoch} served after the newer epoch ${firstNewer.epoch} activated on ${firstNewer.node} at ${at(firstNewer.time)}`,
          evidence: stale.slice(0, EVIDENCE_LINES).map(fmt),
        });
      }
    }
  }
  return violations;
}

/** A read returns at least every write acknowledged before it was invoked. */
function checkReads(input: CheckInput, fmt: (op: Op) => string): Violation[] {
  const violations: Violation[] = [];
  for (const [id, list] of byObject(input.ops, 'tally')) {
    const acks = list.filter((op) => op.name === 'increment' && outcomeOf(op) === 'ok' && op.value !== undefined && op.completedAt !== undefined);
    const stale: Array<{ read: Op; missed: Op }> = [];
    for (const read of list) {
      if (read.name !== 'read' || outcomeOf(read) !== 'ok' || read.value === undefined) continue;
      const before = acks.filter((op) => op.completedAt! < read.invokedAt);
      const highest = before.reduce<Op | undefined>((m, op) => (m === undefined || op.value! > m.value! ? op : m), undefined);
      if (highest && highest.value! > read.value) stale.push({ read, missed: highest });
    }
    if (stale.length > 0) {
      violations.push({
        invariant: 'stale-read', subject: `tally/${id}`,
        message: `${stale.length} reads returned less than a value acknowledged before they were invoked`,
        evidence: stale.slice(0, EVIDENCE_LINES / 2).flatMap(({ read, missed }) => [fmt(read), `  but before it: ${fmt(missed)}`]),
      });
    }
  }
  for (const [id, list] of byObject(input.ops, 'bag')) {
    const acks = list.filter((op) => op.name === 'add' && outcomeOf(op) === 'ok' && op.element !== undefined && op.completedAt !== undefined);
    const stale: Array<{ read: Op; missed: Op }> = [];
    for (const read of list) {
      if (read.name !== 'read' || outcomeOf(read) !== 'ok' || !read.elements) continue;
      const present = new Set(read.elements);
      const missed = acks.find((op) => op.completedAt! < read.invokedAt && !present.has(op.element!));
      if (missed) stale.push({ read, missed });
    }
    if (stale.length > 0) {
      violations.push({
        invariant: 'stale-read', subject: `bag/${id}`,
        message: `${stale.length} reads missed an element acknowledged before they were invoked`,
        evidence: stale.slice(0, EVIDENCE_LINES / 2).flatMap(({ read, missed }) => [fmt(read), `  but before it: ${fmt(missed)}`]),
      });
    }
  }
  return violations;
}

function checkLeaks(input: CheckInput): Violation[] {
  const violations: Violation[] = [];
  const lockLine = (l: LockZnode) => `${l.type}/${l.id}/${l.name} (epoch ${l.epoch})`;
  if (input.running) {
    const { coordination, liveNodes, activations } = input.running;
    const live = new Set(liveNodes);
    const members = new Set(coordination.members);
    for (const m of coordination.members) {
      if (!live.has(m)) violations.push({ invariant: 'leaked-node', subject: m, message: `member znode of ${m}, which is not running`, evidence: [] });
    }
    for (const n of liveNodes) {
      if (!members.has(n)) violations.push({ invariant: 'member-missing', subject: n, message: `${n} is running but has no member znode`, evidence: [] });
    }
    const owners = new Map<string, LiveActivation[]>();
    for (const a of activations) owners.set(`${a.type}/${a.id}`, [...(owners.get(`${a.type}/${a.id}`) ?? []), a]);
    for (const [key, list] of owners) {
      if (list.length > 1) {
        violations.push({ invariant: 'duplicate-owner', subject: key, message: `active on ${list.length} nodes at once`, evidence: list.map((a) => `${a.node} epoch ${a.epoch} (${a.status})`) });
      }
    }
    for (const lock of coordination.locks) {
      const holder = activations.find((a) => a.node === lock.node && a.type === lock.type && a.id === lock.id && a.epoch === lock.epoch);
      if (!holder) {
        violations.push({ invariant: 'leaked-lock', subject: `${lock.type}/${lock.id}`, message: `lock znode held by no activation of a live node`, evidence: [lockLine(lock)] });
      }
    }
    for (const a of activations) {
      const lock = coordination.locks.find((l) => l.node === a.node && l.type === a.type && l.id === a.id && l.epoch === a.epoch);
      if (!lock) {
        violations.push({ invariant: 'unlocked-activation', subject: `${a.type}/${a.id}`, message: `active on ${a.node} (epoch ${a.epoch}, ${a.status}) without its lock znode`, evidence: [] });
      }
    }
  }
  if (input.stopped) {
    for (const m of input.stopped.members) {
      violations.push({ invariant: 'leaked-node', subject: m, message: `member znode of ${m} left after every node stopped`, evidence: [] });
    }
    for (const lock of input.stopped.locks) {
      violations.push({ invariant: 'leaked-lock', subject: `${lock.type}/${lock.id}`, message: 'lock znode left after every node stopped', evidence: [lockLine(lock)] });
    }
    for (const parent of input.stopped.lockParents) {
      violations.push({ invariant: 'leaked-lock-parent', subject: parent, message: 'lock parent left after every node stopped', evidence: [] });
    }
  }
  return violations;
}

function compareEpochs(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Violations as text, for assertion messages and the printed figures. */
export function formatViolations(violations: readonly Violation[], limit = 20): string {
  if (violations.length === 0) return 'none';
  const lines = violations.slice(0, limit).flatMap((v) => [`[${v.invariant}] ${v.subject}: ${v.message}`, ...v.evidence.map((e) => `    ${e}`)]);
  if (violations.length > limit) lines.push(`… and ${violations.length - limit} more`);
  return lines.join('\n');
}
