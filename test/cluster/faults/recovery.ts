import { objectKey, outcomeOf, type FaultRecord, type Op } from './history.js';

/**
 * Time to recover after a fault, defined on the history:
 *
 * - A fault's **window** runs from its injection to the next fault's injection (or the end of the run).
 * - An op is **disturbed** if it failed, is indeterminate (or never answered), or was acknowledged but
 *   took longer than `slowMs` (the runtime retries routing inside a call, so a failover often shows as a
 *   slow success rather than an error).
 * - An object is **affected** by the fault if one of its ops completed disturbed inside the window
 *   (an op that never answered counts at the window's end).
 * - An affected object **recovers** at the completion of its last disturbed op in the window if that op
 *   was acknowledged, else at the first acknowledgement of the object completed after it in the window;
 *   if neither exists it never recovered.
 * - The fault's **baseline** is its healing time when it blocks service until healed (quorum loss, S3
 *   outage), else its injection time (a killed or paused owner is replaced without being healed).
 * - The fault's **recovery time** is the latest recovery of its affected objects minus the baseline
 *   (0 if that is earlier, or if no object was affected); null when an affected object never recovered.
 */

export interface Recovery {
  fault: FaultRecord;
  baseline: number;
  /** Affected objects (`tally/t3`). */
  affected: string[];
  /** Affected objects that never recovered in the window. */
  unrecovered: string[];
  recoveredAt: number | null;
  recoveryMs: number | null;
}

/** From when a fault's recovery time is counted. */
export function baselineOf(fault: FaultRecord): number {
  return fault.blocking ? fault.healedAt : fault.injectedAt;
}

function disturbed(op: Op, slowMs: number): boolean {
  const outcome = outcomeOf(op);
  if (outcome !== 'ok') return true;
  return op.completedAt! - op.invokedAt > slowMs;
}

/**
 * Recovery per object over [from, to): when each affected object recovered (null: not yet).
 * Ops still in flight at `to` count as disturbed when older than `slowMs`.
 */
export function objectRecoveries(ops: readonly Op[], from: number, to: number, slowMs: number): Map<string, number | null> {
  // Linear in the history: the fault schedule calls this every poll while it waits for recovery, on
  // histories of 200,000 ops in a soak (copying each object's list per op made that quadratic, and
  // the seconds it took stalled the workload's clients in the same process, so that their calls
  // looked slow: recovery times that grew with the length of the run).
  const perObject = new Map<string, Op[]>();
  for (const op of ops) {
    if (op.issuer === 'final' || op.invokedAt >= to) continue;
    if (op.completedAt !== undefined && op.completedAt < from) continue; // over before the window
    const key = objectKey(op);
    let list = perObject.get(key);
    if (!list) perObject.set(key, (list = []));
    list.push(op);
  }
  const result = new Map<string, number | null>();
  for (const [key, list] of perObject) {
    const done = list.filter((op) => op.completedAt !== undefined && op.completedAt >= from && op.completedAt < to);
    const stuck = list.some((op) => op.completedAt === undefined && to - op.invokedAt > slowMs);
    const bad = done.filter((op) => disturbed(op, slowMs));
    if (bad.length === 0 && !stuck) continue;
    if (stuck) {
      result.set(key, null);
      continue;
    }
    const last = bad.reduce((m, op) => (op.completedAt! > m.completedAt! ? op : m));
    if (outcomeOf(last) === 'ok') {
      result.set(key, last.completedAt!);
      continue;
    }
    const next = done
      .filter((op) => outcomeOf(op) === 'ok' && op.completedAt! > last.completedAt!)
      .reduce<number | null>((m, op) => (m === null || op.completedAt! < m ? op.completedAt! : m), null);
    result.set(key, next);
  }
  return result;
}

export function recoveries(ops: readonly Op[], faults: readonly FaultRecord[], endAt: number, slowMs: number): Recovery[] {
  const sorted = [...faults].sort((a, b) => a.injectedAt - b.injectedAt);
  return sorted.map((fault, i) => {
    const to = sorted[i + 1]?.injectedAt ?? endAt;
    const perObject = objectRecoveries(ops, fault.injectedAt, to, slowMs);
    const baseline = baselineOf(fault);
    const affected = [...perObject.keys()].sort();
    const unrecovered = affected.filter((k) => perObject.get(k) === null);
    if (unrecovered.length > 0) return { fault, baseline, affected, unrecovered, recoveredAt: null, recoveryMs: null };
    const recoveredAt = affected.length === 0 ? baseline : Math.max(...affected.map((k) => perObject.get(k)!));
    return { fault, baseline, affected, unrecovered, recoveredAt, recoveryMs: Math.max(0, recoveredAt - baseline) };
  });
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
