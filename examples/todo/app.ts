/**
 * The seed talk's shared todo lists as an application that uses Highlander as a library: it
 * imports only the runtime's public entry point (@highlander/runtime) and its own object types
 * (./objects.ts), starts three nodes in this process, runs the scenario and stops.
 *
 *   node --import tsx examples/todo/app.ts
 *       three nodes on an embedded registry and a folder of JSON files (a temporary one, removed after)
 *   HIGHLANDER_ZK=127.0.0.1:2181 HIGHLANDER_S3_BUCKET=highlander HIGHLANDER_S3_ENDPOINT=http://127.0.0.1:7480 \
 *     node --import tsx examples/todo/app.ts
 *       the same three nodes on ZooKeeper (root HIGHLANDER_ZK_ROOT, default /highlander-todo-app) and S3
 *       (the HIGHLANDER_S3_* variables of a node; `npm run local-stack` prints a throwaway set)
 *
 * The scenario (`runSharedTodoLists`) takes any nodes of one cluster, wherever their backends are:
 * test/examples/todo-app.test.ts runs it on both setups.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  EmbeddedRegistry, FileStateStore, HighlanderNode, S3StateStore, ZooKeeperCoordinator,
  type Coordinator, type PlacementName, type S3StateStoreOptions, type StateStore, type StateOf, type ZooKeeperCoordinatorOptions,
} from '@highlander/runtime';
import { List, Todo, User, objects, type TodoItem } from './objects.js';

/** Where the cluster keeps its coordination and its state. */
export type TodoAppBackends =
  | { kind: 'embedded'; /** Folder of the objects' JSON files (one process at a time). */ dataDir: string }
  | { kind: 'zookeeper'; zookeeper: ZooKeeperCoordinatorOptions; s3: S3StateStoreOptions };

export interface TodoAppOptions {
  /** @default 3 */
  nodes?: number;
  /** @default 'round-robin' (the seed's `next_node`): objects spread over the nodes */
  placement?: PlacementName;
}

export interface TodoApp {
  nodes: HighlanderNode[];
  /** Drains and stops every node (states flushed, locks released), then closes the stores. */
  stop(): Promise<void>;
}

/** Starts `nodes` HighlanderNodes of one cluster in this process, each hosting the todo app's object types. */
export async function startTodoApp(backends: TodoAppBackends, options: TodoAppOptions = {}): Promise<TodoApp> {
  const count = options.nodes ?? 3;
  const stores: StateStore[] = [];
  let parts: () => { coordinator: Coordinator; store: StateStore };
  if (backends.kind === 'embedded') {
    // One registry and one folder: every node of this process shares them.
    const registry = new EmbeddedRegistry();
    const store = await FileStateStore.create({ dir: backends.dataDir });
    stores.push(store);
    parts = () => ({ coordinator: registry.coordinator(), store });
  } else {
    // A ZooKeeper session and an S3 client per node, as separate processes would have.
    parts = () => {
      const store = new S3StateStore(backends.s3);
      stores.push(store);
      return { coordinator: new ZooKeeperCoordinator(backends.zookeeper), store };
    };
  }
  const nodes = Array.from({ length: count }, (_, i) => HighlanderNode.create({
    name: `todo-${String.fromCharCode(97 + i)}`,
    ...parts(),
    objects,
    placement: options.placement ?? 'round-robin',
  }));
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await Promise.all(stores.map((store) => store.close()));
  };
  try {
    await Promise.all(nodes.map((node) => node.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, stop };
}

export interface SharedTodoListsResult {
  /** The seed's first slide: a new todo has the declared defaults; after a `put` any node reads the new title. */
  todo: { id: string; initial: StateOf<typeof Todo>; final: StateOf<typeof Todo> };
  users: { ada: StateOf<typeof User>; grace: StateOf<typeof User> };
  list: { id: string } & StateOf<typeof List>;
  /** `openTodos`, a query, asked on a third node. */
  openTodos: TodoItem[];
  /** What `insertTodo` answered a user the list was not shared with. */
  refused: { userId: string; message: string };
  /** `type/id` → the node that held the object at the end. */
  owners: Record<string, string>;
}

/**
 * User ↔ List ↔ User, from the seed talk: two users share a list and add todos to it from
 * different nodes, a third user is refused, and each object has exactly one live instance,
 * wherever it was placed. Ids start with `prefix`, so runs on one store do not collide.
 */
export async function runSharedTodoLists(nodes: readonly HighlanderNode[], prefix = ''): Promise<SharedTodoListsResult> {
  if (nodes.length === 0) throw new TypeError('runSharedTodoLists: give it at least one node');
  // Any node can call any object: spread the callers over the nodes to show it.
  const at = (i: number) => nodes[i % nodes.length]!;

  // "{:ok, todo} = Todo.get id" … "Todo.put id, todo" … "any amount of time later, Todo.get id".
  const todoId = `${prefix}todo-hello`;
  const initial = await at(0).ref(Todo, todoId).get();
  await at(0).ref(Todo, todoId).put({ ...initial, title: 'Hello' });
  const final = await at(2).ref(Todo, todoId).get();

  // Users are objects too.
  const adaId = `${prefix}ada`;
  const graceId = `${prefix}grace`;
  const listId = `${prefix}groceries`;
  await at(0).ref(User, adaId).put({ name: 'Ada', email: 'ada@example.com', knownLists: [] });
  await at(1).ref(User, graceId).put({ name: 'Grace', email: 'grace@example.com', knownLists: [] });

  // Ada creates a list and shares it with Grace; each user remembers the lists they know.
  const list = at(0).ref(List, listId);
  await list.put({ title: 'Groceries', todos: [], allowedUsers: [] });
  await list.call('share', adaId);
  await at(0).ref(User, adaId).call('rememberList', listId);
  await list.call('share', graceId);
  await at(1).ref(User, graceId).call('rememberList', listId);

  // Both add todos, each through another node: the calls go to the list's one owner.
  await at(0).ref(List, listId).call('insertTodo', { todo: { id: 'milk', title: 'Milk', completed: false }, userId: adaId });
  await at(1).ref(List, listId).call('insertTodo', { todo: { id: 'bread', title: 'Bread', completed: false }, userId: graceId });
  await at(2).ref(List, listId).call('insertTodo', { todo: { id: 'coffee', title: 'Coffee', completed: false }, userId: graceId });
  await at(2).ref(List, listId).call('completeTodo', { todoId: 'milk', userId: graceId });

  // Mallory was never invited: the list refuses with its declared, typed error.
  let refused: SharedTodoListsResult['refused'] | undefined;
  try {
    await at(2).ref(List, listId).call('insertTodo', { todo: { id: 'beer', title: 'Beer', completed: false }, userId: `${prefix}mallory` });
  } catch (err) {
    if (!List.isError(err, 'notAllowed')) throw err;
    refused = { userId: err.data.userId, message: err.message };
  }
  if (!refused) throw new Error('the list accepted a todo from a user it was not shared with');

  const owners: Record<string, string> = {};
  for (const node of nodes) for (const a of node.activations()) owners[`${a.type}/${a.id}`] = node.name;
  return {
    todo: { id: todoId, initial, final },
    users: { ada: await at(1).ref(User, adaId).get(), grace: await at(2).ref(User, graceId).get() },
    list: { id: listId, ...(await at(1).ref(List, listId).get()) },
    openTodos: await at(2).ref(List, listId).call('openTodos'),
    refused,
    owners,
  };
}

/** A few lines for a human. */
export function summarize(result: SharedTodoListsResult): string {
  const { list, users } = result;
  return [
    `todo ${result.todo.id}: '${result.todo.initial.title}' (${result.todo.initial.color}) → '${result.todo.final.title}'`,
    `list ${list.id} '${list.title}', shared with ${list.allowedUsers.join(', ')}: ${list.todos.map((t) => `${t.completed ? '[x]' : '[ ]'} ${t.title}`).join(', ')}`,
    `open: ${result.openTodos.map((t) => t.title).join(', ')}`,
    `${users.ada.name} knows ${users.ada.knownLists.join(', ')}; ${users.grace.name} knows ${users.grace.knownLists.join(', ')}`,
    `refused ${result.refused.userId}: ${result.refused.message}`,
    `owners: ${Object.entries(result.owners).map(([object, node]) => `${object} on ${node}`).join(', ')}`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // The environment is read here, and nowhere else in the example.
  const env = process.env;
  const temporary = env.HIGHLANDER_ZK ? undefined : await mkdtemp(join(tmpdir(), 'highlander-todo-app-'));
  const backends: TodoAppBackends = env.HIGHLANDER_ZK
    ? { kind: 'zookeeper', zookeeper: { connect: env.HIGHLANDER_ZK, root: env.HIGHLANDER_ZK_ROOT || '/highlander-todo-app' }, s3: s3OptionsFromEnv(env) }
    : { kind: 'embedded', dataDir: temporary! };
  const app = await startTodoApp(backends);
  try {
    console.log(`${app.nodes.length} nodes (${backends.kind === 'embedded' ? `embedded, files in ${backends.dataDir}` : `ZooKeeper ${backends.zookeeper.connect}, S3 bucket ${backends.s3.bucket}`})`);
    // On S3 the states outlive the run: give this run's objects ids of their own.
    const prefix = backends.kind === 'embedded' ? '' : `run-${Date.now().toString(36)}-`;
    console.log(summarize(await runSharedTodoLists(app.nodes, prefix)));
  } finally {
    await app.stop();
    if (temporary) await rm(temporary, { recursive: true, force: true });
  }
}

/** This program's S3 settings, from the variables a node process reads too (HIGHLANDER_S3_*); without keys, the AWS credential chain. */
function s3OptionsFromEnv(env: NodeJS.ProcessEnv): S3StateStoreOptions {
  if (!env.HIGHLANDER_S3_BUCKET) throw new TypeError('set HIGHLANDER_S3_BUCKET (and HIGHLANDER_S3_ENDPOINT for an S3-compatible server) with HIGHLANDER_ZK');
  const { HIGHLANDER_S3_ACCESS_KEY_ID: accessKeyId, HIGHLANDER_S3_SECRET_ACCESS_KEY: secretAccessKey } = env;
  return {
    bucket: env.HIGHLANDER_S3_BUCKET,
    ...(env.HIGHLANDER_S3_PREFIX ? { prefix: env.HIGHLANDER_S3_PREFIX } : {}),
    ...(env.HIGHLANDER_S3_ENDPOINT ? { endpoint: env.HIGHLANDER_S3_ENDPOINT } : {}),
    ...(env.HIGHLANDER_S3_REGION ? { region: env.HIGHLANDER_S3_REGION } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  };
}
