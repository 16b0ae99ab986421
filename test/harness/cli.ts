import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** bin/highlander of this checkout. */
export const HIGHLANDER_BIN = fileURLToPath(new URL('../../bin/highlander', import.meta.url));

/**
 * Runs `highlander <args>` against the admin API at `apiUrl` with `token`, in an environment without
 * the test process's HIGHLANDER_ variables; resolves with its exit code and output (never rejects on
 * a non-zero exit).
 */
export async function highlanderCli(apiUrl: string, token: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGHLANDER_'))), HIGHLANDER_API_URL: apiUrl, HIGHLANDER_API_TOKEN: token };
  try {
    const { stdout, stderr } = await promisify(execFile)(HIGHLANDER_BIN, args, { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
