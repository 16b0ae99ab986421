import { FileStateStore, HighlanderError } from '@highlander/runtime';

/**
 * A second process for the FileStateStore tests: opens the data folder given as its argument and
 * prints one JSON line, `{"opened":true,"pid":…}` or `{"opened":false,"code":…,"message":…}`.
 * When opened, it holds the folder until its stdin closes, then closes the store and exits.
 */
const dir = process.argv[2];
if (!dir) throw new TypeError('usage: hold-data-folder.ts <data folder>');
try {
  const store = await FileStateStore.create({ dir });
  process.stdout.write(`${JSON.stringify({ opened: true, pid: process.pid })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void store.close().then(() => process.exit(0));
  });
} catch (err) {
  const code = err instanceof HighlanderError ? err.code : 'UNEXPECTED';
  process.stdout.write(`${JSON.stringify({ opened: false, code, message: (err as Error).message })}\n`);
  process.exitCode = 0;
}
