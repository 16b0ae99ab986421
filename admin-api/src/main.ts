/**
 * Runs the admin API as a process, configured from the environment (read here and nowhere else):
 *
 *   HIGHLANDER_ZK, HIGHLANDER_ZK_ROOT                       the cluster's ZooKeeper and root
 *   HIGHLANDER_S3_BUCKET, HIGHLANDER_S3_PREFIX, HIGHLANDER_S3_ENDPOINT, HIGHLANDER_S3_REGION,
 *   HIGHLANDER_S3_ACCESS_KEY_ID, HIGHLANDER_S3_SECRET_ACCESS_KEY   the state store (else the AWS chain)
 *   HIGHLANDER_ADMIN_TOKEN                                  the nodes' admin token (for actions and in-memory state)
 *   HIGHLANDER_API_TOKENS                                   `role:name:token` entries, comma-separated (role viewer|operator)
 *   HIGHLANDER_API_READ_ONLY=1                              refuse every action
 *   HIGHLANDER_API_ALLOWED_ORIGINS                          extra browser origins for the ws stream, comma-separated
 *   HIGHLANDER_API_HOST, HIGHLANDER_API_PORT                where to listen (127.0.0.1, 8080; 0 picks a free port)
 *   HIGHLANDER_AUDIT_LOG                                    the audit log file (./data/audit.jsonl)
 *
 * SIGTERM or SIGINT closes the stream, the server and the audit log, then exits. Started with an
 * IPC channel, it tells its parent `{ ready: { url } }` and takes `{ cmd: 'cut-stream', node }`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { S3StateStore, s3StoreOptionsFromEnv } from '../../runtime/src/index.js';
import { ZkSession } from '../../runtime/src/zookeeper/zk-session.js';
import { createApp } from './app.js';
import { AuditLog } from './audit-log.js';
import type { TokenConfig } from './auth.js';
import { LiveClusterActions } from './cluster-actions.js';
import { LiveClusterModel } from './cluster-model.js';
import { NodeAdminClient } from './node-admin-client.js';
import { S3Storage } from './storage.js';

const env = process.env;

function fail(message: string): never {
  console.error(`highlander admin-api: ${message}`);
  process.exit(2);
}

function required(name: string): string {
  return env[name] || fail(`environment variable ${name} is required`);
}

function parseTokens(value: string): TokenConfig[] {
  return value.split(',').filter(Boolean).map((entry) => {
    const [role, name, token, ...rest] = entry.split(':');
    if (!role || !name || !token || rest.length > 0 || (role !== 'viewer' && role !== 'operator')) {
      fail(`HIGHLANDER_API_TOKENS: each entry is role:name:token with role viewer or operator (got '${entry.replace(/:[^:]*$/, ':…')}')`);
    }
    return { role, name, token };
  });
}

const root = env.HIGHLANDER_ZK_ROOT ?? '/highlander';
const port = Number(env.HIGHLANDER_API_PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`HIGHLANDER_API_PORT must be 0..65535 (got '${env.HIGHLANDER_API_PORT}')`);
const tokens = parseTokens(required('HIGHLANDER_API_TOKENS'));

let store: S3StateStore;
try {
  store = new S3StateStore(s3StoreOptionsFromEnv(env));
} catch (err) {
  fail((err as Error).message);
}
const storage = new S3Storage(store);
const model = await LiveClusterModel.start({ connect: required('HIGHLANDER_ZK'), root, storage });
const zookeeper = await ZkSession.open({ connect: required('HIGHLANDER_ZK') });
const actions = new LiveClusterActions({ model, storage, nodes: new NodeAdminClient(env.HIGHLANDER_ADMIN_TOKEN ?? ''), zookeeper });
const audit = await AuditLog.open({ path: resolve(env.HIGHLANDER_AUDIT_LOG ?? 'data/audit.jsonl') });
const admin = createApp({
  model, actions, storage, audit, tokens,
  readOnly: env.HIGHLANDER_API_READ_ONLY === '1',
  allowedOrigins: (env.HIGHLANDER_API_ALLOWED_ORIGINS ?? '').split(',').filter(Boolean),
});
const server = createServer(admin.app);
const stream = admin.attachStream(server);
await new Promise<void>((done) => server.listen(port, env.HIGHLANDER_API_HOST ?? '127.0.0.1', done));
const url = `http://${env.HIGHLANDER_API_HOST ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
if (process.send) process.send({ ready: { url, pid: process.pid } });
else console.log(`highlander admin-api listening on ${url} (ZooKeeper ${env.HIGHLANDER_ZK}${root}, audit log ${audit.path})`);

process.on('message', (message: { cmd?: string; node?: string }) => {
  if (message.cmd === 'cut-stream' && message.node) model.cutEventStream(message.node);
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await stream.close();
      await new Promise<void>((done) => server.close(() => done()));
      await audit.close();
      await model.stop();
      zookeeper.close();
      await store.close();
      process.exit(0);
    })();
  });
}
