/**
 * The admin API process for the test harness and the demo (scripts/cluster.ts forks it): exactly
 * what `highlander admin` runs (the same option table, `serveAdmin`), plus an IPC channel:
 * it tells its parent `{ ready: { url, pid } }` and takes `{ cmd: 'cut-stream', node }` (drops the
 * model's event stream from that node, as a network fault would). SIGTERM or SIGINT stops it.
 */
import { parseOrExit } from '@highlander/kit';
import { ADMIN_OPTIONS, parseAdminConfig, serveAdmin } from '@highlander/cli';

const { api } = await serveAdmin(parseOrExit('cluster-admin', ADMIN_OPTIONS, parseAdminConfig, 'usage: scripts/cluster-admin.ts [the options of highlander admin]'));
process.send?.({ ready: { url: api.url, pid: process.pid } });
process.on('message', (message: { cmd?: string; node?: string }) => {
  if (message.cmd === 'cut-stream' && message.node) api.model.cutEventStream(message.node);
});
