/**
 * Reading one stream of a patch: its segments are read from the patch by position,
 * decompressed one at a time, and consumed through a cursor.
 *
 * Decompression is synchronous and into a buffer the stream owns and reuses from
 * segment to segment. node:zlib's one-shot and stream APIs both allocate a fresh
 * output buffer per call, and V8 frees such external memory lazily: it let about
 * 40 MiB of dead segments pile up before a collection, which was most of the
 * applier's peak RSS. {@link SegmentDecoder} drives the zlib handle of one reused
 * BrotliDecompress stream directly (falling back to brotliDecompressSync where that
 * handle is not what Node 20-24 provide), feeding it the compressed bytes a chunk at
 * a time. Segments are small, so the pause is about a millisecond each.
 *
 * Encoders never split a varint or a literal run across segments, so everything
 * inside a segment is read synchronously and only moving to the next segment waits.
 *
 * @module
 */
import { type BrotliDecompress, brotliDecompressSync, constants, createBrotliDecompress } from 'node:zlib';
import { UpdateError } from '../errors.js';
import type { FileLike } from '../io/file-system.js';
import { MAX_SEGMENT_RAW, type Segment, patchFailed } from './format.js';
import { viewOf } from './old-gather.js';
import { readFully } from './read-at.js';

/** Brotli never grows data by more than a few bytes per 64 KiB; anything larger is not a segment of ours. */
const MAX_COMPRESSED = MAX_SEGMENT_RAW + (MAX_SEGMENT_RAW >> 4) + 1024;
/**
 * Compressed bytes are read and fed to the decoder this many at a time: a whole
 * compressed segment (up to 2 MiB) held at once would sit on top of the decoder's own
 * ring buffer and the three streams' segments at the applier's peak.
 */
const INPUT_CHUNK = 128 * 1024;

/** The parts of a zlib stream's native handle the decoder uses (internal to node:zlib, hence checked). */
interface RawHandle {
  writeSync(flush: number, input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number, outLength: number): void;
}

/**
 * Decompresses whole brotli segments into buffers the caller owns, with one decoder
 * reused (reset) for every segment of a patch, fed the compressed bytes a chunk at a
 * time. Shared by the three streams of an apply, which load their segments one after
 * the other, never two at once.
 */
export class SegmentDecoder {
  #engine: BrotliDecompress | null = null;
  #error: Error | null = null;
  #input: Buffer = Buffer.alloc(0);
  #busy = false;

  /**
   * Reads the `compressed` bytes at `offset` of `patch`, which must hold exactly one
   * brotli stream of `raw` bytes, and decompresses them, into `into` (at least raw + 1
   * bytes) where it can. Returns the bytes. A read that comes up short throws what
   * `short()` returns; corrupt data throws an Error saying what is wrong.
   */
  async decode(patch: FileLike, offset: number, compressed: number, raw: number, into: Buffer, short: () => Error): Promise<Buffer> {
    if (this.#busy) throw new Error('SegmentDecoder: one segment at a time');
    this.#busy = true;
    try {
      const engine = this.#open();
      const handle = (engine as unknown as { _handle?: RawHandle | null })._handle;
      const state = (engine as unknown as { _writeState?: unknown })._writeState;
      if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array) || into.length < raw + 1) {
        const whole = this.#buffer(compressed);
        await readFully(patch, whole, offset, short);
        return brotliDecompressSync(whole, { maxOutputLength: Math.max(1, raw), chunkSize: Math.max(64, raw + 1) });
      }
      let produced = 0;
      try {
        for (let done = 0; done < compressed; ) {
          const n = Math.min(INPUT_CHUNK, compressed - done);
          const chunk = this.#buffer(n);
          await readFully(patch, chunk, offset + done, short);
          done += n;
          const last = done === compressed;
          // One room more than the segment should need: a stream that fills it is too long.
          handle.writeSync(last ? constants.BROTLI_OPERATION_FINISH : constants.BROTLI_OPERATION_PROCESS, chunk, 0, n, into, produced, raw + 1 - produced);
          if (engine.destroyed || this.#error) {
            // The handle reported corrupt or truncated input (and closed itself).
            const message = this.#error?.message ?? 'corrupt brotli data';
            this.#engine = null;
            this.#error = null;
            throw new Error(message);
          }
          produced = raw + 1 - state[0]!;
          const unread = state[1]!;
          if (produced > raw) throw new Error(`more than the ${raw} bytes its header says`);
          if (unread !== 0) throw new Error(`${unread + compressed - done} bytes after the end of the brotli stream`);
        }
      } finally {
        // Also after a failure: the next segment starts from a clean decoder.
        if (this.#engine) (this.#engine as unknown as { reset(): void }).reset();
      }
      return into.subarray(0, produced);
    } finally {
      this.#busy = false;
    }
  }

  close(): void {
    this.#engine?.close();
    this.#engine = null;
    this.#input = Buffer.alloc(0);
  }

  /** A buffer of at least `size` bytes for compressed input (valid until the next call). */
  #buffer(size: number): Buffer {
    if (this.#input.length < size) this.#input = Buffer.allocUnsafe(size);
    return this.#input.subarray(0, size);
  }

  #open(): BrotliDecompress {
    if (this.#engine) return this.#engine;
    // chunkSize 64: the stream's own output buffer is never used; keep it tiny.
    const engine = createBrotliDecompress({ chunkSize: 64 });
    // A handle error is also emitted (on the next tick); without a listener it would be uncaught.
    engine.on('error', (err: Error) => {
      this.#error ??= err;
    });
    this.#engine = engine;
    return engine;
  }
}

export const STREAM_NAMES = ['control', 'delta', 'extra', 'delta header'] as const;

export class SegmentStream {
  readonly #patch: FileLike;
  readonly #segments: readonly Segment[];
  readonly #name: string;
  readonly #decoder: SegmentDecoder;
  #next = 0;
  /** Where segments are decompressed, sized for the largest. */
  #output: Buffer;
  /** The current segment's bytes, a DataView over them, and the read position in them. */
  bytes: Buffer = Buffer.alloc(0);
  view: DataView = viewOf(this.bytes);
  pos = 0;

  constructor(patch: FileLike, segments: readonly Segment[], name: string, decoder: SegmentDecoder) {
    this.#patch = patch;
    this.#segments = segments;
    this.#name = name;
    this.#decoder = decoder;
    // Allocated up front, before the decoder's first ring buffer is freed: glibc then
    // raises its mmap threshold, and a segment buffer allocated after that would come
    // from the heap, between ring buffers, where freed rings fragment it.
    const largest = segments.reduce((m, s) => Math.max(m, s.raw), 0); // at most MAX_SEGMENT_RAW (parseHeader)
    this.#output = Buffer.allocUnsafe(largest + 1);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** True when every segment has been loaded and the last one consumed. */
  get ended(): boolean {
    return this.#next >= this.#segments.length && this.pos >= this.bytes.length;
  }

  /** Moves to the next segment; false when there is none. */
  async advance(): Promise<boolean> {
    if (this.#next >= this.#segments.length) return false;
    const index = this.#next++;
    this.bytes = await this.#load(index);
    this.view = viewOf(this.bytes);
    this.pos = 0;
    return true;
  }

  /** Ensures at least one unread byte; false at the end of the stream. */
  async fill(): Promise<boolean> {
    while (this.remaining === 0) if (!(await this.advance())) return false;
    return true;
  }

  /** Reads an unsigned LEB128 varint that must lie wholly in the current segment. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.bytes.length) throw patchFailed(`patch ${this.#name} stream: a number runs past its segment`);
      const b = this.bytes[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(value)) break;
        // A final 0 byte after the first is a non-canonical encoding: refuse it so every number has one form.
        if (b === 0 && i > 0) throw patchFailed(`patch ${this.#name} stream: a number is not minimally encoded`);
        return value;
      }
      scale *= 128;
    }
    throw patchFailed(`patch ${this.#name} stream: a number is too large`);
  }

  /** Drops the current segment. */
  close(): void {
    this.bytes = Buffer.alloc(0);
    this.view = viewOf(this.bytes);
    this.#output = Buffer.alloc(0);
    this.pos = 0;
  }

  async #load(index: number): Promise<Buffer> {
    const seg = this.#segments[index]!;
    if (seg.compressed > MAX_COMPRESSED) throw patchFailed(`patch ${this.#name} segment ${index} is ${seg.compressed} bytes compressed, more than a segment can be`);
    const short = (): Error => patchFailed(`patch ends inside ${this.#name} segment ${index}`);
    let raw: Buffer;
    try {
      raw = await this.#decoder.decode(this.#patch, seg.offset, seg.compressed, seg.raw, this.#output, short);
    } catch (err) {
      if (err instanceof UpdateError) throw err;
      throw patchFailed(`patch ${this.#name} segment ${index} does not decompress: ${(err as Error).message}`);
    }
    if (raw.length !== seg.raw) throw patchFailed(`patch ${this.#name} segment ${index} holds ${raw.length} bytes, its header says ${seg.raw}`);
    return raw;
  }
}
