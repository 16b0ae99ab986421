import { describe, expect, it } from 'vitest';
import { ADMIN_OPTIONS, adminApiOptionsFromConfig, parseAdminConfig } from '@highlander/cli';
import { expectCompleteTable, problems } from '../../harness/option-checks.js';
import { ADMIN_ENV } from '../option-env.js';

/**
 * The admin API process's options (cli/src/admin-process/options.ts): its table and `parseAdminConfig`,
 * the tokens and roles above all, whose errors never echo a token.
 */

describe('admin API options', () => {
  it('applies the documented defaults', () => {
    const parsed = parseAdminConfig([], ADMIN_ENV);
    if (parsed.help) throw new Error('unexpected --help');
    expect(parsed.values).toMatchObject({ host: '127.0.0.1', port: 8080, auditLog: 'data/audit.jsonl', logLevel: 'info', readOnly: false });
  });

  it('parses the admin API\'s tokens and roles, and never echoes a token', () => {
    const parsed = parseAdminConfig([], ADMIN_ENV);
    if (parsed.help) throw new Error('unexpected --help');
    expect(parsed.values.tokens).toEqual([{ role: 'operator', name: 'ada', token: 'op-token' }, { role: 'viewer', name: 'grace', token: 'view-token' }]);
    const cases: Array<[string, string]> = [
      ['admin:ada:secret-1', "entry 1 has role 'admin': the roles are viewer and operator"],
      ['viewer:ada', 'entry 1 is not role:name:token'],
      ['viewer:ada:secret 1', "entry 1's token: must be non-empty and use only A-Z a-z 0-9 - . _ ~"],
      ['viewer:ada:secret-1,operator:bob:secret-1', "entry 2's token: the same token is configured twice"],
    ];
    for (const [tokens, message] of cases) {
      const [problem] = problems(() => parseAdminConfig(['--tokens', tokens], ADMIN_ENV));
      expect(problem).toContain("--tokens '…' (or HIGHLANDER_API_TOKENS)");
      expect(problem).toContain(message);
      expect(problem).not.toContain('secret');
    }
    expect(problems(() => parseAdminConfig(['--allowed-origins', 'https://ok.example,not an origin'], ADMIN_ENV))[0]).toContain('is not an origin');
    expect(problems(() => parseAdminConfig(['--log-level', 'verbose'], ADMIN_ENV))[0]).toContain('must be one of fatal, error, warn, info, debug, trace, silent');
  });

  it('takes the ownership history\'s file and bounds, and refuses a per-object bound above the total', () => {
    const parsed = parseAdminConfig(['--history-log', 'h.jsonl', '--history-max-per-object', '5', '--history-max-entries', '50'], ADMIN_ENV);
    if (parsed.help) throw new Error('unexpected --help');
    expect(adminApiOptionsFromConfig(parsed.values).history).toEqual({ path: 'h.jsonl', maxEntriesPerObject: 5, maxEntries: 50 });
    const defaults = parseAdminConfig([], ADMIN_ENV);
    if (defaults.help) throw new Error('unexpected --help');
    expect(adminApiOptionsFromConfig(defaults.values).history).toEqual({ maxEntriesPerObject: 100, maxEntries: 200_000 });
    expect(problems(() => parseAdminConfig(['--history-max-per-object', '10', '--history-max-entries', '5'], ADMIN_ENV))[0])
      .toContain('--history-max-per-object (10) cannot be more than --history-max-entries (5)');
    expect(problems(() => parseAdminConfig(['--history-max-entries', '0'], ADMIN_ENV))[0]).toContain('--history-max-entries');
  });

  it('stops at -h without checking anything else', () => {
    expect(parseAdminConfig(['-h'], {})).toEqual({ help: true });
  });
});

describe('the admin API option table', () => {
  it('keeps every environment variable the admin API has always read', () => {
    const adminEnv = Object.values(ADMIN_OPTIONS).map((o) => o.env);
    const s3 = ['HIGHLANDER_S3_BUCKET', 'HIGHLANDER_S3_PREFIX', 'HIGHLANDER_S3_ENDPOINT', 'HIGHLANDER_S3_REGION', 'HIGHLANDER_S3_ACCESS_KEY_ID', 'HIGHLANDER_S3_SECRET_ACCESS_KEY'];
    expect(adminEnv).toEqual(expect.arrayContaining([
      'HIGHLANDER_ZK', 'HIGHLANDER_ZK_ROOT', ...s3, 'HIGHLANDER_CLUSTER_SECRET', 'HIGHLANDER_API_TOKENS', 'HIGHLANDER_API_READ_ONLY',
      'HIGHLANDER_API_ALLOWED_ORIGINS', 'HIGHLANDER_API_HOST', 'HIGHLANDER_API_PORT', 'HIGHLANDER_AUDIT_LOG', 'HIGHLANDER_LOG_LEVEL',
    ]));
  });

  it('has only valid defaults, and --help and the docs list every option', () => {
    expectCompleteTable(ADMIN_OPTIONS);
  });
});
