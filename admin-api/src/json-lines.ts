import type { Logger } from 'pino';
import type { z } from 'zod';

/** What the admin API's append-only JSON-lines files (the audit log, the ownership history) read back on open. */
export interface JsonLines<T> {
  /** The lines `schema` accepted, in file order. */
  items: T[];
  /** Lines left out: a torn last line, and lines that are not JSON or that `schema` refuses. */
  skipped: number;
  /** The file ends in a line whose write did not finish (a crash mid-append): the next append must start a new line. */
  torn: boolean;
  /** Lines in the file, the torn one included. */
  lineCount: number;
}

/**
 * Parses a JSON-lines file's text: each complete line through `schema`; whatever follows the last
 * newline is a torn line and is skipped, like any line that is not JSON or that `schema` refuses —
 * each said to `logger` as `<what>: skipped …` with the file's path and the line's number.
 */
export function parseJsonLines<T>(text: string, schema: z.ZodType<T>, where: { path: string; logger: Logger | undefined; what: string; entry: string }): JsonLines<T> {
  const { path, logger, what, entry } = where;
  const rows = text.split('\n');
  // Whatever follows the last newline is a line whose write did not finish (a crash mid-append).
  const tail = rows.pop() ?? '';
  const torn = tail.length > 0;
  let skipped = 0;
  if (torn) {
    skipped++;
    logger?.warn({ path, bytes: Buffer.byteLength(tail) }, `${what}: skipped a torn last line (a write interrupted by a crash)`);
  }
  const items: T[] = [];
  rows.forEach((row, index) => {
    if (row.trim() === '') return; // the separator written after a torn line
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch {
      value = undefined;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      skipped++;
      logger?.warn({ path, line: index + 1 }, `${what}: skipped a line that is not ${entry}`);
      return;
    }
    items.push(parsed.data);
  });
  return { items, skipped, torn, lineCount: rows.length + (torn ? 1 : 0) };
}
