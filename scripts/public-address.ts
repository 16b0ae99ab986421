import type { NetworkInterfaceInfo } from 'node:os';

/**
 * The address a phone on the same network as this machine can reach it at, chosen from the
 * machine's interfaces (`os.networkInterfaces()`): IPv4 first, a private LAN range first
 * (192.168/16, 10/8, 172.16/12), never loopback, link-local (169.254/16) or the bridges of
 * containers and VMs (docker0, br-…, veth…, virbr…, cni…, flannel…, podman…, lxc…, vboxnet…, vmnet…).
 * Null when there is none (then the demo stays on loopback and says so).
 *
 * ```ts
 * pickLanAddress(os.networkInterfaces()); // '192.168.1.23'
 * ```
 */
export function pickLanAddress(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): { address: string; interface: string } | null {
  const candidates: Array<{ address: string; interface: string; rank: number }> = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    if (!infos || VIRTUAL_INTERFACE.test(name)) continue;
    for (const info of infos) {
      if (info.internal) continue;
      const rank = rankOf(info);
      if (rank !== null) candidates.push({ address: info.address, interface: name, rank });
    }
  }
  candidates.sort((a, b) => a.rank - b.rank || (a.interface < b.interface ? -1 : a.interface > b.interface ? 1 : 0));
  const best = candidates[0];
  return best ? { address: best.address, interface: best.interface } : null;
}

/** Interfaces of container runtimes, VMs and tunnels: a phone on the wifi cannot reach them. */
const VIRTUAL_INTERFACE = /^(docker|br-|veth|virbr|cni|flannel|podman|lxc|lxd|vboxnet|vmnet|tailscale|zt|utun|awdl|llw)/;

/** Lower is better; null: not an address a phone could use. */
function rankOf(info: NetworkInterfaceInfo): number | null {
  if (info.family === 'IPv4') {
    const [a, b] = info.address.split('.').map(Number) as [number, number];
    if (a === 127 || (a === 169 && b === 254) || a === 0) return null;
    if (a === 192 && b === 168) return 0;
    if (a === 10) return 1;
    if (a === 172 && b >= 16 && b <= 31) return 2;
    if (a === 100 && b >= 64 && b <= 127) return 4; // carrier-grade NAT: reachable on some networks
    return 3;
  }
  // IPv6: global unicast only, after every IPv4 (a QR code with a bracketed address is hard to type).
  if (info.address === '::1' || /^fe[89ab]/i.test(info.address) || /^f[cd]/i.test(info.address)) return null;
  return 10;
}

/** `host` as it goes in a URL: IPv6 addresses in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
