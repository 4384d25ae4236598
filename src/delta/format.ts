/**
 * twinslot's patch container (version 1).
 *
 * The operations are bsdiff's: a list of control triples (add x bytes: old bytes plus
 * a delta; insert y new bytes; move the old position by z). The bytes are stored in
 * three streams, each cut into segments of at most {@link MAX_SEGMENT_RAW} (2 MiB) raw bytes and
 * compressed with brotli:
 *
 *   0 control   per triple: varint x, varint y, zigzag varint z
 *   1 delta     per triple, covering its x bytes: (varint zero-run, varint literal count,
 *               that many literal bytes (new - old, mod 256))...   zero-run = bytes equal to old
 *   2 extra     per triple: its y new bytes
 *
 * bsdiff's own delta stream is mostly zeros; storing runs of zeros as lengths keeps
 * what the compressor must chew small and lets the applier copy unchanged runs in
 * bulk. Segments bound the memory a client needs, whatever the file size.
 *
 * Layout (integers little-endian):
 *
 *   0   8  magic "TSPATCH\x01"
 *   8   1  codec (1 = brotli)          9   7  reserved (0)
 *   16  8  old size                    24  8  new size
 *   32  4  segments of stream 0        36  4  of stream 1       40  4  of stream 2
 *   44  4  reserved (0)
 *   48  ... per segment, stream by stream: u32 compressed length, u32 raw length
 *   then the compressed segments in the same order.
 *
 * @module
 */
import { UpdateError } from '../errors.js';

export const PATCH_MAGIC = Buffer.from('TSPATCH\x01', 'latin1');
export const CODEC_BROTLI = 1;
export const STREAMS = 3;
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
  /** Segments of the control, delta and extra streams. */
  readonly streams: readonly (readonly Segment[])[];
  /** Bytes of header and table. */
  readonly headerSize: number;
}

export function patchFailed(message: string, details: Record<string, unknown> = {}): UpdateError {
  return new UpdateError('PATCH_FAILED', message, { details });
}

/** Bytes of header needed before the table can be read. */
export const FIXED_HEADER_SIZE = FIXED;

/** Size of the whole header given the fixed part (to know how much to read). */
export function headerSizeOf(fixed: Uint8Array): number {
  const b = Buffer.from(fixed.buffer, fixed.byteOffset, fixed.byteLength);
  if (b.length < FIXED || !b.subarray(0, 8).equals(PATCH_MAGIC)) throw patchFailed('not a twinslot patch (bad magic)');
  let count = 0;
  for (let s = 0; s < STREAMS; s++) {
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
  if (b.length < headerSize) throw patchFailed('patch header is truncated');
  if (b[8] !== CODEC_BROTLI) throw patchFailed(`unknown patch codec ${b[8]}`);
  if (b.subarray(9, 16).some((x) => x !== 0) || b.readUInt32LE(44) !== 0) throw patchFailed('patch header has non-zero reserved bytes');
  const oldSize = readU64(b, 16);
  const newSize = readU64(b, 24);
  if (oldSize !== expectOld) throw patchFailed(`patch is for an old file of ${oldSize} bytes, ours has ${expectOld}`, { oldSize, expectOld });
  if (newSize !== expectNew) throw patchFailed(`patch makes a file of ${newSize} bytes, the manifest says ${expectNew}`, { newSize, expectNew });
  const streams: Segment[][] = [];
  let pos = FIXED;
  let offset = headerSize;
  const rawTotals = [0, 0, 0];
  for (let s = 0; s < STREAMS; s++) {
    const count = b.readUInt32LE(32 + 4 * s);
    const segments: Segment[] = [];
    for (let i = 0; i < count; i++) {
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
  if (rawTotals[2]! > newSize) throw patchFailed('patch extra stream is larger than the new file');
  if (rawTotals[1]! > 3 * newSize + 64) throw patchFailed('patch delta stream is larger than the new file allows');
  if (rawTotals[0]! > 30 * (newSize + 1)) throw patchFailed('patch control stream is larger than the new file allows');
  return { oldSize, newSize, streams, headerSize };
}

/** Serialises a header for segments of the given sizes (compressed data follows it). */
export function writeHeader(oldSize: number, newSize: number, streams: readonly (readonly { compressed: number; raw: number }[])[]): Buffer {
  const count = streams.reduce((n, s) => n + s.length, 0);
  const b = Buffer.alloc(FIXED + count * 8);
  PATCH_MAGIC.copy(b, 0);
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
