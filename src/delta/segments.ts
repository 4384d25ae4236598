/**
 * Reading one stream of a patch: its segments are read from the patch by position,
 * decompressed one at a time, and consumed through a cursor.
 *
 * Decompression is synchronous and into one buffer of the segment's exact size: the
 * asynchronous API gathers 16 KiB pieces and concatenates them, which doubles the
 * garbage per segment, and V8 frees such external buffers lazily (measured: about
 * 40 MiB of dead segments before a collection). Segments are small, so the pause is
 * about a millisecond each.
 *
 * Encoders never split a varint or a literal run across segments, so everything
 * inside a segment is read synchronously and only moving to the next segment waits.
 *
 * @module
 */
import { brotliDecompressSync } from 'node:zlib';
import type { FileLike } from '../io/file-system.js';
import { MAX_SEGMENT_RAW, type Segment, patchFailed } from './format.js';

/** Brotli never grows data by more than a few bytes per 64 KiB; anything larger is not a segment of ours. */
const MAX_COMPRESSED = MAX_SEGMENT_RAW + (MAX_SEGMENT_RAW >> 4) + 1024;

export const STREAM_NAMES = ['control', 'delta', 'extra'] as const;

export class SegmentStream {
  readonly #patch: FileLike;
  readonly #segments: readonly Segment[];
  readonly #name: string;
  #next = 0;
  /** Compressed bytes of the segment being loaded, reused from segment to segment. */
  #input: Buffer = Buffer.alloc(0);
  /** The current segment's bytes and the read position in them. */
  bytes: Buffer = Buffer.alloc(0);
  pos = 0;

  constructor(patch: FileLike, segments: readonly Segment[], name: string) {
    this.#patch = patch;
    this.#segments = segments;
    this.#name = name;
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
    this.bytes = Buffer.alloc(0); // let the previous segment go before the next is allocated
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
    this.pos = 0;
  }

  async #load(index: number): Promise<Buffer> {
    const seg = this.#segments[index]!;
    if (seg.compressed > MAX_COMPRESSED) throw patchFailed(`patch ${this.#name} segment ${index} is ${seg.compressed} bytes compressed, more than a segment can be`);
    if (this.#input.length < seg.compressed) this.#input = Buffer.allocUnsafe(seg.compressed);
    const compressed = this.#input.subarray(0, seg.compressed);
    let got = 0;
    while (got < seg.compressed) {
      const { bytesRead } = await this.#patch.read(compressed, got, seg.compressed - got, seg.offset + got);
      if (bytesRead === 0) throw patchFailed(`patch ends inside ${this.#name} segment ${index}`);
      got += bytesRead;
    }
    let raw: Buffer;
    try {
      raw = brotliDecompressSync(compressed, { maxOutputLength: Math.max(1, seg.raw), chunkSize: Math.max(64, seg.raw + 1) });
    } catch (err) {
      throw patchFailed(`patch ${this.#name} segment ${index} does not decompress: ${(err as Error).message}`);
    }
    if (raw.length !== seg.raw) throw patchFailed(`patch ${this.#name} segment ${index} holds ${raw.length} bytes, its header says ${seg.raw}`);
    return raw;
  }
}
