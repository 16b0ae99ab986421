import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** The lowest port handed out: above the well-known and most registered service ports. */
const LOWEST_PORT = 10_000;
/** Where the kernel's ephemeral range starts when /proc does not say (Linux's default). */
const DEFAULT_EPHEMERAL_LOW = 32_768;
/** Tries before giving up: a port that is taken is skipped, so this many taken ports in a row is a broken machine. */
const MAX_TRIES_PER_PORT = 200;

/**
 * The first port of the kernel's ephemeral range. Outgoing connections take their local port from
 * that range, so a port picked inside it can be taken by any client connection between the pick
 * and the server binding it; ports below it are taken only by servers that bind them on purpose.
 */
function ephemeralLow(): number {
  try {
    const low = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0] ?? '', 10);
    return Number.isInteger(low) && low > LOWEST_PORT + 1000 ? low : DEFAULT_EPHEMERAL_LOW;
  } catch {
    return DEFAULT_EPHEMERAL_LOW;
  }
}

/**
 * Returns `count` distinct TCP ports that were free on 127.0.0.1 a moment ago.
 *
 * Ports come from below the kernel's ephemeral range (so no outgoing connection takes one before
 * its server binds it), starting at a random place so that test workers running at once rarely
 * try the same ports; each is checked by binding it. All sockets are held open until every port is
 * known, so one call never returns the same port twice. Another server may still bind a port
 * between this call and its own server; ZooKeeper's start retries with new ports when that happens.
 */
export async function freePorts(count: number): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1) {
    throw new TypeError(`freePorts: count must be a positive integer, got ${count}`);
  }
  const high = ephemeralLow();
  const span = high - LOWEST_PORT;
  let candidate = LOWEST_PORT + Math.floor(Math.random() * span);
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let tries = 0; ports.length < count; tries++) {
      if (tries >= count * MAX_TRIES_PER_PORT) {
        throw new Error(`freePorts: found only ${ports.length} of ${count} free ports in ${LOWEST_PORT}-${high - 1} on 127.0.0.1`);
      }
      const port = candidate;
      candidate = LOWEST_PORT + ((candidate - LOWEST_PORT + 1) % span);
      const server = createServer();
      if (await listenOn(server, port)) {
        servers.push(server);
        ports.push(port);
      }
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

/** Binds `port` on 127.0.0.1: true if it could, false if it is taken (or not ours to bind). */
function listenOn(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    });
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(true));
  });
}
