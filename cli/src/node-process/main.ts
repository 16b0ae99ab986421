/**
 * `highlander node`: one Highlander node as a process, configured by flags and environment
 * variables read here and nowhere else, as declared in the option table (options.ts; a flag wins
 * over its variable, the variable over the default; `--help` lists them). A bad or missing option
 * exits 2 with a message naming the flag and the variable. SIGTERM or SIGINT drains the node, then
 * exits 0.
 */
import { parseOrExit } from '@highlander/kit';
import { drainOnSignals, startNodeProcess } from './node-process.js';
import { NODE_OPTIONS, parseNodeConfig } from './options.js';

const config = parseOrExit('highlander node', NODE_OPTIONS, parseNodeConfig, 'usage: highlander node [options]');

let started;
try {
  started = await startNodeProcess(config);
} catch (err) {
  console.error(`highlander node ${config.name}: could not start: ${(err as Error).message}`);
  process.exit(1);
}
const { node, gateway } = started.service;
drainOnSignals(started);
console.log(`highlander node ${node.name} up at ${node.address} (pid ${process.pid})${gateway ? `, audience gateway at ${gateway.url}` : ''}`);
