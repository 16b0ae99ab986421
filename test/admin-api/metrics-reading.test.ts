import { expect, it } from 'vitest';
import { AdminMetrics } from '../../admin-api/src/metrics.js';

/**
 * The admin API's gauges from the live model: one reading of the model serves every scrape that
 * arrives while it runs and for a second after it (a reading may ask ZooKeeper for lock queues, and
 * `/metrics` needs no token). A unit test on a made-up clock and model.
 */

function countingModel() {
  let open: (() => void) | undefined;
  const model = {
    reads: 0,
    gate: null as Promise<void> | null,
    hold() {
      model.gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      open?.();
    },
    async gauges() {
      model.reads++;
      await model.gate;
      return { nodes: 2, objects: model.reads, lockWaiters: 0, longestLockQueue: 0 };
    },
  };
  return model;
}

const objectsIn = (text: string) => Number(/^highlander_admin_cluster_objects (\S+)$/m.exec(text)?.[1]);

it('scrapes share a reading while it runs and for a second after, then read again', async () => {
  let now = 0;
  const metrics = new AdminMetrics({ processMetrics: false, now: () => now });
  const model = countingModel();
  metrics.observeModel(model);

  model.hold();
  const scrapes = [metrics.registry.metrics(), metrics.registry.metrics(), metrics.registry.metrics()];
  await expect.poll(() => model.reads).toBe(1);
  model.release();
  for (const text of await Promise.all(scrapes)) expect(objectsIn(text)).toBe(1);
  expect(model.reads).toBe(1);

  now += 999;
  expect(objectsIn(await metrics.registry.metrics())).toBe(1);
  expect(model.reads).toBe(1);
  now += 2;
  expect(objectsIn(await metrics.registry.metrics())).toBe(2);
  expect(model.reads).toBe(2);
});

it('a failed reading leaves the gauges as they were', async () => {
  let now = 0;
  const metrics = new AdminMetrics({ processMetrics: false, now: () => now });
  let fail = false;
  metrics.observeModel({
    async gauges() {
      if (fail) throw new Error('ZooKeeper unreachable');
      return { nodes: 3, objects: 7, lockWaiters: 1, longestLockQueue: 1 };
    },
  });
  expect(objectsIn(await metrics.registry.metrics())).toBe(7);
  fail = true;
  now += 5000;
  expect(objectsIn(await metrics.registry.metrics())).toBe(7);
});
