import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type NewAuditRecord } from '../../admin-api/src/audit-log.js';
import { OPERATOR, VIEWER, call, startAdmin } from './admin-server.js';
import { objectView } from './fake-cluster.js';

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-audit-test-'));
  path = join(dir, 'nested', 'audit.jsonl');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(n: number, overrides: Partial<NewAuditRecord> = {}): NewAuditRecord {
  return {
    time: 1_700_000_000_000 + n, who: { name: 'otto', role: 'operator' }, action: 'evict', target: { type: 'todo', id: `t-${n}` },
    params: { force: false }, result: 'ok', durationMs: 1.5, clientAddress: '127.0.0.1', userAgent: 'test', ...overrides,
  };
}

describe('AuditLog', () => {
  it('counts a refusal repeated within the window instead of writing it, then writes one summary with the count', async () => {
    const log = await AuditLog.open({ path, coalesceRefusalsMs: 60_000 });
    const refused = (n: number, code = 'FORBIDDEN') => record(n, { result: 'error', error: { status: 403, code, message: 'viewers may not act' } });
    const first = await log.append(refused(1));
    // A thousand more of the same kind (other targets too) within the window: answered at once, counted, not written.
    for (let n = 2; n <= 1001; n++) expect((await log.append(refused(n))).id).toBe(first.id);
    // Another kind of refusal, or a success, is written as usual.
    await log.append(refused(2000, 'MIGRATION_REFUSED'));
    await log.append(record(2001));
    expect(log.size).toBe(3);
    await log.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as { repeated?: { count: number; from: number; to: number; targets: unknown[] } });
    expect(lines).toHaveLength(4);
    // Closing writes the summary: how many, from when to when, some of their targets.
    const summary = lines.at(-1)!;
    expect(summary.repeated).toEqual({
      count: 1000, from: record(2).time, to: record(1001).time,
      targets: [2, 3, 4, 5, 6].map((n) => ({ type: 'todo', id: `t-${n}` })),
    });
  });

  it('writes every refusal with the window at 0, and a refusal after the window opens a new one', async () => {
    const log = await AuditLog.open({ path, coalesceRefusalsMs: 0 });
    const refused = (n: number) => record(n, { result: 'error', error: { status: 403, code: 'FORBIDDEN', message: 'no' } });
    for (let n = 1; n <= 3; n++) await log.append(refused(n));
    expect(log.size).toBe(3);
    await log.close();
    const windowed = await AuditLog.open({ path: join(dir, 'windowed.jsonl'), coalesceRefusalsMs: 1000 });
    await windowed.append(refused(1));
    await windowed.append(refused(500)); // counted
    await windowed.append(refused(1500)); // past the window of the first: the summary of the counted one, then this one
    await expect.poll(() => windowed.size).toBe(3);
    const kinds = windowed.list({ limit: 10 }).items.reverse().map((r) => (r.repeated ? `summary of ${r.repeated.count}` : `refusal at ${r.time - record(0).time}`));
    expect(kinds).toEqual(['refusal at 1', 'summary of 1', 'refusal at 1500']);
    await windowed.close();
  });

  it('a record is in the file when append resolves, and every record survives reopening', async () => {
    const log = await AuditLog.open({ path });
    const first = await log.append(record(1));
    expect(first.id).toBe(1);
    expect(await readFile(path, 'utf8')).toBe(`${JSON.stringify(first)}\n`);
    await log.append(record(2, { result: 'error', error: { status: 404, code: 'NOT_ACTIVE_HERE', message: 'not here' } }));
    await log.close();

    const reopened = await AuditLog.open({ path });
    expect(reopened.skippedLines).toBe(0);
    expect(reopened.list({ limit: 10 }).items.map((r) => [r.id, r.result, r.target])).toEqual([
      [2, 'error', { type: 'todo', id: 't-2' }],
      [1, 'ok', { type: 'todo', id: 't-1' }],
    ]);
    expect((await reopened.append(record(3))).id).toBe(3);
    await reopened.close();
  });

  it('a torn last line from a crash is skipped, and the next record starts on a line of its own', async () => {
    const log = await AuditLog.open({ path });
    await log.append(record(1));
    await log.append(record(2));
    await log.close();
    await appendFile(path, '{"id":3,"time":1700000000003,"who":{"na'); // the crash

    const afterCrash = await AuditLog.open({ path });
    expect(afterCrash.skippedLines).toBe(1);
    expect(afterCrash.list({ limit: 10 }).items.map((r) => r.id)).toEqual([2, 1]);
    const next = await afterCrash.append(record(4));
    expect(next.id).toBe(3);
    await afterCrash.close();

    const again = await AuditLog.open({ path });
    expect(again.list({ limit: 10 }).items.map((r) => [r.id, r.target])).toEqual([
      [3, { type: 'todo', id: 't-4' }],
      [2, { type: 'todo', id: 't-2' }],
      [1, { type: 'todo', id: 't-1' }],
    ]);
    expect(again.skippedLines).toBe(1); // the torn fragment, now a line of its own
    await again.close();
  });

  it('concurrent appends all become durable, each on its own line, with distinct increasing ids', async () => {
    const log = await AuditLog.open({ path });
    const written = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(record(i))));
    expect(new Set(written.map((r) => r.id)).size).toBe(50);
    await log.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(50);
    expect(lines.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual(written.map((r) => r.id));
  });

  it('lists newest first, a page at a time', async () => {
    const log = await AuditLog.open({ path });
    for (let i = 1; i <= 7; i++) await log.append(record(i));
    const first = log.list({ limit: 3 });
    expect(first.items.map((r) => r.id)).toEqual([7, 6, 5]);
    expect(first.cursor).toBe('5');
    const second = log.list({ limit: 3, before: Number(first.cursor) });
    expect(second.items.map((r) => r.id)).toEqual([4, 3, 2]);
    const last = log.list({ limit: 3, before: Number(second.cursor) });
    expect(last.items.map((r) => r.id)).toEqual([1]);
    expect(last.cursor).toBeUndefined();
    await log.close();
  });

  it('lists one action, one object, or both, a page at a time', async () => {
    const log = await AuditLog.open({ path });
    // ids 1..12: evictions and state edits of t-a and t-b, and a drain (a node target)
    const plan: Array<Partial<NewAuditRecord>> = [
      { action: 'state.replace', target: { type: 'todo', id: 't-a' } }, { action: 'evict', target: { type: 'todo', id: 't-a' } },
      { action: 'state.replace', target: { type: 'todo', id: 't-b' } }, { action: 'drain', target: { node: 'node-a' } },
      { action: 'state.replace', target: { type: 'todo', id: 't-a' } }, { action: 'state.replace', target: { type: 'list', id: 't-a' } },
      { action: 'state.replace', target: { type: 'todo', id: 't-a' } }, { action: 'evict', target: { type: 'todo', id: 't-b' } },
      { action: 'state.replace', target: { type: 'todo', id: 't-a' } }, { action: 'evict', target: { type: 'todo', id: 't-a' } },
    ];
    for (const [n, overrides] of plan.entries()) await log.append(record(n, overrides));
    const edits = { action: 'state.replace' as const, object: { type: 'todo', id: 't-a' } };
    const first = log.list({ limit: 2, ...edits });
    expect(first.items.map((r) => r.id)).toEqual([9, 7]);
    expect(first.cursor).toBe('7');
    const second = log.list({ limit: 2, before: 7, ...edits });
    expect(second.items.map((r) => r.id)).toEqual([5, 1]);
    expect(second.cursor).toBeUndefined(); // no older match: no next page
    expect(log.list({ limit: 10, action: 'evict' }).items.map((r) => r.id)).toEqual([10, 8, 2]);
    expect(log.list({ limit: 10, object: { type: 'todo', id: 't-b' } }).items.map((r) => r.id)).toEqual([8, 3]);
    expect(log.list({ limit: 10, action: 'talk.open' }).items).toEqual([]);
    await log.close();
  });

  it('refuses a filter it cannot apply: an unknown action, a type without an id', async () => {
    const api = await startAdmin({ auditPath: join(dir, 'filter-audit.jsonl') });
    try {
      const unknown = await call(api, 'GET', '/api/audit?action=reboot', { token: VIEWER });
      expect(unknown.status).toBe(400);
      expect(JSON.stringify(unknown.body)).toContain('state.replace');
      const half = await call(api, 'GET', '/api/audit?type=todo', { token: VIEWER });
      expect(half.status).toBe(400);
      expect(JSON.stringify(half.body)).toContain('give both type and id');
      const badId = await call(api, 'GET', '/api/audit?type=todo&id=..', { token: VIEWER });
      expect(badId.status).toBe(400);
      const ok = await call(api, 'GET', '/api/audit?action=state.replace&type=todo&id=t-1', { token: VIEWER });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ items: [] });
    } finally {
      await api.close();
    }
  });

  it('survives a restart of the admin API: actions recorded before are listed after', async () => {
    const auditPath = join(dir, 'api-audit.jsonl');
    const before = await startAdmin({ auditPath });
    before.cluster.model.setObject(objectView('todo', 'a', 'node-a'));
    expect((await call(before, 'POST', '/api/objects/todo/a/evict', { token: OPERATOR, headers: { 'user-agent': 'restart-test' } })).status).toBe(200);
    await before.close();

    const after = await startAdmin({ auditPath });
    try {
      const res = await call(after, 'GET', '/api/audit', { token: VIEWER });
      expect(res.body.items).toEqual([
        expect.objectContaining({ id: 1, who: { name: 'otto', role: 'operator' }, action: 'evict', result: 'ok', userAgent: 'restart-test' }),
      ]);
    } finally {
      await after.close();
    }
  });
});
