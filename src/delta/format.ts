/**
 * twinslot's patch container (versions 1 and 2).
 *
 * The operations are bsdiff's: a list of control triples (add x bytes: old bytes plus
 * a delta; insert y new bytes; move the old position by z). The bytes are stored in
 * streams, each cut into segments of at most {@link MAX_SEGMENT_RAW} (2 MiB) raw bytes and
 * compressed with brotli:
 *
 *   0 control   per triple: varint x, varint y, zigzag varint z
 *   1 delta     per triple, covering its x bytes, groups of: varint zero-run, varint
 *               literal count, then that many literal bytes (new - old, mod 256);
 *               zero-run = bytes equal to old. In version 2 only the literal bytes.
 *   2 extra     per triple: its y new bytes
 *   3 headers   version 2 only: each group's two varints, apart from its literals
 *
 * bsdiff's own delta stream is mostly zeros; storing runs of zeros as lengths keeps
 * what the compressor must chew small and lets the applier copy unchanged runs in
 * bulk. Segments bound the memory a client needs, whatever the file size.
 *
 * Why two versions: when the changed bytes look random (data files, compressed
 * assets), the group lengths interleaved with them are coded with the same flat
 * statistics and cost a byte each; kept apart they compress to about 70%. In machine
 * code the lengths and changed bytes repeat together (relocated addresses), and
 * interleaved they compress better. The publisher measures both and writes the smaller.
 *
 * Layout (integers little-endian):
 *
 *   0   8  magic "TSPATCH\x01" or "TSPATCH\x02"
 *   8   1  codec (1 = brotli)          9   7  reserved (0)
 *   16  8  old size                    24  8  new size
 *   32  4  segments of stream 0        36  4  of stream 1       40  4  of stream 2
 *   44  4  version 1: reserved (0); version 2: segments of stream 3
 *   48  ... per segment, stream by stream: u32 compressed length, u32 raw length
 *   then the compressed segments in the same order.
 *
 * @module
 */
import { UpdateError } from '../errors.js';

export const PATCH_MAGIC = Buffer.from('TSPATCH\x01', 'latin1');
/** Version 2: the delta stream's group headers in a stream of their own. */
export const PATCH_MAGIC_V2 = Buffer.from('TSPATCH\x02', 'latin1');
export const CODEC_BROTLI = 1;
/** Stream indexes. */
export const CONTROL = 0;
export const DELTA = 1;
export const EXTRA = 2;
export const HEADERS = 3;
export const MAX_SEGMENT_RAW = 2 * 1024 * 1024;
const FIXED = 48;
const MAX_SEGMENTS = 65_536;

export interface Segment {
  /** Offset of the compressed bytes in the patch. */
  readonly offset: number;
  readonly compressed: number;
  readonly raw: number;
}

export interface PatchHeader {
  readonly oldSize: number;
  readonly newSize: number;
  /** Segments of the control, delta and extra streams, and in version 2 of the delta headers. */
  readonly streams: readonly (readonly Segment[])[];
  /** Bytes of header and table. */
  readonly headerSize: number;
}

export function patchFailed(message: string, details: Record<string, unknown> = {}): UpdateError {
  return new UpdateError('PATCH_FAILED', message, { details });
}

/** Bytes of header needed before the table can be read. */
export const FIXED_HEADER_SIZE = FIXED;

/** How many streams a patch with this fixed header has (3 or 4); throws on a bad magic. */
function streamCount(b: Buffer): number {
  if (b.length >= FIXED) {
    const magic = b.subarray(0, 8);
    if (magic.equals(PATCH_MAGIC)) return 3;
    if (magic.equals(PATCH_MAGIC_V2)) return 4;
  }
  throw patchFailed('not a twinslot patch (bad magic)');
}

/** Size of the whole header given the fixed part (to know how much to read). */
export function headerSizeOf(fixed: Uint8Array): number {
  const b = Buffer.from(fixed.buffer, fixed.byteOffset, fixed.byteLength);
  const streams = streamCount(b);
  let count = 0;
  for (let s = 0; s < streams; s++) {
    const n = b.readUInt32LE(32 + 4 * s);
    if (n === 0 || n > MAX_SEGMENTS) throw patchFailed(`patch stream ${s} has ${n} segments`);
    count += n;
  }
  return FIXED + count * 8;
}

/**
 * Parses and checks a header against the patch size and the sizes the manifest states:
 * every length must add up, or the patch is refused before any byte is applied.
 */
export function parseHeader(bytes: Uint8Array, patchSize: number, expectOld: number, expectNew: number): PatchHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerSize = headerSizeOf(b);
  const count = streamCount(b);
  if (b.length < headerSize) throw patchFailed('patch header is truncated');
  if (b[8] !== CODEC_BROTLI) throw patchFailed(`unknown patch codec ${b[8]}`);
  if (b.subarray(9, 16).some((x) => x !== 0) || (count === 3 && b.readUInt32LE(44) !== 0)) throw patchFailed('patch header has non-zero reserved bytes');
  const oldSize = readU64(b, 16);
  const newSize = readU64(b, 24);
  if (oldSize !== expectOld) throw patchFailed(`patch is for an old file of ${oldSize} bytes, ours has ${expectOld}`, { oldSize, expectOld });
  if (newSize !== expectNew) throw patchFailed(`patch makes a file of ${newSize} bytes, the manifest says ${expectNew}`, { newSize, expectNew });
  const streams: Segment[][] = [];
  let pos = FIXED;
  let offset = headerSize;
  const rawTotals = [0, 0, 0, 0];
  for (let s = 0; s < count; s++) {
    const segments: Segment[] = [];
    for (let i = 0, n = b.readUInt32LE(32 + 4 * s); i < n; i++) {
      const compressed = b.readUInt32LE(pos);
      const raw = b.readUInt32LE(pos + 4);
      pos += 8;
      if (raw > MAX_SEGMENT_RAW) throw patchFailed(`patch segment of ${raw} bytes is over the ${MAX_SEGMENT_RAW}-byte limit`);
      segments.push({ offset, compressed, raw });
      offset += compressed;
      rawTotals[s]! += raw;
    }
    streams.push(segments);
  }
  if (offset !== patchSize) throw patchFailed(`patch segments add up to ${offset} bytes, the patch has ${patchSize}`);
  // Each stream can only be so large for a file of newSize bytes; anything more is a bomb.
  // A group covers at least one byte with two varints (two bytes) and at most one literal per byte.
  if (rawTotals[EXTRA]! > newSize) throw patchFailed('patch extra stream is larger than the new file');
  if (count === 3 && rawTotals[DELTA]! > 3 * newSize + 64) throw patchFailed('patch delta stream is larger than the new file allows');
  if (count === 4 && rawTotals[DELTA]! > newSize) throw patchFailed('patch delta stream is larger than the new file allows');
  if (rawTotals[HEADERS]! > 2 * newSize + 64) throw patchFailed('patch delta header stream is larger than the new file allows');
  if (rawTotals[CONTROL]! > 30 * (newSize + 1)) throw patchFailed('patch control stream is larger than the new file allows');
  return { oldSize, newSize, streams, headerSize };
}

/**
 * Serialises a header for segments of the given sizes (compressed data follows it):
 * version 1 for three streams, version 2 for four.
 */
export function writeHeader(oldSize: number, newSize: number, streams: readonly (readonly { compressed: number; raw: number }[])[]): Buffer {
  if (streams.length !== 3 && streams.length !== 4) throw new RangeError('a patch has 3 or 4 streams');
  const count = streams.reduce((n, s) => n + s.length, 0);
  const b = Buffer.alloc(FIXED + count * 8);
  (streams.length === 4 ? PATCH_MAGIC_V2 : PATCH_MAGIC).copy(b, 0);
  b[8] = CODEC_BROTLI;
  streams.forEach((segments, s) => {
    if (segments.length === 0 || segments.length > MAX_SEGMENTS) throw new RangeError(`a patch stream has 1 to ${MAX_SEGMENTS} segments`);
    b.writeUInt32LE(segments.length, 32 + 4 * s);
  });
  writeU64(b, 16, oldSize);
  writeU64(b, 24, newSize);
  let pos = FIXED;
  for (const segments of streams) {
    for (const seg of segments) {
      b.writeUInt32LE(seg.compressed, pos);
      b.writeUInt32LE(seg.raw, pos + 4);
      pos += 8;
    }
  }
  return b;
}

function readU64(b: Buffer, at: number): number {
  const value = b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 2 ** 32;
  if (!Number.isSafeInteger(value)) throw patchFailed('patch header holds a size beyond 2^53');
  return value;
}

function writeU64(b: Buffer, at: number, value: number): void {
  b.writeUInt32LE(value % 2 ** 32, at);
  b.writeUInt32LE(Math.floor(value / 2 ** 32), at + 4);
}

/** Appends `value` (a non-negative safe integer) as an unsigned LEB128 varint. */
export function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

export function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

export function unzigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}
