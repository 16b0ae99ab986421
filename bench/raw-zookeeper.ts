import zookeeper, { type Client } from 'node-zookeeper-client';

const { CreateMode } = zookeeper;

/**
 * A plain node-zookeeper-client client for raw baselines (retries off, as the runtime has them),
 * connected or rejected within 10 s.
 */
export function connectRawZooKeeper(connectString: string): Promise<Client> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 10_000, retries: 0 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`no ZooKeeper connection to ${connectString} within 10 s`));
    }, 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

/** Promisifies one node-zookeeper-client call. */
export function call<T>(start: (cb: (error: Error | null | unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, result) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * The lock recipe's acquire, by hand on a bare client: multi(create `parent`, create an ephemeral
 * sequential lock under it) + getChildren + exists of the lock. Returns the lock's path.
 */
export async function bareLockAcquire(client: Client, parent: string): Promise<string> {
  const created = await call<Array<{ path?: string }>>((cb) => client.transaction()
    .create(parent, CreateMode.PERSISTENT)
    .create(`${parent}/lock-bench-`, CreateMode.EPHEMERAL_SEQUENTIAL)
    .commit(cb));
  const lock = created[1]?.path;
  if (!lock) throw new Error('multi create returned no lock path');
  await call<string[]>((cb) => client.getChildren(parent, cb));
  await call<unknown>((cb) => client.exists(lock, cb));
  return lock;
}
