import { HighlanderError, NodeUnreachable, deserializeError } from '@highlander/runtime';
import { nodeHttpRequest, type NodeAccess } from './node-access.js';

/**
 * Calls one node's admin endpoints (runtime/src/http/node-admin.ts) with the cluster secret (and
 * the nodes' TLS). A node's error comes back as the runtime's own error class; a node that does not
 * answer in time is `NodeUnreachable`.
 */
export class NodeAdminClient {
  constructor(private readonly access: NodeAccess) {}

  async request<T>(address: string, node: string, method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, timeoutMs: number): Promise<T> {
    let response: { status: number; text: string };
    try {
      response = await nodeHttpRequest(this.access, address, method, `/admin${path}`, body === undefined ? undefined : JSON.stringify(body), timeoutMs);
    } catch (err) {
      throw new NodeUnreachable(node, err, notSent(err) ? 'no' : 'unknown');
    }
    const { text } = response;
    const ok = response.status >= 200 && response.status < 300;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HighlanderError('NODE_BAD_RESPONSE', `node '${node}' answered ${response.status} with a body that is not JSON`);
    }
    if (!ok) {
      const error = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } }).error;
      if (response.status === 401) throw new HighlanderError('NODE_ADMIN_UNAUTHORIZED', `node '${node}' refused the cluster secret: give the admin API the nodes' --cluster-secret (HIGHLANDER_CLUSTER_SECRET)`);
      if (response.status === 404 && error?.code === 'NOT_FOUND') throw new HighlanderError('NODE_ADMIN_UNAUTHORIZED', `node '${node}' has its admin endpoints off: start the nodes and the admin API with the same --cluster-secret`);
      throw deserializeError({ code: error?.code ?? 'NODE_ERROR', message: error?.message ?? `node '${node}' answered ${response.status}`, ...(error?.details ? { details: error.details } : {}) });
    }
    return json as T;
  }
}

/** Errors that prove the request never reached the node (no connection was made): anything else may have. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

function notSent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && NOT_SENT_CODES.has(String(err.code));
}
