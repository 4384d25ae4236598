/**
 * Applies a twinslot patch, streaming: the new file is built in a buffer and written
 * sequentially while it is hashed; each patch stream is decompressed one bounded
 * segment at a time; the old file is read by position, a batch of operations at a
 * time (see old-gather.ts). Memory stays at a few MiB whatever the file sizes; no
 * native module is involved.
 *
 * Every number in the patch is checked before it is used: an operation that would
 * read outside the old file or write past the new size, streams that end early or
 * have bytes left over, sizes that disagree with the manifest, all end in
 * `PATCH_FAILED` (bspatch's CVE-2014-9862 was a missing check of exactly this kind).
 * The output is accepted only when its SHA-256 matches the manifest.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { UpdateError } from '../errors.js';
import type { FileLike } from '../io/file-system.js';
import { DeltaGroups } from './delta-groups.js';
import { CONTROL, DELTA, EXTRA, FIXED_HEADER_SIZE, HEADERS, type PatchHeader, headerSizeOf, parseHeader, patchFailed, unzigzag } from './format.js';
import { type GatherList, OldGatherer, copyBytes } from './old-gather.js';
import { STREAM_NAMES, SegmentDecoder, SegmentStream } from './segments.js';

export interface PatchTarget {
  readonly oldSize: number;
  readonly newSize: number;
  /** SHA-256 the output must have. */
  readonly sha256: string;
}

export interface PatchFiles {
  /** Read by position only. */
  readonly old: FileLike;
  readonly patch: FileLike;
  readonly patchSize: number;
  /** Written sequentially from position 0; the caller truncates, syncs and closes it. */
  readonly out: FileLike;
  readonly signal?: AbortSignal | undefined;
}

const OUT_BLOCK = 512 * 1024;
/** Old bytes gathered per batch, and operations (or pieces of one) per batch. */
const BATCH_BYTES = 2 * 1024 * 1024;
const BATCH_RUNS = 32 * 1024;

/** Reads the header of a patch and checks it against the sizes the manifest states. */
export async function readPatchHeader(patch: FileLike, patchSize: number, target: Pick<PatchTarget, 'oldSize' | 'newSize'>): Promise<PatchHeader> {
  if (patchSize < FIXED_HEADER_SIZE) throw patchFailed(`patch of ${patchSize} bytes is shorter than its header`);
  const fixed = await readExactly(patch, 0, FIXED_HEADER_SIZE);
  const size = headerSizeOf(fixed);
  if (size > patchSize) throw patchFailed('patch header is longer than the patch');
  const header = size === FIXED_HEADER_SIZE ? fixed : await readExactly(patch, 0, size);
  return parseHeader(header, patchSize, target.oldSize, target.newSize);
}

/**
 * Applies the patch to `old`, writing the new file to `out`. Resolves when every byte
 * is written and the output's SHA-256 matched `target.sha256`.
 */
export async function applyPatch(files: PatchFiles, target: PatchTarget): Promise<void> {
  const header = await readPatchHeader(files.patch, files.patchSize, target);
  const decoder = new SegmentDecoder();
  const streams = header.streams.map((segments, s) => new SegmentStream(files.patch, segments, STREAM_NAMES[s]!, decoder));
  const control = streams[CONTROL]!;
  const extra = streams[EXTRA]!;
  const groups = new DeltaGroups(streams[DELTA]!, streams[HEADERS] ?? null);
  const ops = new OperationReader(control, header.oldSize, header.newSize);
  const gatherer = new OldGatherer(files.old, header.oldSize, BATCH_RUNS);
  const gathered = Buffer.allocUnsafe(BATCH_BYTES);
  const out = new OutputWriter(files.out);
  try {
    // Each batch: read the next operations (pieces of at most BATCH_BYTES old bytes),
    // gather their old bytes in one sorted sweep, then build the output in order.
    for (;;) {
      if (files.signal?.aborted) throw new UpdateError('ABORTED', 'patching was aborted', { cause: files.signal.reason });
      const batch = await ops.next();
      if (batch.count === 0) break;
      await gatherer.gather(batch, gathered);
      for (let r = 0; r < batch.count; r++) {
        if (batch.starts[r] === 1) groups.startOperation(batch.total[r]!);
        // The old bytes, copied in, then the delta groups' literals added over the changed ones.
        let left = batch.length[r]!;
        let from = batch.at[r]!;
        while (left > 0) {
          if (out.space === 0) await out.flush();
          const n = Math.min(left, out.space);
          const block = out.block;
          const base = out.fill;
          copyBytes(gathered, from, block, base, n);
          let p = groups.add(block, base, n);
          while (p < n) {
            await groups.refill();
            p += groups.add(block, base + p, n - p);
          }
          out.fill += n;
          from += n;
          left -= n;
        }
        // Then the operation's new bytes, straight from the extra stream.
        let insert = batch.insert[r]!;
        while (insert > 0) {
          if (extra.remaining === 0 && !(await extra.fill())) throw patchFailed('patch extra stream ends early');
          if (out.space === 0) await out.flush();
          const n = Math.min(insert, extra.remaining, out.space);
          copyBytes(extra.bytes, extra.pos, out.block, out.fill, n);
          out.fill += n;
          extra.pos += n;
          insert -= n;
        }
      }
    }
    // Every stream must be used up exactly: leftovers mean the patch is not what was verified.
    for (const [s, stream] of streams.entries()) {
      while (stream.remaining === 0 && (await stream.advance()));
      if (stream.remaining > 0) throw patchFailed(`patch ${STREAM_NAMES[s]} stream has bytes left over`);
    }
    await out.finish();
  } finally {
    for (const s of streams) s.close();
    decoder.close();
  }
  if (out.written !== header.newSize) throw patchFailed(`patch produced ${out.written} bytes, expected ${header.newSize}`);
  const sha256 = out.digest();
  if (sha256 !== target.sha256) {
    throw new UpdateError('CHECKSUM_MISMATCH', 'the patched file does not match its SHA-256', { details: { expected: target.sha256, actual: sha256 } });
  }
}

/** A batch of operations, split into runs of old bytes that fit the gather buffer. */
interface Batch extends GatherList {
  /** 1 when the run is the first of its operation. */
  readonly starts: Uint8Array;
  /** The operation's add length (for the first run). */
  readonly total: Float64Array;
  /** New bytes from the extra stream after the run (on an operation's last run). */
  readonly insert: Float64Array;
}

/**
 * Decodes and checks control triples into batches. State carries across batches: an
 * operation larger than the gather buffer continues in the next one.
 */
class OperationReader {
  readonly #control: SegmentStream;
  readonly #oldSize: number;
  readonly #newSize: number;
  readonly #batch: Batch = {
    count: 0,
    position: new Float64Array(BATCH_RUNS),
    length: new Uint32Array(BATCH_RUNS),
    at: new Uint32Array(BATCH_RUNS),
    starts: new Uint8Array(BATCH_RUNS),
    total: new Float64Array(BATCH_RUNS),
    insert: new Float64Array(BATCH_RUNS),
  };
  #planned = 0; // new bytes accounted for by the operations read so far
  #oldPos = 0;
  #addLeft = 0;
  #insert = 0;
  #seek = 0;
  #inOperation = false;
  #first = false;

  constructor(control: SegmentStream, oldSize: number, newSize: number) {
    this.#control = control;
    this.#oldSize = oldSize;
    this.#newSize = newSize;
  }

  async next(): Promise<Batch> {
    const b = this.#batch;
    b.count = 0;
    let bytes = 0;
    while (b.count < BATCH_RUNS) {
      if (!this.#inOperation) {
        if (this.#planned === this.#newSize) break;
        await this.#readOperation();
      }
      const take = Math.min(this.#addLeft, BATCH_BYTES - bytes);
      if (take === 0 && this.#addLeft > 0) break; // the gather buffer is full
      const r = b.count++;
      b.position[r] = this.#oldPos;
      b.length[r] = take;
      b.at[r] = bytes;
      b.starts[r] = this.#first ? 1 : 0;
      b.total[r] = this.#first ? this.#addLeft : 0;
      this.#first = false;
      bytes += take;
      this.#oldPos += take;
      this.#addLeft -= take;
      if (this.#addLeft === 0) {
        b.insert[r] = this.#insert;
        this.#oldPos += this.#seek;
        if (!Number.isSafeInteger(this.#oldPos) || Math.abs(this.#oldPos) > 2 ** 52) throw patchFailed('patch seeks out of range');
        this.#inOperation = false;
      } else {
        b.insert[r] = 0;
      }
    }
    return b;
  }

  async #readOperation(): Promise<void> {
    const c = this.#control;
    if (c.remaining === 0 && !(await c.fill())) throw patchFailed(`patch control stream ends at byte ${this.#planned} of ${this.#newSize}`);
    const x = c.varint();
    const y = c.varint();
    const z = unzigzag(c.varint());
    const room = this.#newSize - this.#planned;
    if (x > room || y > room - x) throw patchFailed(`patch writes past the end of the new file (at ${this.#planned}: ${x} + ${y} of ${this.#newSize})`);
    if (x > 0 && (this.#oldPos < 0 || x > this.#oldSize - this.#oldPos)) throw patchFailed(`patch reads outside the old file (${x} bytes at ${this.#oldPos} of ${this.#oldSize})`);
    if (x === 0 && y === 0 && z === 0) throw patchFailed('patch has an empty operation');
    this.#planned += x + y;
    this.#addLeft = x;
    this.#insert = y;
    this.#seek = z;
    this.#inOperation = true;
    this.#first = true;
  }
}

/** Builds the new file in blocks; a full block is hashed and written while the next one fills. */
class OutputWriter {
  readonly #file: FileLike;
  readonly #hash = createHash('sha256');
  #spare = Buffer.allocUnsafe(OUT_BLOCK);
  #writing: Promise<void> = Promise.resolve();
  block = Buffer.allocUnsafe(OUT_BLOCK);
  fill = 0;
  written = 0;

  constructor(file: FileLike) {
    this.#file = file;
  }

  get space(): number {
    return OUT_BLOCK - this.fill;
  }

  async finish(): Promise<void> {
    if (this.fill > 0) await this.flush();
    await this.#writing;
  }

  digest(): string {
    return this.#hash.digest('hex');
  }

  async flush(): Promise<void> {
    const block = this.block.subarray(0, this.fill);
    const position = this.written;
    this.#hash.update(block);
    this.written += block.length;
    // Wait for the previous block's write (its buffer is the one we fill next), then start this one.
    await this.#writing;
    this.#writing = writeAll(this.#file, block, position);
    this.#writing.catch(() => undefined); // observed by the next flush or finish
    [this.block, this.#spare] = [this.#spare, this.block];
    this.fill = 0;
  }
}

async function writeAll(file: FileLike, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += (await file.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
}

async function readExactly(file: FileLike, position: number, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await file.read(out, got, length - got, position + got);
    if (bytesRead === 0) throw patchFailed('patch is truncated');
    got += bytesRead;
  }
  return out;
}
