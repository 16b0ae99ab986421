import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp, type AdminApp, type AdminAppOptions } from '../../admin-api/src/app.js';
import { AuditLog } from '../../admin-api/src/audit-log.js';
import type { TokenConfig } from '../../admin-api/src/auth.js';
import type { Rebalancer } from '../../admin-api/src/rebalance/rebalancer.js';
import type { StreamServer } from '../../admin-api/src/stream/server.js';
import { fakeCluster, type FakeCluster } from './fake-cluster.js';

/** The admin API on a real HTTP server (loopback, port 0) over a fake cluster, with its audit log in a temp dir. */

export const VIEWER = 'viewer-token-0123456789';
export const OPERATOR = 'operator-token-0123456789';
export const TOKENS: TokenConfig[] = [
  { token: VIEWER, role: 'viewer', name: 'vera' },
  { token: OPERATOR, role: 'operator', name: 'otto' },
];

export interface AdminServer {
  url: string;
  wsUrl: string;
  cluster: FakeCluster;
  admin: AdminApp;
  stream: StreamServer;
  audit: AuditLog;
  auditPath: string;
  /** Every line the admin API logged, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

type StartOptions = Partial<Omit<AdminAppOptions, 'model' | 'actions' | 'storage' | 'audit' | 'rebalancer'>> & {
  /** An existing audit log file to reopen (kept on close); without it, a new one in a temp dir (removed on close). */
  auditPath?: string;
  /** Automatic rebalancing over the fake cluster (stopped on close). */
  rebalancer?: (cluster: FakeCluster, audit: AuditLog) => Promise<Rebalancer>;
};

export async function startAdmin(options: StartOptions = {}): Promise<AdminServer> {
  const { auditPath: givenAuditPath, rebalancer: startRebalancer, ...appOptions } = options;
  const cluster = fakeCluster();
  const dir = givenAuditPath ? undefined : await mkdtemp(join(tmpdir(), 'highlander-admin-test-'));
  const auditPath = givenAuditPath ?? join(dir!, 'audit.jsonl');
  const audit = await AuditLog.open({ path: auditPath });
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const rebalancer = await startRebalancer?.(cluster, audit);
  const admin = createApp({ tokens: TOKENS, processMetrics: false, logger, ...appOptions, ...cluster, audit, ...(rebalancer ? { rebalancer } : {}) });
  const server: Server = createServer(admin.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stream = admin.attachStream(server);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/api/stream`,
    cluster, admin, stream, audit, auditPath, logs,
    async close() {
      await stream.close();
      await rebalancer?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await audit.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** fetch with a bearer token and a JSON body; resolves with status, headers and the parsed body. */
export async function call(
  server: AdminServer,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}
