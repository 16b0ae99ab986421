import { expect } from 'vitest';
import { formatViolations } from './checker.js';
import type { OwnerFault } from './faults.js';
import { outcomeOf, type Op } from './history.js';
import type { ScenarioResult } from './scenario.js';

/** The assertions every fault-suite test makes on its run. */

/** What every run must show: no violation, every fault recovered from, service after the last fault. */
export function expectSafeAndRecovered(result: ScenarioResult): void {
  // The serving checks need to know who served each reply: a reply without it would pass them unseen.
  const unattributed = result.history.ops.filter((op) => op.outcome === 'ok' && (!op.served || !resultRecorded(op)));
  expect(unattributed.length).toBe(0);
  expect(formatViolations(result.violations)).toBe('none');
  const unrecovered = result.recoveries.filter((r) => r.recoveryMs === null).map((r) => `${r.fault.name}: ${r.unrecovered.join(', ')}`);
  expect(unrecovered).toEqual([]);
  const lastFault = Math.max(...result.history.faults.map((f) => f.healedAt));
  const ackedAfter = result.history.ops.filter((op) => op.issuer !== 'final' && outcomeOf(op) === 'ok' && op.invokedAt > lastFault);
  expect(ackedAfter.length).toBeGreaterThan(0);
}

/** Whether an ok op carries the result its kind replies with (a write and an add reply only who served them). */
function resultRecorded(op: Op): boolean {
  if (op.type === 'register') return op.name === 'write' || (op.name === 'read' ? op.read !== undefined : op.swapped !== undefined);
  if (op.type === 'bag') return op.name === 'add' || op.elements !== undefined;
  return op.value !== undefined;
}

/** Each object the victim owned was activated again, with a newer epoch, on another node. */
export function expectTakenOver(result: ScenarioResult, fault: OwnerFault): void {
  expect(fault.owned.length).toBeGreaterThan(0);
  const missing = fault.owned.filter((a) => !result.activations.some((r) =>
    r.type === a.type && r.id === a.id && r.node !== fault.victim.name && BigInt(r.epoch) > BigInt(a.epoch)));
  expect(missing.map((a) => `${a.type}/${a.id}`)).toEqual([]);
}

