import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { pickLanAddress, urlHost } from '../../scripts/public-address.js';

/** The demo's choice of the address phones join at, on made-up interface lists (no traffic is sent anywhere). */

function v4(address: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` };
}
function v6(address: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal, cidr: `${address}/64`, scopeid: 0 };
}

describe('pickLanAddress', () => {
  it('takes the private IPv4 address of the wifi, not loopback, docker, link-local or IPv6', () => {
    expect(pickLanAddress({
      lo: [v4('127.0.0.1', true), v6('::1', true)],
      docker0: [v4('172.17.0.1')],
      'br-1a2b3c': [v4('172.18.0.1')],
      veth12ab: [v6('fe80::1')],
      wlp2s0: [v6('fe80::aa:bb'), v6('2001:db8::5'), v4('192.168.1.23')],
      eth1: [v4('169.254.10.2')],
    })).toEqual({ address: '192.168.1.23', interface: 'wlp2s0' });
  });

  it('prefers 192.168 over 10 over 172.16/12 over other IPv4, and IPv4 over global IPv6', () => {
    expect(pickLanAddress({ a: [v4('172.20.0.5')], b: [v4('10.1.2.3')] })?.address).toBe('10.1.2.3');
    expect(pickLanAddress({ a: [v4('203.0.113.7')], b: [v4('172.20.0.5')] })?.address).toBe('172.20.0.5');
    expect(pickLanAddress({ a: [v6('2001:db8::5')], b: [v4('203.0.113.7')] })?.address).toBe('203.0.113.7');
    expect(pickLanAddress({ a: [v6('2001:db8::5'), v6('fd00::1')] })?.address).toBe('2001:db8::5');
  });

  it('finds none on a machine with only loopback and container bridges', () => {
    expect(pickLanAddress({ lo: [v4('127.0.0.1', true)], docker0: [v4('172.17.0.1')], virbr0: [v4('192.168.122.1')] })).toBeNull();
    expect(pickLanAddress({})).toBeNull();
  });

  it('writes IPv6 hosts in brackets for URLs', () => {
    expect(urlHost('2001:db8::5')).toBe('[2001:db8::5]');
    expect(urlHost('192.168.1.23')).toBe('192.168.1.23');
  });
});
