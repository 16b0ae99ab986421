import { createServer, type Server } from 'node:net';

/**
 * Returns `count` distinct TCP ports that were free on 127.0.0.1 a moment ago.
 *
 * Each port comes from binding port 0 and reading what the kernel picked. All sockets are
 * held open until every port is known, so one call never returns the same port twice.
 * Another process may still take a port between this call and the server binding it; the
 * servers' readiness checks time out with the server log in that (rare) case.
 */
export async function freePorts(count: number): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1) {
    throw new TypeError(`freePorts: count must be a positive integer, got ${count}`);
  }
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listenOnEphemeralPort(server));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** Returns one TCP port that was free on 127.0.0.1 a moment ago. See {@link freePorts}. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

function listenOnEphemeralPort(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`freePorts: unexpected listen address ${String(address)}`));
        return;
      }
      resolve(address.port);
    });
  });
}
