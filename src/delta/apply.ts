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
import { type GatherList, OldGatherer, copyBytes, offsetArray, viewOf } from './old-gather.js';
import { readFully } from './read-at.js';
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

/**
 * New bytes built per batch, in one buffer: each run's old bytes are gathered straight to
 * their place in it, the delta is added there and the extra bytes copied in after them,
 * then the whole batch is hashed and written. Also the most old bytes a batch reads.
 */
const BATCH_BYTES = 2 * 1024 * 1024;
/** Runs (operations, or pieces of one) per batch. */
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
  const ops = new OperationReader(control, header.oldSize, header.newSize);
  const gatherer = new OldGatherer(files.old, header.oldSize, BATCH_RUNS, BATCH_BYTES);
  const out = new OutputWriter(files.out, gatherer.output);
  const groups = new DeltaGroups(streams[DELTA]!, streams[HEADERS] ?? null);
  const builder = new BatchBuilder(groups, extra, out.buffer);
  try {
    // Each batch: plan the next operations (pieces of at most BATCH_BYTES new bytes),
    // gather their old bytes in one sorted sweep straight into the output buffer, add
    // the delta and the extra bytes in output order, hash and write. Planning and
    // sorting the next batch do not touch the buffer, so they overlap the last write.
    for (;;) {
      if (files.signal?.aborted) throw new UpdateError('ABORTED', 'patching was aborted', { cause: files.signal.reason });
      const batch = await ops.next();
      if (batch.count === 0) break;
      gatherer.sort(batch);
      await out.idle();
      await gatherer.gather(batch);
      // The per-byte work is synchronous; it stops only when a delta or extra segment runs out.
      for (let need = builder.start(batch); need !== DONE; need = builder.resume()) {
        if (need === NEED_DELTA) await groups.refill();
        else if (!(await extra.fill())) throw patchFailed('patch extra stream ends early');
      }
      out.write(batch.bytes);
    }
    await out.idle();
    // Every stream must be used up exactly: leftovers mean the patch is not what was verified.
    for (const [s, stream] of streams.entries()) {
      while (stream.remaining === 0 && (await stream.advance()));
      if (stream.remaining > 0) throw patchFailed(`patch ${STREAM_NAMES[s]} stream has bytes left over`);
    }
  } finally {
    await out.idle().catch(() => undefined); // the caller may close the file once this returns
    for (const s of streams) s.close();
    decoder.close();
  }
  if (out.written !== header.newSize) throw patchFailed(`patch produced ${out.written} bytes, expected ${header.newSize}`);
  const sha256 = out.digest();
  if (sha256 !== target.sha256) {
    throw new UpdateError('CHECKSUM_MISMATCH', 'the patched file does not match its SHA-256', { details: { expected: target.sha256, actual: sha256 } });
  }
}

const DONE = 0;
const NEED_DELTA = 1;
const NEED_EXTRA = 2;

/**
 * Completes a gathered batch in place: the delta over each run's old bytes, then the
 * run's extra bytes after them. Synchronous, and resumable where a segment runs out:
 * the loop over hundreds of thousands of runs used to live in the async applyPatch,
 * which TurboFan re-optimised five times at 45-170 ms each (and ~11 MiB of compiler
 * zone memory, kept by the malloc arenas of its threads).
 */
class BatchBuilder {
  readonly #groups: DeltaGroups;
  readonly #extra: SegmentStream;
  /** The batch buffer (the gatherer's output), and a DataView over it. */
  readonly #buffer: Buffer;
  readonly #view: DataView;
  #batch: Batch | null = null;
  // The run in progress: its index, old bytes covered by the delta so far, extra bytes copied so far.
  #r = 0;
  #done = 0;
  #inserted = 0;
  #fresh = true;

  constructor(groups: DeltaGroups, extra: SegmentStream, buffer: Buffer) {
    this.#groups = groups;
    this.#extra = extra;
    this.#buffer = buffer;
    this.#view = viewOf(buffer);
  }

  start(batch: Batch): number {
    this.#batch = batch;
    this.#r = 0;
    this.#done = 0;
    this.#inserted = 0;
    this.#fresh = true;
    return this.resume();
  }

  /** Continues the batch; returns DONE, or which segment ran out. */
  resume(): number {
    const b = this.#batch!;
    const buf = this.#buffer;
    const view = this.#view;
    const groups = this.#groups;
    const extra = this.#extra;
    let r = this.#r;
    let done = this.#done;
    let inserted = this.#inserted;
    let fresh = this.#fresh;
    let need = DONE;
    for (; r < b.count; r++, done = 0, inserted = 0, fresh = true) {
      const at = b.at[r]!;
      const length = b.length[r]!;
      if (fresh && b.starts[r] === 1) groups.startOperation(b.total[r]!);
      if (done < length) {
        done += groups.add(buf, at + done, length - done);
        if (done < length) {
          need = NEED_DELTA;
          break;
        }
      }
      const insert = b.insert[r]!;
      while (inserted < insert) {
        const n = Math.min(insert - inserted, extra.remaining);
        if (n === 0) break;
        copyBytes(extra.bytes, extra.view, extra.pos, buf, view, at + length + inserted, n);
        extra.pos += n;
        inserted += n;
      }
      if (inserted < insert) {
        need = NEED_EXTRA;
        break;
      }
    }
    this.#r = r;
    this.#done = done;
    this.#inserted = inserted;
    this.#fresh = false;
    return need;
  }
}

/**
 * A batch of operations, split into runs that fit the batch buffer: each run is old bytes
 * (plus their delta) followed by extra bytes, laid out back to back from offset 0.
 */
interface Batch extends GatherList {
  /** New bytes the batch makes: the end of its last run. */
  bytes: number;
  /** 1 when the run is the first of its operation. */
  readonly starts: Uint8Array;
  /** The operation's add length (for the first run). */
  readonly total: Float64Array | Uint32Array;
  /** New bytes from the extra stream after the run's old bytes. */
  readonly insert: Uint32Array;
}

/**
 * Decodes and checks control triples into batches. State carries across batches: an
 * operation larger than the batch buffer continues in the next one.
 */
class OperationReader {
  readonly #control: SegmentStream;
  readonly #oldSize: number;
  readonly #newSize: number;
  readonly #batch: Batch;
  #planned = 0; // new bytes accounted for by the operations read so far
  #oldPos = 0;
  #addLeft = 0;
  #insertLeft = 0;
  #seek = 0;
  #inOperation = false;
  #first = false;

  constructor(control: SegmentStream, oldSize: number, newSize: number) {
    this.#control = control;
    this.#oldSize = oldSize;
    this.#newSize = newSize;
    this.#batch = {
      count: 0,
      bytes: 0,
      position: offsetArray(BATCH_RUNS, oldSize),
      length: new Uint32Array(BATCH_RUNS),
      at: new Uint32Array(BATCH_RUNS),
      starts: new Uint8Array(BATCH_RUNS),
      total: offsetArray(BATCH_RUNS, newSize),
      insert: new Uint32Array(BATCH_RUNS),
    };
  }

  async next(): Promise<Batch> {
    const b = this.#batch;
    b.count = 0;
    b.bytes = 0;
    // Awaited only when a control segment runs out: an await per operation cost a
    // promise, a suspended frame and a microtask turn each, hundreds of thousands per file.
    while (!this.#plan(b)) {
      if (!(await this.#control.fill())) throw patchFailed(`patch control stream ends at byte ${this.#planned} of ${this.#newSize}`);
    }
    return b;
  }

  /** Adds runs to the batch until it is full or the operations end; false when the control segment ran out first. */
  #plan(b: Batch): boolean {
    const c = this.#control;
    let bytes = b.bytes;
    while (b.count < BATCH_RUNS && bytes < BATCH_BYTES) {
      if (!this.#inOperation) {
        if (this.#planned === this.#newSize) break;
        if (c.pos === c.bytes.length) {
          b.bytes = bytes;
          return false;
        }
        this.#readOperation();
      }
      const room = BATCH_BYTES - bytes;
      const take = Math.min(this.#addLeft, room);
      const insert = take === this.#addLeft ? Math.min(this.#insertLeft, room - take) : 0;
      const r = b.count++;
      b.position[r] = this.#oldPos;
      b.length[r] = take;
      b.at[r] = bytes;
      b.starts[r] = this.#first ? 1 : 0;
      b.total[r] = this.#first ? this.#addLeft : 0;
      b.insert[r] = insert;
      this.#first = false;
      bytes += take + insert;
      this.#oldPos += take;
      this.#addLeft -= take;
      this.#insertLeft -= insert;
      if (this.#addLeft === 0 && this.#insertLeft === 0) {
        this.#oldPos += this.#seek;
        if (!Number.isSafeInteger(this.#oldPos) || Math.abs(this.#oldPos) > 2 ** 52) throw patchFailed('patch seeks out of range');
        this.#inOperation = false;
      }
    }
    b.bytes = bytes;
    return true;
  }

  #readOperation(): void {
    const c = this.#control;
    const x = c.varint();
    const y = c.varint();
    const z = unzigzag(c.varint());
    const room = this.#newSize - this.#planned;
    if (x > room || y > room - x) throw patchFailed(`patch writes past the end of the new file (at ${this.#planned}: ${x} + ${y} of ${this.#newSize})`);
    if (x > 0 && (this.#oldPos < 0 || x > this.#oldSize - this.#oldPos)) throw patchFailed(`patch reads outside the old file (${x} bytes at ${this.#oldPos} of ${this.#oldSize})`);
    if (x === 0 && y === 0 && z === 0) throw patchFailed('patch has an empty operation');
    this.#planned += x + y;
    this.#addLeft = x;
    this.#insertLeft = y;
    this.#seek = z;
    this.#inOperation = true;
    this.#first = true;
  }
}

/** Hashes and writes each finished batch; the batch buffer is free again when {@link idle} resolves. */
class OutputWriter {
  readonly #file: FileLike;
  readonly #hash = createHash('sha256');
  readonly buffer: Buffer;
  #writing: Promise<void> = Promise.resolve();
  written = 0;

  constructor(file: FileLike, buffer: Buffer) {
    this.#file = file;
    this.buffer = buffer;
  }

  /** Starts writing the first `n` bytes of the buffer and hashes them meanwhile. */
  write(n: number): void {
    const bytes = this.buffer.subarray(0, n);
    this.#writing = writeAll(this.#file, bytes, this.written);
    this.#writing.catch(() => undefined); // observed by idle()
    this.#hash.update(bytes);
    this.written += n;
  }

  /** Resolves when the last write is done (rejects if it failed). */
  idle(): Promise<void> {
    return this.#writing;
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}

async function writeAll(file: FileLike, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += (await file.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
}

async function readExactly(file: FileLike, position: number, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  await readFully(file, out, position, () => patchFailed('patch is truncated'));
  return out;
}
