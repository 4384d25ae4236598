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
 * handle is not what Node 20-24 provide). Segments are small, so the pause is about a
 * millisecond each.
 *
 * Encoders never split a varint or a literal run across segments, so everything
 * inside a segment is read synchronously and only moving to the next segment waits.
 *
 * @module
 */
import { type BrotliDecompress, brotliDecompressSync, constants, createBrotliDecompress } from 'node:zlib';
import type { FileLike } from '../io/file-system.js';
import { MAX_SEGMENT_RAW, type Segment, patchFailed } from './format.js';

/** Brotli never grows data by more than a few bytes per 64 KiB; anything larger is not a segment of ours. */
const MAX_COMPRESSED = MAX_SEGMENT_RAW + (MAX_SEGMENT_RAW >> 4) + 1024;

/** The parts of a zlib stream's native handle the decoder uses (internal to node:zlib, hence checked). */
interface RawHandle {
  writeSync(flush: number, input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number, outLength: number): void;
}

/**
 * Decompresses whole brotli segments into buffers the caller owns, with one decoder
 * reused (reset) for every segment of a patch. Shared by the three streams of an apply:
 * loading a segment is synchronous from the read on, so they never interleave.
 */
export class SegmentDecoder {
  #engine: BrotliDecompress | null = null;
  #error: Error | null = null;
  /** Compressed bytes of the segment being loaded, reused. */
  #input: Buffer = Buffer.alloc(0);

  /** A buffer of at least `size` bytes for compressed input (valid until the next call). */
  input(size: number): Buffer {
    if (this.#input.length < size) this.#input = Buffer.allocUnsafe(size);
    return this.#input.subarray(0, size);
  }

  /**
   * Decompresses `compressed`, which must hold exactly one brotli stream of `raw` bytes.
   * Writes into `into` (at least raw + 1 bytes) when it can; returns the bytes, or throws
   * an Error saying what is wrong.
   */
  decode(compressed: Buffer, raw: number, into: Buffer): Buffer {
    const engine = this.#open();
    const handle = (engine as unknown as { _handle?: RawHandle | null })._handle;
    const state = (engine as unknown as { _writeState?: unknown })._writeState;
    if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array) || into.length < raw + 1) {
      return brotliDecompressSync(compressed, { maxOutputLength: Math.max(1, raw), chunkSize: Math.max(64, raw + 1) });
    }
    // One room more than the segment should need: a stream that fills it is too long.
    handle.writeSync(constants.BROTLI_OPERATION_FINISH, compressed, 0, compressed.length, into, 0, raw + 1);
    if (engine.destroyed || this.#error) {
      // The handle reported corrupt or truncated input (and closed itself).
      const message = this.#error?.message ?? 'corrupt brotli data';
      this.#engine = null;
      this.#error = null;
      throw new Error(message);
    }
    const produced = raw + 1 - state[0]!;
    const unread = state[1]!;
    (engine as unknown as { reset(): void }).reset();
    if (unread !== 0) throw new Error(`${unread} bytes after the end of the brotli stream`);
    if (produced > raw) throw new Error(`more than the ${raw} bytes its header says`);
    return into.subarray(0, produced);
  }

  close(): void {
    this.#engine?.close();
    this.#engine = null;
    this.#input = Buffer.alloc(0);
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
  /** Where segments are decompressed, sized for the largest (allocated at the first load). */
  #output: Buffer = Buffer.alloc(0);
  /** The current segment's bytes and the read position in them. */
  bytes: Buffer = Buffer.alloc(0);
  pos = 0;

  constructor(patch: FileLike, segments: readonly Segment[], name: string, decoder: SegmentDecoder) {
    this.#patch = patch;
    this.#segments = segments;
    this.#name = name;
    this.#decoder = decoder;
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
    this.#output = Buffer.alloc(0);
    this.pos = 0;
  }

  async #load(index: number): Promise<Buffer> {
    const seg = this.#segments[index]!;
    if (seg.compressed > MAX_COMPRESSED) throw patchFailed(`patch ${this.#name} segment ${index} is ${seg.compressed} bytes compressed, more than a segment can be`);
    if (this.#output.length === 0) {
      const largest = this.#segments.reduce((m, s) => Math.max(m, s.raw), 0); // at most MAX_SEGMENT_RAW (parseHeader)
      this.#output = Buffer.allocUnsafe(largest + 1);
    }
    const compressed = this.#decoder.input(seg.compressed);
    let got = 0;
    while (got < seg.compressed) {
      const { bytesRead } = await this.#patch.read(compressed, got, seg.compressed - got, seg.offset + got);
      if (bytesRead === 0) throw patchFailed(`patch ends inside ${this.#name} segment ${index}`);
      got += bytesRead;
    }
    let raw: Buffer;
    try {
      raw = this.#decoder.decode(compressed, seg.raw, this.#output);
    } catch (err) {
      throw patchFailed(`patch ${this.#name} segment ${index} does not decompress: ${(err as Error).message}`);
    }
    if (raw.length !== seg.raw) throw patchFailed(`patch ${this.#name} segment ${index} holds ${raw.length} bytes, its header says ${seg.raw}`);
    return raw;
  }
}
