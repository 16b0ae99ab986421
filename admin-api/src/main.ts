/**
 * Runs the admin API as a process, configured by flags and environment variables read here and
 * nowhere else, as declared in the option table (admin-api/src/config.ts; a flag wins over its
 * variable, the variable over the default; `--help` lists them, docs/configuration.md too). The main
 * ones: HIGHLANDER_ZK and HIGHLANDER_ZK_ROOT (the cluster), HIGHLANDER_S3_* (the state store, else
 * the AWS credential chain), HIGHLANDER_ADMIN_TOKEN (the nodes' admin token), HIGHLANDER_API_TOKENS
 * (`role:name:token` entries), HIGHLANDER_API_HOST / HIGHLANDER_API_PORT (127.0.0.1:8080),
 * HIGHLANDER_AUDIT_LOG. A bad or missing option exits 2 with a message naming the flag and the variable.
 *
 * SIGTERM or SIGINT closes the stream, the server and the audit log, then exits. Started with an
 * IPC channel, it tells its parent `{ ready: { url } }` and takes `{ cmd: 'cut-stream', node }`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { s3StoreOptions } from '../../runtime/src/config.js';
import { S3StateStore } from '../../runtime/src/index.js';
import { OptionsError, PRECEDENCE, renderHelp } from '../../runtime/src/option-table.js';
import { ZkSession } from '../../runtime/src/zookeeper/zk-session.js';
import { createApp } from './app.js';
import { AuditLog } from './audit-log.js';
import { LiveClusterActions } from './cluster-actions.js';
import { LiveClusterModel } from './cluster-model.js';
import { ADMIN_OPTIONS, parseAdminConfig, type AdminConfig } from './config.js';
import { NodeAdminClient } from './node-admin-client.js';
import { S3Storage } from './storage.js';
import { LiveTalkService } from './talks.js';

const USAGE = 'usage: node --import tsx admin-api/src/main.ts [options]   (or: highlander admin [options])';

let config: AdminConfig;
try {
  const parsed = parseAdminConfig(process.argv.slice(2), process.env);
  if (parsed.help) {
    process.stdout.write(renderHelp(ADMIN_OPTIONS, { usage: USAGE, footer: PRECEDENCE }));
    process.exit(0);
  }
  config = parsed.values;
} catch (err) {
  if (!(err instanceof OptionsError)) throw err;
  for (const problem of err.problems) console.error(`highlander admin-api: ${problem}`);
  console.error('highlander admin-api: see --help for every option');
  process.exit(2);
}

const store = new S3StateStore(s3StoreOptions(config));
const storage = new S3Storage(store);
const model = await LiveClusterModel.start({
  connect: config.zk, root: config.zkRoot, sessionTimeoutMs: config.zkSessionTimeoutMs, reconcileIntervalMs: config.reconcileIntervalMs, storage,
});
const zookeeper = await ZkSession.open({ connect: config.zk, sessionTimeoutMs: config.zkSessionTimeoutMs });
const actions = new LiveClusterActions({
  model, storage, nodes: new NodeAdminClient(config.nodeAdminToken ?? ''), zookeeper,
  gracefulTimeoutMs: config.evictGraceMs, actionTimeoutMs: config.actionTimeoutMs,
});
const audit = await AuditLog.open({ path: resolve(config.auditLog) });
const admin = createApp({
  model, actions, storage, audit,
  tokens: config.tokens,
  readOnly: config.readOnly,
  allowedOrigins: config.allowedOrigins ?? [],
  maxBodyBytes: config.maxBodyBytes,
  ...(config.trustProxy !== undefined ? { trustProxy: config.trustProxy } : {}),
  logger: pino({ name: 'highlander-admin-api', level: config.logLevel }),
  // Audience feedback sessions, driven through the nodes (talks.ts).
  talks: new LiveTalkService({
    model, storage, nodes: new NodeAdminClient(config.nodeAdminToken ?? ''), ...(config.audienceUrl ? { audienceUrl: config.audienceUrl } : {}),
  }),
});
const server = createServer({ requestTimeout: config.requestTimeoutMs }, admin.app);
const stream = admin.attachStream(server);
await new Promise<void>((done) => server.listen(config.port, config.host, done));
const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${(server.address() as AddressInfo).port}`;
if (process.send) process.send({ ready: { url, pid: process.pid } });
else console.log(`highlander admin-api listening on ${url} (ZooKeeper ${config.zk}${config.zkRoot}, audit log ${audit.path})`);

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
