import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { shardMapProblems, type ShardMap } from '@highlander/runtime';

/** The shape of a `--zk-shards` file; shardMapProblems checks the rest (ranges, overlaps, generations). */
const ShardMapFile = z.strictObject({
  version: z.number().int().min(1),
  shards: z.array(z.strictObject({
    name: z.string(),
    connect: z.string(),
    buckets: z.array(z.string()),
    generation: z.number().int().min(1),
  })).min(1).max(64),
});

/** Largest shard map file read (a map of 64 shards with many single buckets stays far below). */
const MAX_FILE_BYTES = 1024 * 1024;

/** Reads and checks a `--zk-shards` file; throws an Error naming the file and every problem. */
export async function readShardMapFile(path: string): Promise<ShardMap> {
  const fail = (problem: string) => new Error(`--zk-shards ${path}: ${problem}`);
  let text: string;
  try {
    const buffer = await readFile(path);
    if (buffer.length > MAX_FILE_BYTES) throw fail(`is ${buffer.length} bytes, more than a shard map needs (at most ${MAX_FILE_BYTES})`);
    text = buffer.toString('utf8');
  } catch (err) {
    if ((err as Error).message.startsWith('--zk-shards')) throw err;
    throw fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fail(`is not JSON (${(err as Error).message})`);
  }
  const parsed = ShardMapFile.safeParse(json);
  if (!parsed.success) {
    throw fail(parsed.error.issues.map((i) => `${i.path.join('.') || 'the file'}: ${i.message}`).join('; '));
  }
  const problems = shardMapProblems(parsed.data);
  if (problems.length > 0) throw fail(problems.join('; '));
  return parsed.data;
}
