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
