import { parseNodeConfig } from '@highlander/cli';

/** The least a node needs in its environment. */
export const NODE_ENV = { HIGHLANDER_NODE_NAME: 'node-a', HIGHLANDER_OBJECTS: './objects.js', HIGHLANDER_ZK: '127.0.0.1:2181', HIGHLANDER_S3_BUCKET: 'highlander' };

/** The least the admin API needs in its environment. */
export const ADMIN_ENV = { HIGHLANDER_ZK: '127.0.0.1:2181', HIGHLANDER_S3_BUCKET: 'highlander', HIGHLANDER_API_TOKENS: 'operator:ada:op-token,viewer:grace:view-token' };

/** A node's configuration from `argv` and {@link NODE_ENV} plus `env`. */
export function node(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseNodeConfig(argv, { ...NODE_ENV, ...env });
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.values;
}
