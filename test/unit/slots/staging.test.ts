import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileLike, type FileSystem, nodeFileSystem } from '../../../src/io/file-system.js';
import type { ReleaseFile } from '../../../src/manifest/release.js';
import { StagingArea } from '../../../src/slots/staging.js';
import { expectRejectCode } from '../expect-code.js';

/** The real file system, counting the handles it hands out and how many are open at once. */
function countingFs(): { fs: FileSystem; opened: () => number; openNow: () => number; peak: () => number } {
  let opened = 0;
  let open = 0;
  let peak = 0;
  const fs: FileSystem = {
    ...nodeFileSystem,
    async open(path, flags, mode) {
      const inner = await nodeFileSystem.open(path, flags, mode);
      opened++;
      open++;
      peak = Math.max(peak, open);
      let closed = false;
      const handle: FileLike = {
        read: (...a) => inner.read(...a),
        write: (...a) => inner.write(...a),
        sync: () => inner.sync(),
        stat: () => inner.stat(),
        truncate: (n) => inner.truncate(n),
        chmod: (m) => inner.chmod(m),
        async close() {
          if (!closed) open--;
          closed = true;
          await inner.close();
        },
      };
      return handle;
    },
  };
  return { fs, opened: () => opened, openNow: () => open, peak: () => peak };
}

function packOf(sizes: number[]): { pack: Buffer; files: ReleaseFile[] } {
  const parts: Buffer[] = [];
  const files: ReleaseFile[] = [];
  let offset = 0;
  for (const [i, size] of sizes.entries()) {
    const bytes = randomBytes(size);
    parts.push(bytes);
    files.push({ path: `f${i}`, size, mode: 0o644, sha256: createHash('sha256').update(bytes).digest('hex'), offset });
    offset += size;
  }
  return { pack: Buffer.concat(parts), files };
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twinslot-staging-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StagingArea', () => {
  it('writes chunks arriving concurrently and out of order into the right files, one handle per file at a time', async () => {
    // 60 files (more than the open-file cap) of 0..9000 bytes, written as 1000-byte chunks all at once.
    const { pack, files } = packOf(Array.from({ length: 60 }, (_, i) => (i * 1531) % 9001));
    const counting = countingFs();
    const staging = new StagingArea(counting.fs, join(dir, 'staging'), files);
    staging.expectFromPack(files.map((_, i) => i));
    await staging.prepare();
    const chunks = Array.from({ length: Math.ceil(pack.length / 1000) }, (_, i) => i * 1000);
    await Promise.all(shuffled(chunks, 7).map((at) => staging.writePackBytes(at, pack.subarray(at, at + 1000))));
    expect(staging.complete).toBe(true);
    for (const [i, f] of files.entries()) {
      expect(await readFile(staging.tempPath(i))).toEqual(pack.subarray(f.offset, f.offset + f.size));
    }
    await staging.dispose();
    // Every handle was closed: none left for the garbage collector.
    expect(counting.openNow()).toBe(0);
    // Concurrent writers to one file shared its open instead of racing to open it twice.
    expect(counting.peak()).toBeLessThanOrEqual(60);
  });

  it('a file completed from bytes of an earlier run is hashed again, and rejected when they are wrong', async () => {
    const { pack, files } = packOf([5000]);
    const first = new StagingArea(nodeFileSystem, join(dir, 'staging'), files);
    first.expectFromPack([0]);
    await first.prepare();
    // An earlier run wrote the first half, but wrong bytes (say, a torn page after power loss).
    const wrong = Buffer.from(pack.subarray(0, 2500));
    wrong[10] = wrong[10]! ^ 0xff;
    await first.writePackBytes(0, wrong);
    await first.dispose();

    const second = new StagingArea(nodeFileSystem, join(dir, 'staging'), files);
    second.expectFromPack([0]);
    await second.prepare();
    second.notePresent(0, 2500);
    await expectRejectCode(second.writePackBytes(2500, pack.subarray(2500)), 'CHECKSUM_MISMATCH');
    await second.dispose();
  });

  it('a file completed from an earlier run with the right bytes is accepted', async () => {
    const { pack, files } = packOf([5000]);
    const first = new StagingArea(nodeFileSystem, join(dir, 'staging'), files);
    first.expectFromPack([0]);
    await first.prepare();
    await first.writePackBytes(0, pack.subarray(0, 2500));
    await first.dispose();
    const second = new StagingArea(nodeFileSystem, join(dir, 'staging'), files);
    second.expectFromPack([0]);
    await second.prepare();
    second.notePresent(0, 2500);
    await second.writePackBytes(2500, pack.subarray(2500));
    expect(second.complete).toBe(true);
    expect(await readFile(second.tempPath(0))).toEqual(pack);
  });
});
