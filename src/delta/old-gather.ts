/**
 * Gathers the old-file bytes a batch of patch operations needs.
 *
 * bsdiff's operations on a large binary read tens or hundreds of thousands of short
 * runs (a median of under 20 bytes in a 27 MB executable) scattered over the whole old
 * file. Read one by one that is a system call each. Instead the applier collects a
 * batch of runs, and this module orders them by position (a counting sort into small
 * buckets) and reads the old file in ascending spans: runs closer than
 * {@link MERGE_GAP} share one read, long runs are read straight into place. A dense
 * batch becomes a sequential sweep, a sparse one a few exact reads; memory is the batch
 * buffer and one span buffer, whatever the file size.
 *
 * @module
 */
import { readSync } from 'node:fs';
import type { FileLike } from '../io/file-system.js';
import { patchFailed } from './format.js';
import { readFully } from './read-at.js';

/** Reading this many extra bytes costs about as much as one more read call. */
const MERGE_GAP = 8 * 1024;
const SPAN_BYTES = 512 * 1024;

/**
 * Copies `length` bytes from `source` to another buffer, `target`; `sourceView` and
 * `targetView` are DataViews over the same bytes. Buffer#copy costs a view allocation
 * and a call into C++ per call, which dominates for the tens-of-bytes runs bsdiff
 * produces (a median under 20 bytes); up to ~100 bytes, four-byte DataView loads and
 * stores (any alignment) are 2-3x faster than a byte loop.
 */
export function copyBytes(source: Uint8Array, sourceView: DataView, from: number, target: Uint8Array, targetView: DataView, to: number, length: number): void {
  if (length > 96) (source as Buffer).copy(target, to, from, from + length);
  else copyShort(source, sourceView, from, target, targetView, to, length);
}

/**
 * Copies `length` bytes inside `bytes` (`view` over it) from `from` to `to`, ranges that
 * do not overlap. copyWithin allocates nothing, where Buffer#copy's view per call was
 * ~3.5 MB of garbage over biome's hundred thousand long runs. A function of its own, not
 * a branch of copyBytes: a branch first taken after V8 optimised the caller deoptimises it.
 */
export function moveBytes(bytes: Uint8Array, view: DataView, from: number, to: number, length: number): void {
  if (length > 96) bytes.copyWithin(to, from, from + length);
  else copyShort(bytes, view, from, bytes, view, to, length);
}

function copyShort(source: Uint8Array, sourceView: DataView, from: number, target: Uint8Array, targetView: DataView, to: number, length: number): void {
  let i = 0;
  for (; i + 4 <= length; i += 4) targetView.setUint32(to + i, sourceView.getUint32(from + i, true), true);
  for (; i < length; i++) target[to + i] = source[from + i]!;
}

/** A DataView over exactly the bytes of `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The old-file runs of one batch, in output order, and where each goes in `bytes`. */
export interface GatherList {
  count: number;
  /** A Uint32Array where the old file is under 4 GiB (see {@link offsetArray}). */
  readonly position: Float64Array | Uint32Array;
  readonly length: Uint32Array;
  /** Offset of the run in the gathered buffer. */
  readonly at: Uint32Array;
}

/**
 * An array for `count` offsets or lengths up to `limit`. Until V8 has optimised a loop,
 * each load from a Float64Array allocates a heap number: a large file's first batches
 * made megabytes of such garbage, and the young generation grew by ~2 MiB to hold it.
 * A Uint32Array's values below 2^31 load as small integers. Files of 4 GiB or more get
 * a Float64Array.
 */
export function offsetArray(count: number, limit: number): Float64Array | Uint32Array {
  return limit <= 2 ** 32 ? new Uint32Array(count) : new Float64Array(count);
}

/** What {@link OldGatherer}'s walk produced next. */
const END = 0;
/** One run read straight into place (a long run, or a run of a bucket too full for one span). */
const DIRECT = 1;
/** A span of the old file holding several runs, to be read once and copied out of. */
const SPAN = 2;

export class OldGatherer {
  readonly #file: FileLike;
  readonly #size: number;
  /** The output buffer and, after it, the span buffer: one allocation, so spans are copied out with copyWithin. */
  readonly #arena: Buffer;
  readonly #arenaView: DataView;
  readonly #spanBase: number;
  /** Where gathered runs go (the first part of the arena); the caller builds the batch in it. */
  readonly output: Buffer;
  /** Runs bucketed by position (a counting sort): bucket b holds positions [b << shift, (b + 1) << shift). */
  readonly #bucketBytes: number;
  readonly #counts: Uint32Array;
  /** Short runs in position order from the front; long runs from the back. */
  readonly #order: Uint32Array;
  readonly #members: Uint32Array;
  // Where the walk over the sorted runs stands, and what it produced last.
  #sorted = 0;
  #k = 0;
  #long = 0;
  #longTaken = 0;
  #singles = 0;
  #singlesEnd = 0;
  #direct = 0;
  #spanStart = 0;
  #spanEnd = 0;
  #memberCount = 0;

  constructor(file: FileLike, size: number, maxRuns: number, outputBytes: number) {
    this.#file = file;
    this.#size = size;
    this.#arena = Buffer.allocUnsafe(outputBytes + SPAN_BYTES);
    this.#arenaView = viewOf(this.#arena);
    this.#spanBase = outputBytes;
    this.output = this.#arena.subarray(0, outputBytes);
    // Buckets of 8 KiB (under MERGE_GAP, so reading a bucket from its start costs little),
    // coarser for huge files so the count table stays at most 64 Ki entries.
    let bucket = 8 * 1024;
    while (size / bucket > 65_536) bucket *= 2;
    this.#bucketBytes = bucket;
    this.#counts = new Uint32Array(Math.floor(size / bucket) + 2);
    this.#order = new Uint32Array(maxRuns);
    this.#members = new Uint32Array(maxRuns);
  }

  /**
   * Fills {@link output} with every run of `list` (positions and lengths already checked
   * against the old file), which {@link sort} has ordered. Where the file has a descriptor
   * the whole gather is synchronous: an await per read would cost a promise and a turn of
   * the event loop for what the page cache answers in microseconds.
   */
  async gather(list: GatherList): Promise<void> {
    const arena = this.#arena;
    const fd = (this.#file as { fd?: unknown }).fd;
    if (typeof fd === 'number') {
      this.#gatherSync(list, fd);
      return;
    }
    for (let kind = this.#next(list); kind !== END; kind = this.#next(list)) {
      if (kind === DIRECT) {
        const r = this.#direct;
        await this.#readAsync(arena, list.at[r]!, list.position[r]!, list.length[r]!);
      } else {
        await this.#readAsync(arena, this.#spanBase, this.#spanStart, this.#spanEnd - this.#spanStart);
        this.#copyMembers(list);
      }
    }
  }

  #gatherSync(list: GatherList, fd: number): void {
    const arena = this.#arena;
    for (let kind = this.#next(list); kind !== END; kind = this.#next(list)) {
      if (kind === DIRECT) {
        const r = this.#direct;
        this.#readSync(fd, arena, list.at[r]!, list.position[r]!, list.length[r]!);
      } else {
        this.#readSync(fd, arena, this.#spanBase, this.#spanStart, this.#spanEnd - this.#spanStart);
        this.#copyMembers(list);
      }
    }
  }

  /** Orders the short runs of `list` by bucket (a counting sort) and sets the long ones aside, for {@link gather}. */
  sort(list: GatherList): void {
    const bucketBytes = this.#bucketBytes;
    const counts = this.#counts;
    const order = this.#order;
    counts.fill(0);
    let long = 0;
    for (let i = 0; i < list.count; i++) {
      const len = list.length[i]!;
      if (len === 0) continue;
      if (len > SPAN_BYTES / 4) order[order.length - 1 - long++] = i;
      else counts[Math.floor(list.position[i]! / bucketBytes) + 1]!++;
    }
    for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
    // counts[b] is now where bucket b starts in `order`.
    let total = 0;
    for (let i = 0; i < list.count; i++) {
      const len = list.length[i]!;
      if (len === 0 || len > SPAN_BYTES / 4) continue;
      order[counts[Math.floor(list.position[i]! / bucketBytes)]!++] = i;
      total++;
    }
    this.#sorted = total;
    this.#k = 0;
    this.#long = long;
    this.#longTaken = 0;
    this.#singles = 0;
    this.#singlesEnd = 0;
  }

  /**
   * The next read of the walk: the long runs, then the sorted runs bucket by bucket,
   * neighbours merged into spans of one read each.
   */
  #next(list: GatherList): number {
    const order = this.#order;
    if (this.#longTaken < this.#long) {
      this.#direct = order[order.length - 1 - this.#longTaken++]!;
      return DIRECT;
    }
    if (this.#singles < this.#singlesEnd) {
      this.#direct = order[this.#singles++]!;
      return DIRECT;
    }
    const bucketBytes = this.#bucketBytes;
    const total = this.#sorted;
    let k = this.#k;
    if (k >= total) return END;
    let open = false;
    let spanStart = 0;
    let spanEnd = 0;
    let members = 0;
    while (k < total) {
      const bucket = Math.floor(list.position[order[k]!]! / bucketBytes);
      const bucketStart = bucket * bucketBytes;
      let end = 0;
      let j = k;
      for (; j < total; j++) {
        const r = order[j]!;
        const position = list.position[r]!;
        if (Math.floor(position / bucketBytes) !== bucket) break;
        end = Math.max(end, position + list.length[r]!);
      }
      if (open) {
        if (bucketStart > spanEnd + MERGE_GAP || Math.max(end, spanEnd) - spanStart > SPAN_BYTES) break; // it starts the next span
      } else {
        if (end - bucketStart > SPAN_BYTES) {
          // Coarse buckets of a huge file can hold more than one span: read these runs one by one.
          this.#singles = k + 1;
          this.#singlesEnd = j;
          this.#k = j;
          this.#direct = order[k]!;
          return DIRECT;
        }
        open = true;
        spanStart = bucketStart;
      }
      spanEnd = Math.max(spanEnd, end);
      for (; k < j; k++) this.#members[members++] = order[k]!;
    }
    this.#k = k;
    this.#spanStart = spanStart;
    this.#spanEnd = spanEnd;
    this.#memberCount = members;
    return SPAN;
  }

  /** Each member run of the span just read, copied out of it. */
  #copyMembers(list: GatherList): void {
    const arena = this.#arena;
    const view = this.#arenaView;
    const base = this.#spanBase - this.#spanStart;
    const members = this.#members;
    for (let m = 0; m < this.#memberCount; m++) {
      const r = members[m]!;
      moveBytes(arena, view, base + list.position[r]!, list.at[r]!, list.length[r]!);
    }
  }

  // A synchronous pread where there is a descriptor: from the page cache it costs
  // microseconds, a round trip through the thread pool tens of them.
  #readSync(fd: number, target: Buffer, offset: number, position: number, length: number): void {
    let got = 0;
    while (got < length) {
      const bytesRead = readSync(fd, target, offset + got, length - got, position + got);
      if (bytesRead === 0) throw this.#short(position + length);
      got += bytesRead;
    }
  }

  #readAsync(target: Buffer, offset: number, position: number, length: number): Promise<void> {
    return readFully(this.#file, target.subarray(offset, offset + length), position, () => this.#short(position + length));
  }

  #short(end: number): Error {
    return patchFailed(`the old file ends before byte ${end} (the manifest says ${this.#size})`);
  }
}
