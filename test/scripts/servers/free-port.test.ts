/**
 * freePorts on real loopback sockets: the ports it returns are distinct, bindable, and outside the
 * kernel's ephemeral range (where an outgoing connection could take one before its server binds it).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '../../../scripts/servers/free-port.js';

const held: Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

function bind(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
}

describe('freePorts', () => {
  it('returns distinct ports below the ephemeral range that a server can then bind', async () => {
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports = await freePorts(60);
    expect(new Set(ports).size).toBe(60);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralLow);
      held.push(await bind(port));
    }
  });

  it('never returns a port a server already holds', async () => {
    // Hold a run of ports, then ask for more than fit between them: the held ones are skipped.
    const taken = await freePorts(200);
    for (const port of taken) held.push(await bind(port));
    const ports = await freePorts(400);
    expect(ports.filter((port) => taken.includes(port))).toEqual([]);
  });

  it('refuses a count that is not a positive integer', async () => {
    await expect(freePorts(0)).rejects.toThrow(/positive integer, got 0/);
    await expect(freePorts(1.5)).rejects.toThrow(/positive integer/);
  });
});
