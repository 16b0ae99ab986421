import { describe, expect, it } from 'vitest';
import { CLIENT_OPTIONS } from '@highlander/cli';
import { parseOptions } from '@highlander/kit';
import { expectCompleteTable, problems } from '../harness/option-checks.js';

/**
 * The options every client command takes (cli/src/client-commands.ts). The commands themselves run
 * against a live admin API in highlander.test.ts.
 */

describe('client options', () => {
  it('parse the client options (api URL, token)', () => {
    const parsed = parseOptions(CLIENT_OPTIONS, ['--json'], { HIGHLANDER_API_TOKEN: 'tok-1' });
    expect(parsed).toMatchObject({ help: false, values: { api: 'http://127.0.0.1:8080', token: 'tok-1', timeoutMs: 60_000, json: true } });
    expect(problems(() => parseOptions(CLIENT_OPTIONS, ['--api', 'localhost:8080'], {}))[0]).toContain('must be an http(s) URL');
  });

  it('have only valid defaults, and --help and the docs list every option', () => {
    expectCompleteTable(CLIENT_OPTIONS);
  });
});
