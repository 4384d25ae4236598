// The patch applier against patches made by the encoder (round trips) and patches
// crafted byte by byte (hostile cases). Every bad patch must end in PATCH_FAILED (or
// CHECKSUM_MISMATCH for a well-formed patch that builds the wrong bytes), never in a
// crash, a hang, or a write outside the new file's size.
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { applyPatch } from '../../../src/delta/apply.js';
import { type ControlTriple, encodePatch } from '../../../src/delta/encode.js';
import { MAX_SEGMENT_RAW, PATCH_MAGIC, PATCH_MAGIC_V2, pushVarint, writeHeader, zigzag } from '../../../src/delta/format.js';
import { MemoryFile } from '../../../src/delta/memory-file.js';
import { rng } from '../../fuzz/fuzz.js';
import { expectRejectCode } from '../expect-code.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function randomBytes(size: number, rand: (n: number) => number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = rand(256);
  return b;
}

async function apply(old: Uint8Array, patch: Uint8Array, newSize: number, expected: string, signal?: AbortSignal): Promise<Buffer> {
  const out = new MemoryFile();
  await applyPatch({ old: new MemoryFile(old), patch: new MemoryFile(patch), patchSize: patch.length, out, signal }, { oldSize: old.length, newSize, sha256: expected });
  return out.contents;
}

/** Random valid operations turning `old` into a new file; returns the new file and the operations. */
function randomEdit(old: Buffer, rand: (n: number) => number): { next: Buffer; controls: ControlTriple[] } {
  const parts: Buffer[] = [];
  const controls: ControlTriple[] = [];
  let oldPos = 0;
  const ops = 1 + rand(12);
  for (let i = 0; i < ops; i++) {
    const add = oldPos < old.length ? rand(Math.min(old.length - oldPos, 5000) + 1) : 0;
    const piece = Buffer.from(old.subarray(oldPos, oldPos + add));
    for (let k = 0; k < piece.length; k++) if (rand(50) === 0) piece[k] = rand(256); // scattered changes
    const insert = rand(3) === 0 ? rand(300) : 0;
    parts.push(piece, randomBytes(insert, rand));
    const target = rand(old.length + 1);
    const seek = target - (oldPos + add);
    controls.push({ add, insert, seek });
    oldPos = target;
  }
  return { next: Buffer.concat(parts), controls };
}

describe('round trips through the encoder', () => {
  it('rebuilds the new file exactly for 150 random (old, new, operations), in both layouts, with segments as small as 64 bytes', async () => {
    for (let seed = 1; seed <= 150; seed++) {
      const rand = rng(seed);
      const old = randomBytes(rand(20_000), rand);
      const { next, controls } = randomEdit(old, rand);
      const segmentBytes = [64, 1000, MAX_SEGMENT_RAW][seed % 3]!;
      const layout = seed % 2 === 0 ? 'interleaved' : 'separate';
      const patch = await encodePatch(old, next, controls, { quality: 1, segmentBytes, layout });
      expect(patch.subarray(0, 8).equals(layout === 'separate' ? PATCH_MAGIC_V2 : PATCH_MAGIC)).toBe(true);
      const out = await apply(old, patch, next.length, sha(next));
      expect(out.equals(next), `seed ${seed}`).toBe(true);
    }
  });

  it('picks the layout that compresses smaller: separate headers when the changed bytes are random', async () => {
    const rand = rng(21);
    const old = randomBytes(400_000, rand);
    const next = Buffer.from(old);
    // Runs of random bytes at random gaps: the group lengths compress, the bytes do not.
    for (let at = rand(3000); at < next.length - 64; at += 1 + rand(3000)) for (let k = 1 + rand(64); k > 0; k--) next[at++] = rand(256);
    const controls = [{ add: old.length, insert: 0, seek: 0 }];
    const auto = await encodePatch(old, next, controls, { quality: 5 });
    const interleaved = await encodePatch(old, next, controls, { quality: 5, layout: 'interleaved' });
    expect(auto.subarray(0, 8).equals(PATCH_MAGIC_V2)).toBe(true);
    expect(auto.length).toBeLessThan(interleaved.length);
    expect((await apply(old, auto, next.length, sha(next))).equals(next)).toBe(true);
  });

  it('rebuilds a file of several batches from real files and from memory: operations and inserts longer than a batch, more runs than a batch holds', async () => {
    const rand = rng(11);
    const old = randomBytes(5 * 1024 * 1024, rand);
    const parts: Buffer[] = [];
    const controls: ControlTriple[] = [];
    let oldPos = 0;
    const op = (add: number, insert: number, target: number): void => {
      const piece = Buffer.from(old.subarray(oldPos, oldPos + add));
      for (let k = rand(40); k < piece.length; k += 1 + rand(80)) piece[k] = rand(256);
      parts.push(piece, randomBytes(insert, rand));
      controls.push({ add, insert, seek: target - (oldPos + add) });
      oldPos = target;
    };
    op(3 * 1024 * 1024, 2_500_000, 4096); // both parts cross a batch boundary
    for (let i = 0; i < 40_000; i++) op(1 + rand(40), rand(4), rand(old.length - 100)); // over a batch's run limit, scattered
    op(700_000, 0, 0); // read straight into place
    op(1000, 3, 0);
    const next = Buffer.concat(parts);
    const patch = await encodePatch(old, next, controls, { quality: 1 });
    expect((await apply(old, patch, next.length, sha(next))).equals(next)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'twinslot-apply-'));
    try {
      await writeFile(join(dir, 'old'), old);
      await writeFile(join(dir, 'patch'), patch);
      const [oldFile, patchFile, outFile] = await Promise.all([open(join(dir, 'old'), 'r'), open(join(dir, 'patch'), 'r'), open(join(dir, 'new'), 'w')]);
      try {
        await applyPatch({ old: oldFile, patch: patchFile, patchSize: patch.length, out: outFile }, { oldSize: old.length, newSize: next.length, sha256: sha(next) });
      } finally {
        await Promise.all([oldFile.close(), patchFile.close(), outFile.close()]);
      }
      expect((await readFile(join(dir, 'new'))).equals(next)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads old runs beyond 4 GiB (offsets past 32 bits) from a sparse old file', async () => {
    // Offsets are kept in a Uint32Array below 4 GiB and a Float64Array from there on.
    const dir = await mkdtemp(join(tmpdir(), 'twinslot-apply-'));
    const oldSize = 2 ** 32 + 64 * 1024;
    const far = 2 ** 32 + 1000;
    const near = Buffer.from('near the start;');
    const marker = Buffer.from('past four GiB');
    try {
      const oldFile = await open(join(dir, 'old'), 'w+');
      try {
        await oldFile.write(near, 0, near.length, 10);
        await oldFile.write(marker, 0, marker.length, far);
        await oldFile.truncate(oldSize); // sparse: no disk space for the gap
        // Seek to 10, read 15 bytes, jump to `far`, read the marker (its first byte changed), then 4 bytes at 0.
        const next = Buffer.concat([near, Buffer.from('P'), marker.subarray(1), Buffer.alloc(4)]);
        const control = ctrl([0, 0, 10], [near.length, 0, far - 10 - near.length], [marker.length, 0, -(far + marker.length)], [4, 0, 0]);
        const delta = groups([near.length, 0, []], [0, 1, [(0x50 - marker[0]!) & 0xff]], [marker.length - 1, 0, []], [4, 0, []]);
        const patch = craft(oldSize, next.length, [control, delta, []]);
        const out = new MemoryFile();
        await applyPatch({ old: oldFile, patch: new MemoryFile(patch), patchSize: patch.length, out }, { oldSize, newSize: next.length, sha256: sha(next) });
        expect(out.contents.toString('latin1')).toBe(next.toString('latin1'));
      } finally {
        await oldFile.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a write that fails (the output opened read-only) rejects the apply', async () => {
    const old = randomBytes(3 * 1024 * 1024, rng(14));
    const patch = await encodePatch(old, old, [{ add: old.length, insert: 0, seek: 0 }], { quality: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'twinslot-apply-'));
    try {
      await writeFile(join(dir, 'new'), '');
      const outFile = await open(join(dir, 'new'), 'r');
      try {
        await expect(applyPatch({ old: new MemoryFile(old), patch: new MemoryFile(patch), patchSize: patch.length, out: outFile }, { oldSize: old.length, newSize: old.length, sha256: sha(old) })).rejects.toThrow();
      } finally {
        await outFile.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('handles an empty old file, an empty new file, and identical files', async () => {
    const a = randomBytes(5000, rng(7));
    for (const [old, next, controls] of [
      [Buffer.alloc(0), a, [{ add: 0, insert: a.length, seek: 0 }]],
      [a, a, [{ add: a.length, insert: 0, seek: 0 }]],
      [a, Buffer.alloc(0), []],
    ] as [Buffer, Buffer, ControlTriple[]][]) {
      const patch = await encodePatch(old, next, controls, { quality: 1 });
      expect((await apply(old, patch, next.length, sha(next))).equals(next)).toBe(true);
    }
  });

  it('folds seek-only operations into the previous one and drops trailing ones', async () => {
    const old = randomBytes(4000, rng(3));
    const next = Buffer.concat([old.subarray(2000, 3000), old.subarray(0, 1000)]);
    const controls = [
      { add: 0, insert: 0, seek: 2000 },
      { add: 1000, insert: 0, seek: 0 },
      { add: 0, insert: 0, seek: -3000 },
      { add: 1000, insert: 0, seek: 0 },
      { add: 0, insert: 0, seek: 77 },
    ];
    const patch = await encodePatch(old, next, controls, { quality: 1 });
    expect((await apply(old, patch, next.length, sha(next))).equals(next)).toBe(true);
  });

  it('refuses to encode operations outside the files (the publisher drops such a patch)', async () => {
    const old = randomBytes(100, rng(1));
    await expect(encodePatch(old, old, [{ add: 101, insert: 0, seek: 0 }])).rejects.toThrow(RangeError);
    await expect(encodePatch(old, old, [{ add: 50, insert: 0, seek: 0 }])).rejects.toThrow(RangeError);
    await expect(encodePatch(old, old, [{ add: 0, insert: 0, seek: -5 }, { add: 100, insert: 0, seek: 0 }])).rejects.toThrow(RangeError);
    // Segments larger than a client accepts, or too small to hold a group's varints.
    await expect(encodePatch(old, old, [{ add: 100, insert: 0, seek: 0 }], { segmentBytes: MAX_SEGMENT_RAW + 1 })).rejects.toThrow(RangeError);
    await expect(encodePatch(old, old, [{ add: 100, insert: 0, seek: 0 }], { segmentBytes: 63 })).rejects.toThrow(RangeError);
  });

  it('a well-formed patch applied to the wrong old file: CHECKSUM_MISMATCH', async () => {
    const old = randomBytes(3000, rng(11));
    const next = Buffer.from(old);
    next[5] = next[5]! ^ 1;
    const patch = await encodePatch(old, next, [{ add: 3000, insert: 0, seek: 0 }], { quality: 1 });
    const other = Buffer.from(old);
    other[2000] = other[2000]! ^ 1;
    await expectRejectCode(apply(other, patch, next.length, sha(next)), 'CHECKSUM_MISMATCH');
  });

  it('stops with ABORTED when its signal fires', async () => {
    const old = randomBytes(200_000, rng(5));
    const controls = Array.from({ length: 4000 }, () => ({ add: 50, insert: 0, seek: 0 }));
    const patch = await encodePatch(old, old, controls, { quality: 1 });
    const controller = new AbortController();
    controller.abort();
    await expectRejectCode(apply(old, patch, old.length, sha(old), controller.signal), 'ABORTED');
  });
});

/** Raw stream contents, compressed one segment each, behind a header claiming `oldSize` -> `newSize`. */
function craft(oldSize: number, newSize: number, streams: (number[] | Buffer)[], rawOverride?: (s: number, raw: number) => number): Buffer {
  return craft2(oldSize, newSize, streams.map((s) => [s]), rawOverride);
}

function ctrl(...triples: [number, number, number][]): number[] {
  const out: number[] = [];
  for (const [x, y, z] of triples) {
    pushVarint(out, x);
    pushVarint(out, y);
    pushVarint(out, zigzag(z));
  }
  return out;
}

function groups(...pairs: [number, number, number[]][]): number[] {
  const out: number[] = [];
  for (const [zeros, count, literals] of pairs) {
    pushVarint(out, zeros);
    pushVarint(out, count);
    out.push(...literals);
  }
  return out;
}

describe('hostile patches (bspatch CVE-2014-9862 and friends): PATCH_FAILED before anything out of range is written', () => {
  const OLD = randomBytes(100, rng(9));
  const any = sha(Buffer.alloc(0));
  const cases: [string, Buffer, number][] = [
    ['an operation adding past the new size', craft(100, 10, [ctrl([11, 0, 0]), groups([11, 0, []]), []]), 10],
    ['an operation inserting past the new size', craft(100, 10, [ctrl([0, 11, 0]), [], Buffer.alloc(11)]), 10],
    ['an operation reading past the end of the old file', craft(100, 120, [ctrl([120, 0, 0]), groups([120, 0, []]), []]), 120],
    ['a seek to a negative old position, then a read', craft(100, 20, [ctrl([10, 0, -50], [10, 0, 0]), groups([10, 0, []], [10, 0, []]), []]), 20],
    ['a seek far past the old file, then a read', craft(100, 20, [ctrl([10, 0, 1_000_000], [10, 0, 0]), groups([10, 0, []], [10, 0, []]), []]), 20],
    ['an empty operation (would never end)', craft(100, 10, [ctrl([0, 0, 0]), [], []]), 10],
    ['a number of nine bytes', craft(100, 10, [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0], [], []]), 10],
    ['a number that is not minimally encoded', craft(100, 10, [[0x8a, 0x00, 0, 0], groups([10, 0, []]), []]), 10],
    ['a control stream that ends early', craft(100, 20, [ctrl([10, 0, 0]), groups([10, 0, []]), []]), 20],
    ['a control stream cut inside a number', craft(100, 20, [[0x8a], [], []]), 20],
    ['a delta stream that ends early', craft(100, 20, [ctrl([20, 0, 0]), groups([10, 0, []]), []]), 20],
    ['an extra stream that ends early', craft(100, 20, [ctrl([0, 20, 0]), [], Buffer.alloc(10)]), 20],
    ['bytes left over in the control stream', craft(100, 10, [ctrl([10, 0, 0], [5, 0, 0]), groups([10, 0, []]), []]), 10],
    ['bytes left over in the delta stream', craft(100, 10, [ctrl([10, 0, 0]), groups([10, 0, []], [1, 0, []]), []]), 10],
    ['bytes left over in the extra stream', craft(100, 10, [ctrl([0, 10, 0]), [], Buffer.alloc(11)]), 10],
    ['a delta group of zero bytes', craft(100, 10, [ctrl([10, 0, 0]), groups([0, 0, []], [10, 0, []]), []]), 10],
    ['a delta group longer than its operation', craft(100, 10, [ctrl([10, 0, 0]), groups([11, 0, []]), []]), 10],
    ['delta literals running past their segment', craft(100, 10, [ctrl([10, 0, 0]), [0, 10, 1, 2], []]), 10],
    ['a segment that decompresses to more than its header says (a bomb)', craft(100, 10, [ctrl([10, 0, 0]), groups([10, 0, []]), []], (s, raw) => (s === 1 ? raw - 1 : raw)), 10],
    ['a segment that decompresses to less than its header says', craft(100, 10, [ctrl([10, 0, 0]), groups([10, 0, []]), []], (s, raw) => (s === 0 ? raw + 1 : raw)), 10],
  ];
  for (const [name, patch, newSize] of cases) {
    it(name, async () => {
      await expectRejectCode(apply(OLD, patch, newSize, any), 'PATCH_FAILED');
    });
  }

  it('a segment of corrupt brotli data', async () => {
    const patch = craft(100, 10, [ctrl([10, 0, 0]), groups([10, 0, []]), []]);
    // The first bytes of the control segment, right after the 48-byte header and its 3 table entries.
    const at = 48 + 3 * 8;
    for (let i = at; i < at + 4; i++) patch[i] = patch[i]! ^ 0x55;
    await expectRejectCode(apply(OLD, patch, 10, any), 'PATCH_FAILED');
  });

  it('a segment read in several chunks: cut short, with bytes after its end, or with a chunk of garbage', async () => {
    // 600 kB of random extra bytes: brotli stores them nearly as they are, so the segment spans several input chunks.
    const extra = randomBytes(600_000, rng(12));
    const streams = [Buffer.from(ctrl([0, extra.length, 0])), Buffer.alloc(0), extra];
    const build = (edit: (extraSegment: Buffer) => Buffer): Buffer => {
      const compressed: Buffer[] = streams.map((s) => brotliCompressSync(s));
      compressed[2] = edit(compressed[2]!);
      const header = writeHeader(100, extra.length, streams.map((s, i) => [{ raw: s.length, compressed: compressed[i]!.length }]));
      return Buffer.concat([header, ...compressed]);
    };
    expect((await apply(OLD, build((c) => c), extra.length, sha(extra))).equals(extra)).toBe(true);
    await expectRejectCode(apply(OLD, build((c) => c.subarray(0, -100)), extra.length, sha(extra)), 'PATCH_FAILED');
    await expectRejectCode(apply(OLD, build((c) => Buffer.concat([c, Buffer.alloc(200_000)])), extra.length, sha(extra)), 'PATCH_FAILED');
    await expectRejectCode(apply(OLD, build((c) => Buffer.concat([c.subarray(0, 300_000), randomBytes(c.length - 300_000, rng(13))])), extra.length, sha(extra)), 'PATCH_FAILED');
  });
  it('a segment with bytes after the end of its brotli stream', async () => {
    // The decoder is reused from segment to segment: leftovers must not be silently ignored.
    const streams = [Buffer.from(ctrl([10, 0, 0])), Buffer.from(groups([10, 0, []])), Buffer.alloc(0)];
    const compressed = streams.map((s) => brotliCompressSync(s));
    compressed[1] = Buffer.concat([compressed[1]!, Buffer.from([0, 1, 2])]);
    const header = writeHeader(100, 10, streams.map((s, i) => [{ raw: s.length, compressed: compressed[i]!.length }]));
    await expectRejectCode(apply(OLD, Buffer.concat([header, ...compressed]), 10, sha(OLD.subarray(0, 10))), 'PATCH_FAILED');
    // The same patch without the leftovers applies.
    compressed[1] = compressed[1]!.subarray(0, -3);
    const good = writeHeader(100, 10, streams.map((s, i) => [{ raw: s.length, compressed: compressed[i]!.length }]));
    expect(await apply(OLD, Buffer.concat([good, ...compressed]), 10, sha(OLD.subarray(0, 10)))).toEqual(OLD.subarray(0, 10));
  });

  it('a real compression bomb: 64 MiB of zeros declared as 1000 bytes', async () => {
    const bomb = brotliCompressSync(Buffer.alloc(64 * 1024 * 1024));
    const header = writeHeader(100, 10, [[{ raw: 1000, compressed: bomb.length }], [{ raw: 0, compressed: 1 }], [{ raw: 0, compressed: 1 }]]);
    const empty = brotliCompressSync(Buffer.alloc(0));
    const fixed = writeHeader(100, 10, [[{ raw: 1000, compressed: bomb.length }], [{ raw: 0, compressed: empty.length }], [{ raw: 0, compressed: empty.length }]]);
    expect(fixed.length).toBe(header.length);
    await expectRejectCode(apply(OLD, Buffer.concat([fixed, bomb, empty, empty]), 10, any), 'PATCH_FAILED');
  });

  it('header checks: magic, codec, reserved bytes, sizes against the manifest, segment sizes against the patch', async () => {
    const good = craft(100, 10, [ctrl([10, 0, 0]), groups([10, 0, []]), []]);
    const mutate = (at: number, value: number): Buffer => {
      const b = Buffer.from(good);
      b[at] = value;
      return b;
    };
    await expectRejectCode(apply(OLD, mutate(0, 0x58), 10, any), 'PATCH_FAILED'); // magic
    await expectRejectCode(apply(OLD, mutate(8, 2), 10, any), 'PATCH_FAILED'); // codec
    await expectRejectCode(apply(OLD, mutate(12, 1), 10, any), 'PATCH_FAILED'); // reserved
    await expectRejectCode(apply(OLD, mutate(16, 99), 10, any), 'PATCH_FAILED'); // old size 99 != 100
    await expectRejectCode(apply(OLD, good, 11, any), 'PATCH_FAILED'); // new size disagrees with the manifest
    await expectRejectCode(apply(OLD, good.subarray(0, good.length - 1), 10, any), 'PATCH_FAILED'); // truncated
    await expectRejectCode(apply(OLD, Buffer.concat([good, Buffer.alloc(1)]), 10, any), 'PATCH_FAILED'); // trailing byte
    await expectRejectCode(apply(OLD, good.subarray(0, 20), 10, any), 'PATCH_FAILED'); // shorter than the header
    await expectRejectCode(apply(OLD, mutate(32, 0), 10, any), 'PATCH_FAILED'); // a stream without segments
    const huge = Buffer.from(good);
    huge.writeUInt32LE(MAX_SEGMENT_RAW + 1, 48 + 4); // a control segment larger than any segment may be
    await expectRejectCode(apply(OLD, huge, 10, any), 'PATCH_FAILED');
  });

  it('random corruption of a valid patch never escapes as anything but a typed error', async () => {
    const rand = rng(99);
    const old = randomBytes(5000, rand);
    const { next, controls } = randomEdit(old, rand);
    const patch = await encodePatch(old, next, controls, { quality: 1, segmentBytes: 256 });
    for (let i = 0; i < 300; i++) {
      const bad = Buffer.from(patch);
      const flips = 1 + rand(4);
      for (let k = 0; k < flips; k++) bad[rand(bad.length)] = rand(256);
      const result = await apply(old, bad, next.length, sha(next)).then(
        (out) => (out.equals(next) ? 'same' : 'different'),
        (err: unknown) => (err as { code?: string }).code ?? String(err),
      );
      expect(['same', 'PATCH_FAILED', 'CHECKSUM_MISMATCH'], `flip ${i}`).toContain(result);
    }
  });

  it('random corruption of a version 2 patch never escapes as anything but a typed error', async () => {
    const rand = rng(98);
    const old = randomBytes(5000, rand);
    const { next, controls } = randomEdit(old, rand);
    const patch = await encodePatch(old, next, controls, { quality: 1, segmentBytes: 256, layout: 'separate' });
    for (let i = 0; i < 300; i++) {
      const bad = Buffer.from(patch);
      for (let k = 1 + rand(4); k > 0; k--) bad[rand(bad.length)] = rand(256);
      const result = await apply(old, bad, next.length, sha(next)).then(
        (out) => (out.equals(next) ? 'same' : 'different'),
        (err: unknown) => (err as { code?: string }).code ?? String(err),
      );
      expect(['same', 'PATCH_FAILED', 'CHECKSUM_MISMATCH'], `flip ${i}`).toContain(result);
    }
  });
});

/**
 * A patch of streams given as segments, each segment compressed alone (three streams make
 * version 1, four version 2: control, literals, extra, headers); `rawOverride` changes the
 * raw size a stream's segments claim.
 */
function craft2(oldSize: number, newSize: number, streams: (number[] | Buffer)[][], rawOverride?: (s: number, raw: number) => number): Buffer {
  const compressed = streams.map((segments) => segments.map((s) => brotliCompressSync(Buffer.from(s))));
  const header = writeHeader(
    oldSize,
    newSize,
    streams.map((segments, i) => segments.map((s, k) => ({ raw: rawOverride ? rawOverride(i, s.length) : s.length, compressed: compressed[i]![k]!.length }))),
  );
  return Buffer.concat([header, ...compressed.flat()]);
}

function heads(...pairs: [number, number][]): number[] {
  const out: number[] = [];
  for (const [zeros, count] of pairs) {
    pushVarint(out, zeros);
    pushVarint(out, count);
  }
  return out;
}

describe('version 2 patches (group headers in their own stream)', () => {
  const OLD = randomBytes(100, rng(19));
  const any = sha(Buffer.alloc(0));
  const plus = (at: number, by: number[]): Buffer => {
    const b = Buffer.from(OLD.subarray(0, 10));
    by.forEach((d, i) => (b[at + i] = (b[at + i]! + d) & 0xff));
    return b;
  };

  it('applies groups whose literals start a new literal segment, and zero-only groups', async () => {
    // Group 1: 2 equal, 2 changed (segment 1 of the literals); group 2: 1 equal, 3 changed (segment 2); group 3: 2 equal.
    const patch = craft2(100, 10, [[ctrl([10, 0, 0])], [[5, 6], [7, 8, 9]], [[]], [heads([2, 2], [1, 3], [2, 0])]]);
    expect(await apply(OLD, patch, 10, sha(plus(2, [5, 6, 0, 7, 8, 9])))).toEqual(plus(2, [5, 6, 0, 7, 8, 9]));
  });

  const cases: [string, Buffer][] = [
    ['literals running past their segment', craft2(100, 10, [[ctrl([10, 0, 0])], [[5], [6, 7]], [[]], [heads([0, 2], [8, 0])]])],
    ['a header stream that ends early', craft2(100, 10, [[ctrl([10, 0, 0])], [[5]], [[]], [heads([0, 1])]])],
    ['a literal stream that ends early', craft2(100, 10, [[ctrl([10, 0, 0])], [[5]], [[]], [heads([0, 2], [8, 0])]])],
    ['a literal stream with no segment left for a group', craft2(100, 10, [[ctrl([10, 0, 0])], [[5]], [[]], [heads([0, 1], [0, 1], [8, 0])]])],
    ['bytes left over in the header stream', craft2(100, 10, [[ctrl([10, 0, 0])], [[]], [[]], [heads([10, 0], [1, 0])]])],
    ['bytes left over in the literal stream', craft2(100, 10, [[ctrl([10, 0, 0])], [[5, 6]], [[]], [heads([0, 1], [9, 0])]])],
    ['a header group longer than its operation', craft2(100, 10, [[ctrl([10, 0, 0])], [[]], [[]], [heads([11, 0])]])],
    ['a header number cut at the end of its segment', craft2(100, 10, [[ctrl([10, 0, 0])], [[]], [[]], [[0x8a]]])],
    ['a literal stream larger than the new file', craft2(100, 10, [[ctrl([10, 0, 0])], [Buffer.alloc(11)], [[]], [heads([10, 0])]])],
  ];
  for (const [name, patch] of cases) {
    it(name, async () => {
      await expectRejectCode(apply(OLD, patch, 10, any), 'PATCH_FAILED');
    });
  }

  it('a version 1 patch with a fourth segment count (its reserved field) is refused', async () => {
    const v1 = craft(100, 10, [ctrl([10, 0, 0]), groups([10, 0, []]), []]);
    v1.writeUInt32LE(1, 44);
    await expectRejectCode(apply(OLD, v1, 10, any), 'PATCH_FAILED');
  });
});
