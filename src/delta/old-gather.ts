/**
 * Gathers the old-file bytes a batch of patch operations needs.
 *
 * bsdiff's operations on a large binary read tens or hundreds of thousands of short
 * runs (a median of under 20 bytes in a 27 MB executable) scattered over the whole old
 * file. Read one by one that is a system call each. Instead the applier collects a
 * batch of runs, and this module orders them by position (a counting sort into small
 * buckets) and reads the old file in ascending spans: runs closer than
 * {@link MERGE_GAP} share one read, long runs are read straight into place. A dense batch becomes a sequential sweep, a sparse one a few
 * exact reads; memory is the batch buffer and one span buffer, whatever the file size.
 *
 * @module
 */
import { readSync } from 'node:fs';
import type { FileLike } from '../io/file-system.js';
import { patchFailed } from './format.js';

/** Reading this many extra bytes costs about as much as one more read call. */
const MERGE_GAP = 8 * 1024;
const SPAN_BYTES = 512 * 1024;

/**
 * Copies `length` bytes. Buffer#copy costs a view allocation and a call into C++ per
 * call, which dominates for the tens-of-bytes runs bsdiff produces; a loop is cheaper
 * up to a few dozen bytes.
 */
export function copyBytes(source: Uint8Array, from: number, target: Uint8Array, to: number, length: number): void {
  if (length <= 64) {
    for (let i = 0; i < length; i++) target[to + i] = source[from + i]!;
  } else {
    (source as Buffer).copy(target, to, from, from + length);
  }
}

/** The old-file runs of one batch, in output order, and where each goes in `bytes`. */
export interface GatherList {
  count: number;
  readonly position: Float64Array;
  readonly length: Uint32Array;
  /** Offset of the run in the gathered buffer. */
  readonly at: Uint32Array;
}

export class OldGatherer {
  readonly #file: FileLike;
  readonly #size: number;
  readonly #span = Buffer.allocUnsafe(SPAN_BYTES);
  /** Runs bucketed by position (a counting sort): bucket b holds positions [b << shift, (b + 1) << shift). */
  readonly #bucketBytes: number;
  readonly #counts: Uint32Array;
  readonly #order: Uint32Array;
  readonly #members: Uint32Array;

  constructor(file: FileLike, size: number, maxRuns: number) {
    this.#file = file;
    this.#size = size;
    // Buckets of 8 KiB (under MERGE_GAP, so reading a bucket from its start costs little),
    // coarser for huge files so the count table stays at most 64 Ki entries.
    let bucket = 8 * 1024;
    while (size / bucket > 65_536) bucket *= 2;
    this.#bucketBytes = bucket;
    this.#counts = new Uint32Array(Math.floor(size / bucket) + 2);
    this.#order = new Uint32Array(maxRuns);
    this.#members = new Uint32Array(maxRuns);
  }

  /** Fills `into` with every run of `list` (positions and lengths already checked against the old file). */
  async gather(list: GatherList, into: Buffer): Promise<void> {
    const bucketBytes = this.#bucketBytes;
    const counts = this.#counts;
    counts.fill(0);
    for (let i = 0; i < list.count; i++) {
      const len = list.length[i]!;
      if (len === 0) continue;
      if (len > SPAN_BYTES / 4) await this.#read(into, list.at[i]!, list.position[i]!, len); // a long run: straight into place
      else counts[Math.floor(list.position[i]! / bucketBytes) + 1]!++;
    }
    for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
    // counts[b] is now where bucket b starts in `order`.
    const order = this.#order;
    let total = 0;
    for (let i = 0; i < list.count; i++) {
      const len = list.length[i]!;
      if (len === 0 || len > SPAN_BYTES / 4) continue;
      order[counts[Math.floor(list.position[i]! / bucketBytes)]!++] = i;
      total++;
    }
    // Walk the buckets in order, merging neighbours into spans of one read each.
    let open = false;
    let spanStart = 0;
    let spanEnd = 0;
    let members = 0;
    let k = 0;
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
      if (!(open && bucketStart <= spanEnd + MERGE_GAP && Math.max(end, spanEnd) - spanStart <= SPAN_BYTES)) {
        if (open) await this.#flush(list, into, spanStart, spanEnd, members);
        if (end - bucketStart > SPAN_BYTES) {
          // Coarse buckets of a huge file can hold more than one span: read these runs one by one.
          for (; k < j; k++) await this.#read(into, list.at[order[k]!]!, list.position[order[k]!]!, list.length[order[k]!]!);
          open = false;
          continue;
        }
        open = true;
        spanStart = bucketStart;
        spanEnd = end;
        members = 0;
      }
      spanEnd = Math.max(spanEnd, end);
      for (; k < j; k++) this.#members[members++] = order[k]!;
    }
    if (open) await this.#flush(list, into, spanStart, spanEnd, members);
  }

  /** One read for the span, then each member run copied out of it. */
  async #flush(list: GatherList, into: Buffer, start: number, end: number, members: number): Promise<void> {
    await this.#read(this.#span, 0, start, end - start);
    for (let m = 0; m < members; m++) {
      const r = this.#members[m]!;
      copyBytes(this.#span, list.position[r]! - start, into, list.at[r]!, list.length[r]!);
    }
  }

  async #read(target: Buffer, offset: number, position: number, length: number): Promise<void> {
    // A synchronous pread where there is a descriptor: from the page cache it costs
    // microseconds, a round trip through the thread pool tens of them.
    const fd = (this.#file as { fd?: unknown }).fd;
    let got = 0;
    while (got < length) {
      const bytesRead =
        typeof fd === 'number'
          ? readSync(fd, target, offset + got, length - got, position + got)
          : (await this.#file.read(target, offset + got, length - got, position + got)).bytesRead;
      if (bytesRead === 0) throw patchFailed(`the old file ends before byte ${position + length} (the manifest says ${this.#size})`);
      got += bytesRead;
    }
  }
}
