import { afterAll, beforeAll, expect, it } from 'vitest';
import { timing } from '../../harness/timing.js';
import { expectSafeAndRecovered } from './expectations.js';
import { formatSummary } from './report.js';
import { healServers, runScenario, startFaultServers, withNet, type FaultServers } from './scenario.js';
import { faultSeed, runSchedule } from './schedule.js';

/**
 * The randomized schedule: network and process faults drawn from a seeded generator, one after
 * another, in one run of four node processes, checked like every fault test. In CI it draws
 * timing.faultScheduleCount faults; `npm run faults -- --soak <minutes>` (scripts/faults.ts) runs it
 * for that long instead. A failing run prints its seed; HIGHLANDER_FAULT_SEED=<seed> draws the same
 * faults again.
 */

const soakMinutes = soakFromEnv(process.env.HIGHLANDER_FAULT_SOAK_MINUTES);
const soakMs = soakMinutes === undefined ? undefined : soakMinutes * 60_000;

let servers: FaultServers | undefined;

beforeAll(async () => {
  servers = await startFaultServers({ quorumProxies: true });
  await healServers(servers);
});

afterAll(async () => {
  await Promise.all([servers?.zookeeper.stop(), servers?.radosgw.stop()]);
});

const title = soakMs === undefined
  ? `a randomized schedule of ${timing.faultScheduleCount} network and process faults`
  : `soak: a randomized schedule of network and process faults for ${soakMinutes} min`;

it(title, async () => {
  const seed = faultSeed();
  console.log(`fault schedule: seed ${seed} (draw the same faults again with HIGHLANDER_FAULT_SEED=${seed})`);
  let drawn: string[] = [];
  const startedAt = Date.now();
  const result = await runScenario(servers!, {
    label: soakMs === undefined ? `schedule-${seed}` : `soak-${seed}`, nodes: 4, network: true,
    // A soak's register histories are long: the search may say "no verdict" for one, never hang for hours.
    ...(soakMs === undefined ? {} : { linearizabilityMs: timing.soakLinearizabilityMs }),
    async inject(ctx) {
      drawn = await runSchedule(withNet(ctx), {
        seed,
        ...(soakMs === undefined ? { faults: timing.faultScheduleCount } : { durationMs: soakMs }),
        onFault: (index, name, recovered) => {
          const minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
          console.log(`fault schedule (seed ${seed}): #${index} ${name}${recovered ? '' : ' — NOT RECOVERED'} at ${minutes} min`);
        },
      });
    },
  });
  console.log(formatSummary([result.figures]));
  expect(result.history.faults).toHaveLength(drawn.length);
  expectSafeAndRecovered(result);
}, soakMs === undefined ? timing.faultTestMs * 2 : soakMs + timing.faultTestMs * 2 + timing.soakCheckMs);

function soakFromEnv(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const minutes = Number(text);
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
    throw new TypeError(`HIGHLANDER_FAULT_SOAK_MINUTES must be a number of minutes from 0 to 1440, got '${text}'`);
  }
  return minutes;
}
