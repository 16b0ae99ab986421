import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs one of the repository's entry points (`cli/src/node-process/main.ts`…) as a process from its
 * TypeScript source, in an environment without the developer's HIGHLANDER_* settings plus `env`;
 * resolves with its exit code and what it wrote to stderr.
 */
export function runEntryPoint(file: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGHLANDER_')));
    const child = spawn(process.execPath, ['--conditions=@highlander/source', '--import', 'tsx', fileURLToPath(new URL(`../../${file}`, import.meta.url)), ...args], {
      env: { ...base, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}
