import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ClientOptions } from 'ws';

/**
 * How the admin API proves it is a member of the cluster to the nodes' ports: the cluster's shared
 * secret (`Authorization: Bearer`) on every request and event subscription, and, for nodes with
 * TLS, the CA that signed their certificates (plus a client certificate for mutual TLS).
 */
export interface NodeAccess {
  /** The nodes' cluster secret. @default none (the nodes' admin endpoints are then off) */
  clusterSecret?: string;
  /** For `wss://` / `https://` nodes: the CA of their certificates; cert and key for mutual TLS. @default the system's CAs */
  tls?: { ca?: string | Buffer | Array<string | Buffer>; cert?: string | Buffer; key?: string | Buffer };
}

/** The ws client options of a connection to a node (headers and TLS). */
export function nodeWsOptions(access: NodeAccess): ClientOptions {
  return {
    ...(access.clusterSecret ? { headers: { authorization: `Bearer ${access.clusterSecret}` } } : {}),
    ...tlsOf(access),
  };
}

/**
 * One HTTP request to a node's port (`ws://host:port` or `wss://…` as published), with the secret
 * and TLS of `access`; resolves with the status and body, rejects on a network failure or after `timeoutMs`.
 */
export function nodeHttpRequest(access: NodeAccess, address: string, method: 'GET' | 'POST' | 'PUT', path: string, body: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  const url = new URL(path, address.replace(/^ws/, 'http'));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method,
      headers: {
        ...(access.clusterSecret ? { authorization: `Bearer ${access.clusterSecret}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
      },
      ...(url.protocol === 'https:' ? tlsOf(access) : {}),
      timeout: timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' })));
    req.on('error', reject);
    req.end(body);
  });
}

function tlsOf(access: NodeAccess): { ca?: string | Buffer | Array<string | Buffer>; cert?: string | Buffer; key?: string | Buffer } {
  const tls = access.tls;
  if (!tls) return {};
  return { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}) };
}
