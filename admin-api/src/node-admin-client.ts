import { HighlanderError, NodeUnreachable, deserializeError } from '@highlander/runtime';

/**
 * Calls one node's admin endpoints (runtime/src/node-admin.ts) with the nodes' admin token. A
 * node's error comes back as the runtime's own error class; a node that does not answer in time
 * is `NodeUnreachable`.
 */
export class NodeAdminClient {
  constructor(private readonly token: string) {}

  async request<T>(address: string, node: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<T> {
    const url = `${address.replace(/^ws/, 'http')}/admin${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new NodeUnreachable(node, (err as Error)?.name === 'TimeoutError' ? new Error(`no answer within ${timeoutMs} ms`) : err);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HighlanderError('NODE_BAD_RESPONSE', `node '${node}' answered ${response.status} with a body that is not JSON`);
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } }).error;
      if (response.status === 401) throw new HighlanderError('NODE_ADMIN_UNAUTHORIZED', `node '${node}' refused the admin token: give the admin API the nodes' HIGHLANDER_ADMIN_TOKEN`);
      throw deserializeError({ code: error?.code ?? 'NODE_ERROR', message: error?.message ?? `node '${node}' answered ${response.status}`, ...(error?.details ? { details: error.details } : {}) });
    }
    return json as T;
  }
}
