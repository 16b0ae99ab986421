import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStateStore, S3StateStore, type StateStore } from '@highlander/runtime';
import { uniqueRoot } from '../../scripts/cluster.js';
import { runSharedTodoLists, startTodoApp, type SharedTodoListsResult, type TodoApp, type TodoAppBackends } from '@highlander/example-todo/app';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { timing } from '../harness/timing.js';

/**
 * The todo example (examples/todo/app.ts), an application using the runtime as a library: its
 * scenario on three in-process nodes, on the embedded backends and on ZooKeeper and radosgw, then
 * the persisted states read back from the store after the nodes stopped.
 */

const APP = fileURLToPath(new URL('../../examples/todo/app.ts', import.meta.url));

let app: TodoApp | undefined;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await app?.stop();
  app = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the scenario must leave behind, whatever the backends. */
async function expectScenario(result: SharedTodoListsResult, prefix: string, store: StateStore): Promise<void> {
  expect(result.todo.initial).toEqual({ title: '', completed: false, color: 'blue' });
  expect(result.todo.final).toEqual({ title: 'Hello', completed: false, color: 'blue' });
  expect(result.users.ada).toEqual({ name: 'Ada', email: 'ada@example.com', knownLists: [`${prefix}groceries`] });
  expect(result.users.grace).toEqual({ name: 'Grace', email: 'grace@example.com', knownLists: [`${prefix}groceries`] });
  expect(result.list).toEqual({
    id: `${prefix}groceries`,
    title: 'Groceries',
    allowedUsers: [`${prefix}ada`, `${prefix}grace`],
    todos: [
      { id: 'coffee', title: 'Coffee', completed: false },
      { id: 'bread', title: 'Bread', completed: false },
      { id: 'milk', title: 'Milk', completed: true },
    ],
  });
  expect(result.openTodos.map((t) => t.id)).toEqual(['coffee', 'bread']);
  expect(result.refused.userId).toBe(`${prefix}mallory`);
  // Every object has exactly one live instance, and round-robin placement spread them over the nodes.
  expect(Object.keys(result.owners).sort()).toEqual([`list/${prefix}groceries`, `todo/${prefix}todo-hello`, `user/${prefix}ada`, `user/${prefix}grace`]);
  expect(new Set(Object.values(result.owners)).size).toBeGreaterThan(1);

  // Stopping drains: every state is in the store afterwards.
  await app!.stop();
  app = undefined;
  const stored = async (type: string, id: string) => JSON.parse((await store.read(type, id))!.body);
  expect(await stored('todo', `${prefix}todo-hello`)).toEqual(result.todo.final);
  expect(await stored('user', `${prefix}ada`)).toEqual(result.users.ada);
  const { id: _id, ...list } = result.list;
  expect(await stored('list', `${prefix}groceries`)).toEqual(list);
}

describe('the todo app, as a library user runs it', () => {
  it('runs the shared-todo-list scenario on the embedded registry and a folder of files', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'highlander-todo-app-test-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    app = await startTodoApp({ kind: 'embedded', dataDir });
    expect(app.nodes.map((n) => n.name)).toEqual(['todo-a', 'todo-b', 'todo-c']);
    const result = await runSharedTodoLists(app.nodes);
    // Read back once the app has released the folder (one process, one store, at a time).
    const check = { read: async (type: string, id: string) => {
      const store = await FileStateStore.create({ dir: dataDir });
      try {
        return await store.read(type, id);
      } finally {
        await store.close();
      }
    } } as StateStore;
    await expectScenario(result, '', check);
  });

  it('runs the same scenario on ZooKeeper and S3 (radosgw)', async () => {
    const root = uniqueRoot('todo-app');
    const s3 = s3Config();
    const s3Options = {
      bucket: s3.bucket, prefix: `${root.slice(1)}/objects/`, endpoint: s3.endpoint, region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    };
    const backends: TodoAppBackends = { kind: 'zookeeper', zookeeper: { connect: zookeeperConnect(), root, sessionTimeoutMs: timing.sessionTimeoutMs }, s3: s3Options };
    app = await startTodoApp(backends);
    const result = await runSharedTodoLists(app.nodes, 'zk-');
    const store = new S3StateStore(s3Options);
    cleanups.push(() => store.close());
    await expectScenario(result, 'zk-', store);
  });

  it('runs as a program: prints the summary and exits 0 once the nodes have stopped', async () => {
    const child = spawn(process.execPath, ['--conditions=@highlander/source', '--import', 'tsx', APP], { env: { ...process.env, HIGHLANDER_ZK: '' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(stdout).toContain('3 nodes (embedded');
    expect(stdout).toMatch(/^list groceries 'Groceries', shared with ada, grace: \[ \] Coffee, \[ \] Bread, \[x\] Milk$/m);
    expect(stdout).toMatch(/^refused mallory: /m);
  });

  it('imports nothing of the runtime but its public entry point', async () => {
    for (const file of ['app.ts', 'objects.ts']) {
      const source = await readFile(fileURLToPath(new URL(`../../examples/todo/${file}`, import.meta.url)), 'utf8');
      const runtimeImports = [...source.matchAll(/from '([^']*runtime[^']*)'/g)].map((m) => m[1]);
      expect(runtimeImports, file).toEqual(['@highlander/runtime']);
    }
  });
});
