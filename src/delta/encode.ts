/**
 * Builds a twinslot patch from bsdiff's operations (publisher side). bsdiff finds the
 * matches; this module lays its streams out in twinslot's container (see
 * format.ts), picks the smaller of the two layouts of the delta stream, and compresses
 * every segment with brotli, on libuv's thread pool so the segments of one patch
 * compress on all cores.
 *
 * @module
 */
import { brotliCompress, constants as zlib } from 'node:zlib';
import { CONTROL, DELTA, EXTRA, HEADERS, MAX_SEGMENT_RAW, writeHeader, zigzag } from './format.js';

/** One bsdiff operation: `add` bytes of old+delta, `insert` new bytes, then move the old position by `seek`. */
export interface ControlTriple {
  readonly add: number;
  readonly insert: number;
  readonly seek: number;
}

export interface EncodeOptions {
  /** Brotli quality, 0-11 for every stream (default: see {@link defaultQuality}). */
  readonly quality?: number;
  /** Largest raw segment, at most {@link MAX_SEGMENT_RAW} (default {@link SEGMENT_RAW}); smaller means more parallel work and less memory. */
  readonly segmentBytes?: number;
  /** The delta stream's layout (default: whichever a trial compression finds smaller). */
  readonly layout?: DeltaLayout;
}

/**
 * Equal bytes fewer than this inside a run of changed bytes stay in the literal run:
 * a new group costs two varints, more than a few zeros the compressor handles well.
 */
const MIN_ZERO_RUN = 2;

/**
 * The publisher's segment size. A client holds one decompressed segment per stream
 * (four in version 2) plus brotli's window for the one being decoded, so this sets
 * most of what applying a patch adds to a process. Measured with the benchmark's
 * pairs: 512 KiB instead of 2 MiB takes the apply's peak RSS (all of Node) from
 * 70 to 60 MiB on biome and from 68 to 60 MiB on swc, for 0.9% and 0.5% more bytes.
 */
export const SEGMENT_RAW = 512 * 1024;

/** A growable byte buffer cut into segments at boundaries the caller marks as safe. */
class SegmentedStream {
  #buffer: Buffer;
  #length = 0;
  readonly #limit: number;
  /** End offsets of closed segments. */
  readonly cuts: number[] = [];

  constructor(limit: number, initial = 64 * 1024) {
    this.#limit = limit;
    this.#buffer = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.#length;
  }

  /** Bytes in the open segment. */
  get open(): number {
    return this.#length - (this.cuts.at(-1) ?? 0);
  }

  /** Starts a new segment first if `n` more bytes would not fit in the open one. */
  reserve(n: number): void {
    if (n > this.#limit) throw new RangeError('a unit of a patch stream is larger than a segment');
    if (this.open + n > this.#limit) this.cuts.push(this.#length);
    this.#grow(n);
  }

  varint(value: number): void {
    let v = value;
    while (v >= 128) {
      this.#buffer[this.#length++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.#buffer[this.#length++] = v;
  }

  byte(value: number): void {
    this.#buffer[this.#length++] = value;
  }

  /** Appends bytes that may span segments (the extra stream has no units). */
  bytes(source: Uint8Array, start: number, end: number): void {
    let at = start;
    while (at < end) {
      if (this.open === this.#limit) this.cuts.push(this.#length);
      const n = Math.min(end - at, this.#limit - this.open);
      this.#grow(n);
      this.#buffer.set(source.subarray(at, at + n), this.#length);
      this.#length += n;
      at += n;
    }
  }

  segments(): Buffer[] {
    const ends = [...this.cuts, this.#length];
    const out: Buffer[] = [];
    let start = 0;
    for (const end of ends) {
      if (end === start && out.length > 0) continue;
      out.push(this.#buffer.subarray(start, end));
      start = end;
    }
    return out;
  }

  #grow(n: number): void {
    if (this.#length + n <= this.#buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + n));
    this.#buffer.copy(next, 0, 0, this.#length);
    this.#buffer = next;
  }
}

/** How a patch stores the delta stream's group headers (see format.ts): version 1 or 2. */
export type DeltaLayout = 'interleaved' | 'separate';

interface Laid {
  readonly control: SegmentedStream;
  readonly extra: SegmentedStream;
  /** Version 1's delta stream, when asked for. */
  readonly interleaved: SegmentedStream | null;
  /** Version 2's literal and header streams, when asked for. */
  readonly literals: SegmentedStream | null;
  readonly headers: SegmentedStream | null;
}

/**
 * Lays out the raw streams for `controls` applied to `old` -> `next`, in one layout or
 * both (one pass over the bytes). Throws RangeError when an operation is out of bounds.
 */
function layout(old: Uint8Array, next: Uint8Array, controls: readonly ControlTriple[], segmentBytes: number, layouts: readonly DeltaLayout[]): Laid {
  const both = layouts.length > 1;
  const laid: Laid = {
    control: new SegmentedStream(segmentBytes),
    extra: new SegmentedStream(segmentBytes, 1024 * 1024),
    interleaved: layouts.includes('interleaved') ? new SegmentedStream(segmentBytes, 1024 * 1024) : null,
    literals: layouts.includes('separate') ? new SegmentedStream(segmentBytes, both ? 512 * 1024 : 1024 * 1024) : null,
    headers: layouts.includes('separate') ? new SegmentedStream(segmentBytes, 512 * 1024) : null,
  };
  let newPos = 0;
  let oldPos = 0;
  for (const { add, insert, seek } of mergeSeeks(controls)) {
    if (add < 0 || insert < 0 || newPos + add + insert > next.length) throw new RangeError('bsdiff operation writes past the new file');
    if (add > 0 && (oldPos < 0 || oldPos + add > old.length)) throw new RangeError('bsdiff operation reads outside the old file');
    laid.control.reserve(30);
    laid.control.varint(add);
    laid.control.varint(insert);
    laid.control.varint(zigzag(seek));
    encodeDelta(laid, old, oldPos, next, newPos, add, segmentBytes);
    laid.extra.bytes(next, newPos + add, newPos + add + insert);
    newPos += add + insert;
    oldPos += add + seek;
  }
  if (newPos !== next.length) throw new RangeError(`bsdiff operations cover ${newPos} of ${next.length} bytes`);
  return laid;
}

/** The streams of a patch in `deltaLayout`, in container order: control, delta, extra (, headers). */
function streamsOf(laid: Laid, deltaLayout: DeltaLayout): Buffer[][] {
  if (deltaLayout === 'interleaved') return [laid.control.segments(), laid.interleaved!.segments(), laid.extra.segments()];
  return [laid.control.segments(), laid.literals!.segments(), laid.extra.segments(), laid.headers!.segments()];
}

/** Lays out the raw streams of a patch (3 for the interleaved layout, 4 for the separate one). Throws RangeError when an operation is out of bounds. */
export function layoutStreams(
  old: Uint8Array,
  next: Uint8Array,
  controls: readonly ControlTriple[],
  segmentBytes = SEGMENT_RAW,
  deltaLayout: DeltaLayout = 'interleaved',
): Buffer[][] {
  return streamsOf(layout(old, next, controls, segmentBytes, [deltaLayout]), deltaLayout);
}

/**
 * Folds operations that only seek into the one before: the applier stops once the new
 * file is complete and refuses empty operations, so none may trail or stand alone.
 */
function mergeSeeks(controls: readonly ControlTriple[]): ControlTriple[] {
  const out: ControlTriple[] = [];
  for (const t of controls) {
    const last = out.at(-1);
    if (t.add === 0 && t.insert === 0) {
      if (last) out[out.length - 1] = { ...last, seek: last.seek + t.seek };
      else if (t.seek !== 0) out.push(t);
    } else {
      out.push(t);
    }
  }
  return out;
}

/** Groups of (unchanged run, changed run + its bytes) covering `count` bytes, in the layouts `laid` has. */
function encodeDelta(laid: Laid, old: Uint8Array, oldPos: number, next: Uint8Array, newPos: number, count: number, segmentBytes: number): void {
  const { interleaved, literals: lits, headers } = laid;
  const maxLiterals = segmentBytes - 20;
  let i = 0;
  while (i < count) {
    let zeros = 0;
    while (i + zeros < count && next[newPos + i + zeros] === old[oldPos + i + zeros]) zeros++;
    // The changed run ends before MIN_ZERO_RUN equal bytes in a row (or at the end).
    const start = i + zeros;
    let literals = 0;
    let equalRun = 0;
    for (let j = start; j < count && j - start < maxLiterals; j++) {
      if (next[newPos + j] !== old[oldPos + j]) {
        literals = j + 1 - start;
        equalRun = 0;
      } else if (++equalRun >= MIN_ZERO_RUN) {
        break;
      }
    }
    // Version 1: varints and literals in one stream; version 2: in two.
    interleaved?.reserve(20 + literals);
    headers?.reserve(20);
    lits?.reserve(literals);
    interleaved?.varint(zeros);
    interleaved?.varint(literals);
    headers?.varint(zeros);
    headers?.varint(literals);
    for (let k = 0; k < literals; k++) {
      const changed = (next[newPos + start + k]! - old[oldPos + start + k]!) & 0xff;
      interleaved?.byte(changed);
      lits?.byte(changed);
    }
    i = start + literals;
  }
}

/** Compresses each segment (concurrently, on the thread pool) and prepends the header. */
export async function encodePatch(old: Uint8Array, next: Uint8Array, controls: readonly ControlTriple[], options: EncodeOptions = {}): Promise<Buffer> {
  const segmentBytes = options.segmentBytes ?? SEGMENT_RAW;
  if (!(segmentBytes >= 64 && segmentBytes <= MAX_SEGMENT_RAW)) throw new RangeError(`segmentBytes must be 64 to ${MAX_SEGMENT_RAW}`);
  const compressAll = (segments: readonly Buffer[], s: number) => {
    const quality = options.quality ?? defaultQuality(s, rawBytes(segments));
    return Promise.all(segments.map((raw) => compressSegment(raw, quality)));
  };
  let deltaLayout = options.layout;
  let laid = layout(old, next, controls, segmentBytes, deltaLayout ? [deltaLayout] : ['interleaved', 'separate']);
  // The control and extra streams do not depend on the layout: they compress while the trial runs.
  const control = laid.control.segments();
  const extra = laid.extra.segments();
  const fixed = Promise.all([compressAll(control, CONTROL), compressAll(extra, EXTRA)]);
  fixed.catch(() => undefined); // awaited below
  deltaLayout ??= await smallerLayout(laid);
  // A small delta stream is one segment at brotli's slowest setting: one thread works
  // for seconds while the others wait. Cut it into a fixed number of pieces (fixed, so
  // a release makes the same patch on every machine) that compress in parallel on the
  // thread pool; on esbuild's stream that costs about 0.3% in size.
  let [, delta, , headers] = streamsOf(laid, deltaLayout);
  const deltaBytes = rawBytes(delta!) + rawBytes(headers ?? []);
  if (options.segmentBytes === undefined && deltaBytes >= MIN_SPLIT && deltaBytes <= SMALL_STREAM) {
    laid = layout(old, next, controls, Math.ceil(deltaBytes / SMALL_STREAM_PIECES) + 64, [deltaLayout]);
    [, delta, , headers] = streamsOf(laid, deltaLayout);
  }
  const streams = [control, delta!, extra, ...(headers ? [headers] : [])];
  const [[controlOut, extraOut], deltaOut, headersOut] = await Promise.all([fixed, compressAll(delta!, DELTA), headers ? compressAll(headers, HEADERS) : null]);
  const compressed = [controlOut, deltaOut, extraOut, ...(headersOut ? [headersOut] : [])];
  const header = writeHeader(
    old.length,
    next.length,
    streams.map((segments, s) => segments.map((raw, i) => ({ raw: raw.length, compressed: compressed[s]![i]!.length }))),
  );
  return Buffer.concat([header, ...compressed.flat()]);
}

function rawBytes(segments: readonly Buffer[]): number {
  return segments.reduce((n, raw) => n + raw.length, 0);
}

/** Brotli quality of the trial compressions that pick a layout: fast, and ranks the two as quality 10-11 do. */
const TRIAL_QUALITY = 5;
/**
 * Which layout of the delta stream compresses smaller, by a trial of both at a fast
 * quality. Measured on the benchmark's pairs, quality 5 ranks the layouts as the final
 * quality does (esbuild: interleaved 3.4% smaller; biome: separate 5.5%; synthetic:
 * separate 1.6%) for 5-10% of the final compression's CPU time. Whole streams, not
 * samples: samples of the two layouts cover different parts of the file, and on swc a
 * 1 MiB sample picked the layout that came out 2.7% larger. Deterministic, like the
 * patch itself.
 */
async function smallerLayout(laid: Laid): Promise<DeltaLayout> {
  const size = async (segments: readonly Buffer[]) => (await Promise.all(segments.map((raw) => compressSegment(raw, TRIAL_QUALITY)))).reduce((n, c) => n + c.length, 0);
  const [interleaved, literals, headers] = await Promise.all([size(laid.interleaved!.segments()), size(laid.literals!.segments()), size(laid.headers!.segments())]);
  return literals + headers < interleaved ? 'separate' : 'interleaved';
}

/** Streams up to this many raw bytes get brotli's slowest, smallest setting. */
const SMALL_STREAM = 1024 * 1024;
/** Below this a delta stream compresses in well under a second: not worth cutting. */
const MIN_SPLIT = 128 * 1024;
/** Pieces of a small delta stream: libuv's default thread pool size. */
const SMALL_STREAM_PIECES = 4;

/**
 * Brotli quality for stream `s` (0 control, 1 delta, 2 extra, 3 delta headers) of `rawBytes` bytes.
 * Quality 11 buys 2.5-6% on the delta and extra streams over 10, at 1.6-2x the time;
 * on the control stream it buys nothing measurable (0.2% on biome). Measured on the
 * benchmark's release pairs: on a small stream (esbuild's 0.86 MB delta stream) the
 * 6% decides whether the patch beats bsdiff's and the time is a fraction of bsdiff's
 * own; on large ones (biome's 5.5 + 4.3 MB) 2.6% costs 40% of the publisher's encode
 * time, which is what kept it over 1.5x the bsdiff CLI.
 */
function defaultQuality(s: number, rawBytes: number): number {
  return s !== CONTROL && rawBytes <= SMALL_STREAM ? 11 : 10;
}

function compressSegment(raw: Buffer, quality: number): Promise<Buffer> {
  // A window just large enough for the segment: more buys nothing and costs the decoder memory.
  const lgwin = Math.min(24, Math.max(16, Math.ceil(Math.log2(raw.length + 1))));
  return new Promise((resolve, reject) => {
    brotliCompress(
      raw,
      {
        params: {
          [zlib.BROTLI_PARAM_QUALITY]: quality,
          [zlib.BROTLI_PARAM_LGWIN]: lgwin,
          [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length,
        },
      },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}
