/**
 * Starts a throwaway local stack for the demo and manual testing — a ZooKeeper and a Ceph radosgw
 * (S3) on free loopback ports, with bucket `highlander` — prints its connection details as shell
 * `export` lines, and keeps it up until Ctrl-C or SIGTERM. Everything is removed on exit, and the
 * servers die with this process even if it is killed with SIGKILL.
 *
 *   node --import tsx scripts/local-stack.ts [--zookeeper-servers 1|3|5] [--export-file FILE]
 *
 * Progress goes to stderr; only the export lines go to stdout (and to FILE, for `source FILE`).
 */
import { rm, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startRadosgw, type RadosgwServer } from './servers/radosgw.js';
import { startZooKeeper, type ZooKeeperCluster } from './servers/zookeeper.js';

const BUCKET = 'highlander';
const USAGE = 'usage: node --import tsx scripts/local-stack.ts [--zookeeper-servers 1|3|5] [--export-file FILE]';

const { values } = parseArgs({
  options: {
    'zookeeper-servers': { type: 'string', default: '1' },
    'export-file': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help === true) {
  console.log(USAGE);
  process.exit(0);
}
const zookeeperServers = Number(values['zookeeper-servers']);
if (zookeeperServers !== 1 && zookeeperServers !== 3 && zookeeperServers !== 5) {
  console.error(`local-stack: --zookeeper-servers must be 1, 3 or 5, got '${values['zookeeper-servers']}'\n${USAGE}`);
  process.exit(2);
}
const envFile = values['export-file'];

let zookeeper: ZooKeeperCluster | undefined;
let radosgw: RadosgwServer | undefined;
let stopping = false;

async function shutdown(exitCode: number): Promise<never> {
  stopping = true;
  console.error('local-stack: stopping…');
  const results = await Promise.allSettled([
    zookeeper?.stop(),
    radosgw?.stop(),
    envFile === undefined ? undefined : rm(envFile, { force: true }),
  ]);
  for (const result of results) {
    if (result.status === 'rejected') {
      console.error('local-stack: cleanup failed:', result.reason);
      exitCode = 1;
    }
  }
  process.exit(exitCode);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) {
      // A second signal: leave now. The guards kill the servers when we are gone, and the next
      // start removes the temporary directories.
      process.exit(130);
    }
    void shutdown(0);
  });
}

const startedAtMs = performance.now();
console.error(`local-stack: starting ZooKeeper (${zookeeperServers} server${zookeeperServers === 1 ? '' : 's'}) and radosgw…`);
const [zookeeperResult, radosgwResult] = await Promise.allSettled([
  startZooKeeper({ servers: zookeeperServers }).then((cluster) => (zookeeper = cluster)),
  startRadosgw().then((server) => (radosgw = server)),
]);
if (zookeeperResult.status === 'rejected' || radosgwResult.status === 'rejected') {
  for (const result of [zookeeperResult, radosgwResult]) {
    if (result.status === 'rejected') console.error('local-stack: start failed:', result.reason);
  }
  await shutdown(1);
}
if (stopping) await new Promise(() => {}); // a signal arrived during start: shutdown() exits
const zk = zookeeper as ZooKeeperCluster;
const s3 = radosgw as RadosgwServer;
await s3.createBucket(BUCKET);

const variables: Record<string, string> = {
  HIGHLANDER_ZK: zk.connectString,
  HIGHLANDER_S3_ENDPOINT: s3.endpoint,
  HIGHLANDER_S3_REGION: s3.region,
  HIGHLANDER_S3_BUCKET: BUCKET,
  HIGHLANDER_S3_ACCESS_KEY_ID: s3.accessKeyId,
  HIGHLANDER_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
};
const exports = Object.entries(variables)
  .map(([name, value]) => `export ${name}=${value}`)
  .join('\n');
if (envFile !== undefined) await writeFile(envFile, `${exports}\n`);
console.log(exports);
console.error(
  [
    `local-stack: up in ${((performance.now() - startedAtMs) / 1000).toFixed(1)} s`,
    `  ZooKeeper: ${zk.dir} (pids ${zk.servers.map((server) => server.pid).join(', ')})`,
    `  radosgw:   ${s3.dir} (gateway pid ${s3.gatewayPid})`,
    `${envFile === undefined ? '' : `  source ${envFile}\n`}  Ctrl-C to stop and clean up.`,
  ].join('\n'),
);

// The servers do not hold the event loop open (they die with this process); this does.
setInterval(() => {}, 1 << 30);
