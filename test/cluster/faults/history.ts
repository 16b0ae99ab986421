/**
 * The fault suite's history: every call a client made (invoke, then ok / fail / indeterminate, with
 * the node it entered through, the node and epoch that served it and when) and every fault injected.
 * All times are wall-clock ms (Date.now()): the node processes and the test share this machine's clock,
 * so they compare with the `servedAt` of replies and the `time` of lifecycle events.
 */

export type ObjectKind = 'tally' | 'bag' | 'register';
export type OpName = 'increment' | 'add' | 'read' | 'write' | 'cas';
export type Outcome = 'ok' | 'fail' | 'indeterminate';

/**
 * Who issued an op: a workload client (0, 1, …) or one of the suite's own callers, whose ops are
 * checked like any other but kept apart in the figures.
 */
export type Issuer = number | 'burst' | 'probe' | 'final';

/** Who served an ok call, from the reply (test/harness/test-objects.ts `Tally` and `Bag`). */
export interface Served {
  node: string;
  epoch: string;
  /** When the handler ran on the owner (wall-clock ms). */
  servedAt: number;
}

export interface Op {
  /** Position in the history, in invocation order. */
  index: number;
  issuer: Issuer;
  type: ObjectKind;
  id: string;
  name: OpName;
  /** The element an `add` inserts; unique in the run. */
  element?: string;
  /** The value a register `write` writes, or a `cas` writes when it swaps; unique in the run. */
  written?: string;
  /** The value a register `cas` expects (null: never written). */
  expected?: string | null;
  /** The node process the call entered through. */
  via: string;
  invokedAt: number;
  /** Unset while the call is in flight (and forever if no answer came: then it counts as indeterminate). */
  completedAt?: number;
  outcome?: Outcome;
  /** For fail / indeterminate: the runtime's error code (or EXITED / NOT_SENT / UNKNOWN) and message. */
  error?: { code: string; message: string };
  /** ok `increment`: the new value; ok `read` of a tally: the value read. */
  value?: number;
  /** ok `read` of a bag: the elements read. */
  elements?: string[];
  /** ok `read` of a register: the value read (null: never written). */
  read?: string | null;
  /** ok `cas`: whether it swapped. */
  swapped?: boolean;
  served?: Served;
}

export interface FaultRecord {
  name: string;
  detail: string;
  injectedAt: number;
  /** When the injector undid the fault (restart, SIGCONT, gateway back); equal to injectedAt when nothing is undone. */
  healedAt: number;
  /**
   * True when service cannot come back before the fault is healed (quorum loss, S3 outage): its
   * recovery time is then counted from healedAt, else from injectedAt (see recovery.ts).
   */
  blocking: boolean;
}

/**
 * Error codes after which the call may or may not have taken effect. Every other error code of the
 * runtime (OWNERSHIP_LOST, STORE_UNAVAILABLE, NODE_STOPPING, COORDINATOR_UNAVAILABLE, NODE_UNREACHABLE,
 * FENCED, …) is a promise that the call took no effect: the checker holds the runtime to it.
 */
const INDETERMINATE_CODES = new Set(['CALL_TIMEOUT', 'INDETERMINATE']);

/** Classifies a rejected call: `fail` promises no effect, `indeterminate` does not. */
export function classifyError(err: unknown): { outcome: 'fail' | 'indeterminate'; code: string; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return { outcome: INDETERMINATE_CODES.has(code) ? 'indeterminate' : 'fail', code, message };
  // scripts/cluster.ts NodeProcess: the entry node died with the call in it.
  if (/^node process \S+ exited/.test(message)) return { outcome: 'indeterminate', code: 'EXITED', message };
  // NodeProcess.command on a process that is not running: never sent.
  if (/^node process \S+ is not running/.test(message)) return { outcome: 'fail', code: 'NOT_SENT', message };
  // Nothing says it took no effect: the safe reading.
  return { outcome: 'indeterminate', code: 'UNKNOWN', message };
}

export class History {
  readonly ops: Op[] = [];
  readonly faults: FaultRecord[] = [];
  readonly startedAt = Date.now();

  invoke(fields: Omit<Op, 'index' | 'invokedAt'>): Op {
    const op: Op = { index: this.ops.length, invokedAt: Date.now(), ...fields };
    this.ops.push(op);
    return op;
  }

  /** Records an ok reply: `{ value?, elements?, node, epoch, servedAt }`. */
  ok(op: Op, reply: unknown): void {
    op.completedAt = Date.now();
    op.outcome = 'ok';
    const r = (reply ?? {}) as { value?: unknown; elements?: unknown; swapped?: unknown; node?: unknown; epoch?: unknown; servedAt?: unknown };
    if (op.type === 'register') {
      if (op.name === 'read' && (typeof r.value === 'string' || r.value === null)) op.read = r.value;
      if (op.name === 'cas' && typeof r.swapped === 'boolean') op.swapped = r.swapped;
    } else if (typeof r.value === 'number') op.value = r.value;
    if (Array.isArray(r.elements)) op.elements = r.elements.map(String);
    if (typeof r.node === 'string' && typeof r.epoch === 'string' && typeof r.servedAt === 'number') {
      op.served = { node: r.node, epoch: r.epoch, servedAt: r.servedAt };
    }
  }

  failed(op: Op, err: unknown): void {
    const { outcome, code, message } = classifyError(err);
    op.completedAt = Date.now();
    op.outcome = outcome;
    op.error = { code, message };
  }

  fault(record: FaultRecord): FaultRecord {
    this.faults.push(record);
    return record;
  }
}

/** `tally/t3`: how objects are named in violations and figures. */
export function objectKey(op: { type: string; id: string }): string {
  return `${op.type}/${op.id}`;
}

/** The outcome the checker uses: a call that never answered is indeterminate. */
export function outcomeOf(op: Op): Outcome {
  return op.outcome ?? 'indeterminate';
}

/** One line per op, for violation evidence: times relative to `origin`. */
export function formatOp(op: Op, origin: number): string {
  const at = (t: number | undefined) => (t === undefined ? '…' : `+${((t - origin) / 1000).toFixed(3)}s`);
  const what = op.name === 'add' ? `add(${op.element})`
    : op.name === 'write' ? `write(${op.written})`
      : op.name === 'cas' ? `cas(${op.expected ?? 'null'}→${op.written})` : op.name;
  const head = `#${op.index} ${String(op.issuer)} ${objectKey(op)} ${what} via ${op.via} [${at(op.invokedAt)}→${at(op.completedAt)}]`;
  const outcome = outcomeOf(op);
  if (outcome !== 'ok') return `${head} ${outcome}${op.error ? ` ${op.error.code}` : ' (no answer)'}`;
  const result = op.value !== undefined ? ` value=${op.value}`
    : op.elements ? ` elements=${op.elements.length}`
      : op.read !== undefined ? ` read=${op.read ?? 'null'}`
        : op.swapped !== undefined ? ` swapped=${op.swapped}` : '';
  const served = op.served ? ` served by ${op.served.node} epoch ${op.served.epoch} at ${at(op.served.servedAt)}` : '';
  return `${head} ok${result}${served}`;
}
