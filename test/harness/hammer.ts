import type { NodeProcess } from '../../scripts/cluster.js';

/**
 * Clients incrementing one `tally` through every node in turn until stopped: what an admin action
 * under load must not lose. `stop()` resolves with the acknowledged values (the first call's
 * included) and how many ended indeterminate; any other error fails the test.
 */
export async function hammerTally(nodes: readonly NodeProcess[], id: string, clients = 6): Promise<{ stop(): Promise<{ acked: number[]; indeterminate: number }> }> {
  const first = await nodes[0]!.call<{ value: number }>('tally', id, 'increment', null);
  const acked: number[] = [first.value];
  let indeterminate = 0;
  let running = true;
  const client = async (i: number) => {
    while (running) {
      try {
        acked.push((await nodes[i % nodes.length]!.call<{ value: number }>('tally', id, 'increment', null)).value);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'CALL_TIMEOUT' || code === 'INDETERMINATE') indeterminate++;
        else throw err;
      }
    }
  };
  const running$ = Array.from({ length: clients }, (_, i) => client(i));
  return {
    async stop() {
      running = false;
      await Promise.all(running$);
      return { acked, indeterminate };
    },
  };
}
