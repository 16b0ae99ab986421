/**
 * What Highlander's parts share that is not about objects: option tables (flags, environment
 * variables, defaults, `--help` and docs from one declaration) and ws upgrade helpers.
 *
 * ```ts
 * import { defineOptions, parseOptions, port } from '@highlander/kit';
 *
 * const OPTIONS = defineOptions({
 *   port: { flag: 'port', env: 'MY_PORT', group: 'Network', placeholder: '<port>', default: '0',
 *           description: 'Port to listen on; 0 picks a free one.', schema: port() },
 * });
 * const parsed = parseOptions(OPTIONS, process.argv.slice(2), process.env); // throws OptionsError
 * if (!parsed.help) console.log(parsed.values.port); // a number
 * ```
 */
export {
  OptionsError, PRECEDENCE, checkedBy, defineOptions, host, httpUrl, integer, milliseconds, oneOf, optionName, parseOptions, port,
  renderHelp, renderMarkdownTable,
} from './option-table.js';
export type { HelpText, OptionSpec, OptionTable, OptionValues, ParsedOptions } from './option-table.js';
export { answerClientErrors, closeReason, refuseUpgrade, requestUrl } from './ws-http.js';
export { parseOrExit } from './parse-or-exit.js';
export { Backoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { forEachBounded } from './pool.js';
export { MessageWindow } from './message-window.js';
export { raceTimeout, roundMs, sleep } from './time.js';
export { LiveSocket } from './live-socket.js';
export type { LiveSocketOptions } from './live-socket.js';
export { TokenBuckets } from './token-buckets.js';
export type { TakeResult, TokenBucketOptions } from './token-buckets.js';
export { CoalescedRun } from './coalesced-run.js';
