#!/usr/bin/env node
/**
 * A node process (what `highlander node` runs): configured by flags and environment variables read
 * here and nowhere else, as declared in the option table (options.ts; a flag wins over its
 * variable, the variable over the default; `--help` lists them). A bad or missing option exits 2
 * with a message naming the flag and the variable. SIGTERM or SIGINT drains the node, then exits 0.
 */
import { parseOrExit } from '@highlander/kit';
import { serveNode } from './node-process.js';
import { NODE_OPTIONS, parseNodeConfig } from './options.js';

await serveNode(parseOrExit('highlander node', NODE_OPTIONS, parseNodeConfig, 'usage: highlander node [options]'));
