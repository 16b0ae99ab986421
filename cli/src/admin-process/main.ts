#!/usr/bin/env node
/**
 * `highlander admin`: the admin API as a process, configured by flags and environment variables
 * read here and nowhere else, as declared in the option table (options.ts; a flag wins over its
 * variable, the variable over the default; `--help` lists them, docs/configuration.md too). The
 * main ones: HIGHLANDER_ZK and HIGHLANDER_ZK_ROOT (the cluster), HIGHLANDER_S3_* (the state store,
 * else the AWS credential chain), HIGHLANDER_ADMIN_TOKEN (the nodes' admin token),
 * HIGHLANDER_API_TOKENS (`role:name:token` entries), HIGHLANDER_API_HOST / HIGHLANDER_API_PORT
 * (127.0.0.1:8080), HIGHLANDER_AUDIT_LOG. A bad or missing option exits 2 with a message naming the
 * flag and the variable. SIGTERM or SIGINT closes the stream, the server and the audit log, then exits.
 */
import { parseOrExit } from '@highlander/kit';
import { serveAdmin } from './admin-process.js';
import { ADMIN_OPTIONS, parseAdminConfig } from './options.js';

await serveAdmin(parseOrExit('highlander admin', ADMIN_OPTIONS, parseAdminConfig, 'usage: highlander admin [options]'));
