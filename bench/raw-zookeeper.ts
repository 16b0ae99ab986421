import zookeeper, { type Client } from 'node-zookeeper-client';

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
