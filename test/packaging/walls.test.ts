import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The dependency rules of .dependency-cruiser.cjs (run over the real tree by scripts/test.sh, where
 * they pass) against a small tree that breaks each of them: the check must fail, naming each rule.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'highlander-walls-'));
  dirs.push(dir);
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', allowJs: true } }));
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), source);
  }
  return dir;
}

function depcruise(cwd: string, folders: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'), ...folders, '--config', join(REPO, '.dependency-cruiser.cjs')], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('the walls between the parts', () => {
  it('pass a tree that keeps them', async () => {
    const dir = await tree({
      'kit/src/index.ts': 'export const k = 1;\n',
      'runtime/src/index.ts': "import { helper } from './helper.js';\nexport const r = helper;\n",
      'runtime/src/helper.ts': 'export const helper = 2;\n',
    });
    const { code, output } = await depcruise(dir, ['kit/src', 'runtime/src']);
    expect(output).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  it('fail on a wrong direction, a relative path into another part, a cycle, and server code in the dashboard', async () => {
    const dir = await tree({
      'kit/src/index.ts': "import { r } from '../../runtime/src/index.js';\nexport const k = r;\n",
      'runtime/src/index.ts': "import { b } from './b.js';\nexport const r = b;\n",
      'runtime/src/b.ts': "import { r } from './index.js';\nexport const b = 1;\nexport const again = r;\n",
      'audience/src/index.ts': "import { helper } from '../../runtime/src/b.js';\nexport const a = helper;\n",
      'dashboard/src/main.ts': "import { r } from '../../runtime/src/index.js';\nconsole.log(r);\n",
    });
    const { code, output } = await depcruise(dir, ['kit/src', 'runtime/src', 'audience/src', 'dashboard/src']);
    expect(code).not.toBe(0);
    expect(output).toMatch(/error direction-kit: kit\/src\/index\.ts → runtime\/src\/index\.ts/);
    expect(output).toMatch(/error by-package-name: audience\/src\/index\.ts → runtime\/src\/b\.ts/);
    expect(output).toMatch(/error no-cycle: runtime\/src\/(index|b)\.ts → /);
    expect(output).toMatch(/error dashboard-types-only: dashboard\/src\/main\.ts → runtime\/src\/index\.ts/);
  });
});
