import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../../src/io/file-system.js';
import { ChunkLog } from '../../../src/slots/chunk-log.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twinslot-chunklog-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ChunkLog', () => {
  it('keeps every line when many connections record at once', async () => {
    const path = join(dir, 'chunks.log');
    const log = await ChunkLog.open(nodeFileSystem, path);
    const indexes = Array.from({ length: 500 }, (_, i) => i * 7);
    await Promise.all(indexes.map((i) => log.record(i)));
    await log.close();
    expect([...(await ChunkLog.read(nodeFileSystem, path))].sort((a, b) => a - b)).toEqual(indexes);
    const text = await readFile(path, 'latin1');
    expect(text.split('\n').filter((l) => l !== '')).toHaveLength(500);
  });

  it('appends after what an earlier run logged', async () => {
    const path = join(dir, 'chunks.log');
    await writeFile(path, '1\n2\n');
    const log = await ChunkLog.open(nodeFileSystem, path);
    await Promise.all([log.record(3), log.record(4)]);
    await log.close();
    expect([...(await ChunkLog.read(nodeFileSystem, path))].sort()).toEqual([1, 2, 3, 4]);
  });

  it('ignores a torn last line and lines that are not indexes', async () => {
    const path = join(dir, 'chunks.log');
    await writeFile(path, Buffer.from('5\n\0\0\x007\nx\n-1\n12', 'latin1'));
    expect([...(await ChunkLog.read(nodeFileSystem, path))]).toEqual([5]);
  });

  it('reads a missing log as empty', async () => {
    expect((await ChunkLog.read(nodeFileSystem, join(dir, 'none'))).size).toBe(0);
  });
});
