/**
 * Cluster events as markers on a talk's timeline, so the presenter can show how the room felt
 * when a node was killed: which events count, how each reads, and where the labels go when they
 * crowd. Pure, unit-tested.
 */
import type { ModelEvent } from '@highlander/admin-api/protocol';

export type MarkerKind = 'node-down' | 'session-lost' | 'fenced' | 'evicted' | 'migrated' | 'talk-moved' | 'node-up' | 'drain';

export interface TimelineMarker {
  /** The event's cursor: unique, for keys. */
  key: number;
  time: number;
  kind: MarkerKind;
  /** Failures are drawn red, changes in the info colour. */
  severity: 'failure' | 'change';
  label: string;
  node: string;
  /** The event concerns the talk's own object (its owner changed). */
  talk: boolean;
}

/** The marker an event makes on the timeline of talk `code`, or null for events that are not worth one. */
export function markerFor(event: ModelEvent, code: string | null): TimelineMarker | null {
  const about = 'type' in event ? event : null;
  const isTalk = about?.type === 'talk' && about.id === code;
  const object = about ? `${about.type}/${about.id}` : '';
  const make = (kind: MarkerKind, severity: TimelineMarker['severity'], label: string): TimelineMarker => ({
    key: event.cursor, time: event.time, kind, severity, label, node: event.node, talk: isTalk,
  });
  switch (event.kind) {
    case 'node.down':
      return make('node-down', event.reason === 'shutdown' ? 'change' : 'failure', event.reason === 'shutdown' ? `${event.node} stopped` : `${event.node} down`);
    case 'node.up':
      return make('node-up', 'change', `${event.node} up`);
    case 'node.session-lost':
      return make('session-lost', 'failure', `${event.node} lost its session`);
    case 'node.draining':
      // One marker per drain: its first progress event (nothing deactivated yet).
      return event.remaining === event.total ? make('drain', 'change', `${event.node} draining`) : null;
    case 'object.fenced':
      return make('fenced', 'failure', `${object} fenced on ${event.node}`);
    case 'object.deactivated':
      // Fenced and session-lost deactivations have their own events (one per node, not per object).
      return event.reason === 'evicted' ? make('evicted', 'change', `${object} evicted from ${event.node}`) : null;
    case 'object.migrated':
      return make('migrated', 'change', `${object} ${String(event.from)} → ${String(event.to)}`);
    case 'object.activated':
      // The talk itself taken over by a node (after its owner died, or a migration): worth seeing.
      return isTalk && event.stored === true ? make('talk-moved', 'change', `talk now on ${event.node}`) : null;
    default:
      return null;
  }
}

/** Markers of `events` within [from, to], oldest first, without duplicates (by cursor). */
export function markersFrom(events: readonly ModelEvent[], code: string | null, from = -Infinity, to = Infinity): TimelineMarker[] {
  const seen = new Set<number>();
  const markers: TimelineMarker[] = [];
  for (const event of events) {
    if (event.time < from || event.time > to || seen.has(event.cursor)) continue;
    const marker = markerFor(event, code);
    if (!marker) continue;
    seen.add(event.cursor);
    markers.push(marker);
  }
  return markers.sort((a, b) => a.time - b.time || a.key - b.key);
}

const RANK: Record<MarkerKind, number> = { 'node-down': 0, 'session-lost': 1, fenced: 2, 'talk-moved': 3, migrated: 4, evicted: 5, drain: 6, 'node-up': 7 };

export interface MarkerGroup {
  key: number;
  /** x of the group (its first marker's). */
  x: number;
  markers: TimelineMarker[];
  severity: TimelineMarker['severity'];
  /** The two most telling markers' labels, and how many more the group holds. */
  label: string;
  /** Label row (0 nearest the plot), or -1 when no row has room: the label shows on hover only. */
  row: number;
}

/**
 * Groups markers closer than `minGapPx` on the x axis into one, labelled with its two most telling
 * markers (failures first, then what happened to the talk: "node-a down · talk now on node-b"), and
 * gives each label a row among `rows` where it does not overlap another (labels are about `charPx`
 * per character wide).
 */
export function layoutMarkers(markers: readonly TimelineMarker[], x: (time: number) => number, options: { minGapPx?: number; rows?: number; charPx?: number; width?: number } = {}): MarkerGroup[] {
  const { minGapPx = 6, rows = 3, charPx = 6.5, width = Infinity } = options;
  const groups: Array<{ x: number; markers: TimelineMarker[] }> = [];
  for (const marker of [...markers].sort((a, b) => a.time - b.time)) {
    const px = x(marker.time);
    const last = groups.at(-1);
    if (last && px - last.x < minGapPx) last.markers.push(marker);
    else groups.push({ x: px, markers: [marker] });
  }
  const rowEnds = new Array<number>(rows).fill(-Infinity);
  return groups.map((group) => {
    const telling = [...group.markers].sort((a, b) =>
      Number(b.severity === 'failure') - Number(a.severity === 'failure') || Number(b.talk) - Number(a.talk) || RANK[a.kind] - RANK[b.kind] || a.time - b.time);
    const shown = telling.slice(0, 2).map((m) => m.label).join(' · ');
    const label = group.markers.length > 2 ? `${shown} +${group.markers.length - 2}` : shown;
    const labelWidth = label.length * charPx + 8;
    // A label starts at its line, or ends there when it would run past the right edge.
    const start = group.x + labelWidth > width ? group.x - labelWidth : group.x;
    let row = -1;
    for (let r = 0; r < rows; r++) {
      if (start > rowEnds[r]!) {
        row = r;
        rowEnds[r] = start + labelWidth;
        break;
      }
    }
    return {
      key: group.markers[0]!.key,
      x: group.x,
      markers: group.markers,
      severity: group.markers.some((m) => m.severity === 'failure') ? 'failure' : 'change',
      label,
      row,
    };
  });
}
