import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readShardMapFile } from '../../cli/src/shard-map-file.js';

/** `--zk-shards <file>`: a good file is read; every kind of bad file is refused, naming the file and the problem. */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-shard-file-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('--zk-shards file', () => {
  it('reads a good map', async () => {
    const map = { version: 2, shards: [{ name: 'zk-b', connect: '127.0.0.1:2182', buckets: ['800-bff'], generation: 1 }, { name: 'zk-c', connect: '127.0.0.1:2183', buckets: ['c00-fff'], generation: 2 }] };
    expect(await readShardMapFile(await file('good.json', JSON.stringify(map)))).toEqual(map);
  });

  it.each([
    ['missing.json', null, /cannot be read \(ENOENT\)/],
    ['not-json.json', '{"version": 1,', /is not JSON/],
    ['array.json', '[]', /the file: /],
    ['no-shards.json', '{"version": 1, "shards": []}', /shards: Too small/],
    ['extra-key.json', '{"version": 1, "shards": [{"name": "zk-b", "connect": "a:1", "buckets": ["800"], "generation": 1}], "home": "x"}', /Unrecognized key/],
    ['string-version.json', '{"version": "1", "shards": [{"name": "zk-b", "connect": "a:1", "buckets": ["800"], "generation": 1}]}', /version: /],
    ['overlap.json', '{"version": 1, "shards": [{"name": "zk-b", "connect": "a:1", "buckets": ["800-8ff"], "generation": 1}, {"name": "zk-c", "connect": "b:1", "buckets": ["8f0"], "generation": 1}]}', /bucket 8f0 is also in shard 'zk-b'/],
    ['huge.json', Buffer.alloc(1024 * 1024 + 1, 0x20), /more than a shard map needs/],
  ])('refuses %s', async (name, text, message) => {
    const path = text === null ? join(dir, name) : await file(name, text);
    const refused = await readShardMapFile(path).then(() => undefined, (err: Error) => err);
    expect(refused).toBeInstanceOf(Error);
    expect(refused!.message).toContain(`--zk-shards ${path}: `);
    expect(refused!.message).toMatch(message);
  });
});
