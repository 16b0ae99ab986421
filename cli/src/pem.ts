import { readFile } from 'node:fs/promises';

/** A PEM file named by an option, or a TypeError saying which option and why it cannot be read. */
export async function readPem(path: string, option: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new TypeError(`${option} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
