import { mount } from 'svelte';
import Audience from './Audience.svelte';
import { loadDeviceId } from './device-id.ts';
import { codeFromPath } from './protocol.ts';
import { AudienceRoom } from './room.svelte.ts';
import './audience.css';

/** The audience page (`/a/<code>`, served by every node's audience gateway): one talk's room. */
let storage: Storage | null = null;
try {
  storage = localStorage;
} catch {
  // storage disabled: the device id lives as long as the page
}
const device = loadDeviceId(storage, (bytes) => crypto.getRandomValues(bytes));
const code = codeFromPath(location.pathname) ?? codeFromPath(`/a/${new URLSearchParams(location.search).get('code') ?? ''}`);

const room = code === null ? null : new AudienceRoom(code, device.id);

mount(Audience, { target: document.getElementById('audience')!, props: { room, remembered: device.persisted } });
