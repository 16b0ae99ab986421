import { describe, expect, it } from 'vitest';
import { APPEAR_MS, FADE_MS, MOVE_MS, MapScene } from '../../dashboard/src/lib/map-scene.ts';
import type { ObjectView } from '@highlander/admin-api/protocol';

const view = (id: string, owner: string, waiting = 0): ObjectView => ({
  type: 'todo', id, owner, epoch: '1', activeSince: 0, lastCallAt: null, callsPerSecond: 0, queueLength: 0, waiting,
});

describe('MapScene', () => {
  it('shows the first snapshot without animation, then animates activations until they settle', () => {
    const scene = new MapScene();
    scene.apply([{ kind: 'added', object: view('a', 'n1') }, { kind: 'added', object: view('b', 'n1') }], true, 1000);
    expect(scene.busy).toBe(false);
    expect(scene.count('n1')).toBe(2);
    expect(scene.takePaints()).toEqual([]);

    scene.apply([{ kind: 'added', object: view('c', 'n2') }], false, 2000);
    expect(scene.busy).toBe(true);
    expect(scene.at('n2', 0)?.id).toBe('c');
    expect(scene.settle(2000 + APPEAR_MS - 1)).toBe(false);
    expect(scene.settle(2000 + APPEAR_MS)).toBe(true);
    expect(scene.busy).toBe(false);
    expect(scene.takePaints()).toEqual([{ draw: scene.entries.get('todo/c') }]);
  });

  it('fades a deactivated object, keeping its slot until the fade ends', () => {
    const scene = new MapScene();
    scene.apply([{ kind: 'added', object: view('a', 'n1') }, { kind: 'added', object: view('b', 'n1') }], true, 0);
    scene.apply([{ kind: 'removed', before: view('a', 'n1') }], false, 100);
    expect(scene.takePaints()).toEqual([{ clear: { node: 'n1', slot: 0 } }]);
    expect(scene.ghosts).toHaveLength(1);
    expect(scene.count('n1')).toBe(1);
    expect(scene.at('n1', 0)).toBeUndefined();
    scene.apply([{ kind: 'added', object: view('c', 'n1') }], false, 200);
    expect(scene.entries.get('todo/c')!.slot).toBe(2);
    scene.settle(100 + FADE_MS);
    expect(scene.ghosts).toHaveLength(0);
    scene.apply([{ kind: 'added', object: view('d', 'n1') }], false, 100 + FADE_MS);
    expect(scene.entries.get('todo/d')!.slot).toBe(0);
  });

  it('moves a migrated object to a slot on its new owner, travelling from the old one', () => {
    const scene = new MapScene();
    scene.apply([{ kind: 'added', object: view('a', 'n1') }], true, 0);
    scene.apply([{ kind: 'updated', before: view('a', 'n1'), object: view('a', 'n2') }], false, 500);
    const entry = scene.entries.get('todo/a')!;
    expect(entry.node).toBe('n2');
    expect(entry.move).toEqual({ node: 'n1', slot: 0, at: 500 });
    expect(scene.at('n2', entry.slot)).toBe(entry);
    expect(scene.count('n1')).toBe(0);
    expect(scene.takePaints()).toEqual([{ clear: { node: 'n1', slot: 0 } }]);
    scene.settle(500 + MOVE_MS);
    expect(entry.move).toBeNull();
    expect(scene.busy).toBe(false);
  });

  it('repaints a cell when its lock queue starts or stops waiting', () => {
    const scene = new MapScene();
    scene.apply([{ kind: 'added', object: view('a', 'n1') }], true, 0);
    scene.apply([{ kind: 'updated', before: view('a', 'n1'), object: view('a', 'n1', 1) }], false, 10);
    expect(scene.entries.get('todo/a')!.queued).toBe(true);
    expect(scene.takePaints()).toEqual([{ draw: scene.entries.get('todo/a') }]);
    scene.apply([{ kind: 'updated', before: view('a', 'n1', 1), object: view('a', 'n1', 1) }], false, 20);
    expect(scene.takePaints()).toEqual([]);
  });

  it('redraws whole after a resync snapshot', () => {
    const scene = new MapScene();
    scene.apply([{ kind: 'added', object: view('a', 'n1') }], true, 0);
    const revision = scene.settledRevision;
    scene.apply([{ kind: 'removed', before: view('a', 'n1') }, { kind: 'added', object: view('b', 'n2') }], true, 50);
    expect(scene.settledRevision).toBe(revision + 1);
    expect(scene.takePaints()).toEqual([]);
  });
});
