/**
 * One ranged GET of a run of adjacent pack chunks. Bytes are hashed as they stream
 * in and a chunk is handed on only when its SHA-256 matches the signed manifest; it
 * is never re-read from disk to be verified. Memory holds at most one chunk.
 *
 * The request also enforces what a hostile server could otherwise abuse: the exact
 * Content-Range, no byte beyond the range, a minimum rate after a grace period, and a
 * stable strong ETag (a different one means the blob changed under us).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { UpdateError } from '../errors.js';
import type { Clock } from '../io/clock.js';
import type { Pack } from '../manifest/release.js';
import { BufferPool } from './buffer-pool.js';
import { type HttpSettings, type PieceResult, header, httpGet, networkError } from './http.js';
import type { Throttle } from './throttle.js';

/** Byte range of chunk `index`: [start, end). */
export function chunkRange(pack: Pack, index: number): [number, number] {
  const start = index * pack.chunkSize;
  return [start, Math.min(start + pack.chunkSize, pack.size)];
}

/** Groups ascending chunk indexes into runs of adjacent ones, each at most `maxRun` long. */
export function coalesce(chunks: readonly number[], maxRun = Number.MAX_SAFE_INTEGER): number[][] {
  const runs: number[][] = [];
  for (const index of chunks) {
    const last = runs.at(-1);
    if (last && last.at(-1) === index - 1 && last.length < maxRun) last.push(index);
    else runs.push([index]);
  }
  return runs;
}

/**
 * The blob on the server is not the one we were fetching (its ETag changed). A tagged
 * UpdateError rather than a subclass: UpdateError's cross-copy `instanceof` would
 * make every UpdateError look like one.
 */
export function blobChangedError(url: URL, etag: string | null): UpdateError {
  return new UpdateError('NETWORK', `${url.href} changed during the download (ETag ${etag ?? 'gone'})`, {
    details: { url: url.href, blobChanged: true },
  });
}

export function isBlobChanged(err: unknown): boolean {
  return err instanceof UpdateError && err.details.blobChanged === true;
}

export interface RunContext {
  readonly http: HttpSettings;
  readonly clock: Clock;
  readonly throttle: Throttle;
  readonly pack: Pack;
  readonly signal: AbortSignal;
  /** The strong ETag seen before on this mirror, sent as If-Range. */
  readonly etag: string | null;
  /** Claims a verified chunk for delivery; false when another connection already delivered it. */
  readonly claim: (index: number) => boolean;
  /** Chunks still wanted (for a server that ignores Range and sends everything). */
  readonly wanted: (index: number) => boolean;
  /** How many chunks are still wanted at all; a whole-blob stream stops at 0. */
  readonly remaining: () => number;
  /** A whole-blob stream is about to be read; false when one is already being read from this mirror. */
  readonly startWhole: () => boolean;
  readonly endWhole: () => void;
  /** Receives a verified chunk; `bytes` is reused for the next chunk once the returned promise settles. */
  readonly deliver: (index: number, offset: number, bytes: Buffer) => Promise<void>;
  /** Chunk buffers shared by the runs of one download; a run allocates its own when absent. */
  readonly buffers?: BufferPool | undefined;
  /** The mirror's strong ETag, as soon as the first response headers show it. */
  readonly learnEtag: (etag: string) => Promise<void>;
  readonly onBytes: (n: number) => void;
  readonly minBytesPerSecond: number;
  readonly graceMs: number;
}

export interface RunResult {
  readonly etag: string | null;
  /** The server answered 200 to a range request and sent the whole blob. */
  readonly rangeIgnored: boolean;
  /** The whole blob was already being read by another connection: this run was not served. */
  readonly deferred?: boolean;
  readonly retryAfter: string | undefined;
}

/** Strong ETags only: a weak one may not be used with If-Range. */
export function strongEtag(value: string | undefined): string | null {
  return value && !value.startsWith('W/') ? value : null;
}

export async function fetchRun(ctx: RunContext, url: URL, run: readonly number[]): Promise<RunResult> {
  const { pack } = ctx;
  const [start] = chunkRange(pack, run[0]!);
  const [, end] = chunkRange(pack, run.at(-1)!);
  const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` };
  if (ctx.etag) headers['if-range'] = ctx.etag;
  const res = await httpGet(ctx.http, url, headers, ctx.signal);
  const etag = strongEtag(header(res.headers, 'etag'));
  const fail = async (err: UpdateError): Promise<never> => {
    await res.dump().catch(() => undefined);
    throw err;
  };
  if (ctx.etag && etag !== ctx.etag) await fail(blobChangedError(url, etag));
  if (!ctx.etag && etag && (res.status === 206 || res.status === 200)) await ctx.learnEtag(etag);
  let from: number;
  let to: number;
  let whole = false;
  if (res.status === 206) {
    const expected = `bytes ${start}-${end - 1}/${pack.size}`;
    const got = header(res.headers, 'content-range');
    if (got !== expected) {
      await fail(new UpdateError('NETWORK', `${url.href} sent Content-Range ${JSON.stringify(got)}, expected ${expected}`, { details: { url: url.href } }));
    }
    from = start;
    to = end;
  } else if (res.status === 200) {
    // Range ignored: the whole blob follows. One connection takes every chunk still wanted from it.
    if (!ctx.startWhole()) {
      res.destroy();
      return { etag, rangeIgnored: true, deferred: true, retryAfter: undefined };
    }
    from = 0;
    to = pack.size;
    whole = true;
  } else {
    const retryAfter = header(res.headers, 'retry-after');
    await fail(
      new UpdateError('NETWORK', `${url.href} answered HTTP ${res.status}`, {
        details: { url: url.href, status: res.status, ...(retryAfter ? { retryAfter } : {}) },
      }),
    );
    throw new Error('unreachable');
  }

  const firstChunk = Math.floor(from / pack.chunkSize);
  let index = firstChunk;
  let [chunkStart, chunkEnd] = chunkRange(pack, index);
  const pool = ctx.buffers ?? new BufferPool(pack.chunkSize, 1);
  const backing = pool.acquire();
  let buffer = backing.subarray(0, chunkEnd - chunkStart);
  let filled = 0;
  let hash = createHash('sha256');
  let received = 0;
  let ownMs = 0; // time spent in our throttle and disk writes: not the server's fault
  const began = ctx.clock.now();
  const lastIndex = Math.floor((to - 1) / pack.chunkSize);

  let stopped = false; // a whole-blob stream that got every chunk still wanted
  // A verified chunk being written when the body fails (abort, reset) is still kept:
  // its write finishes before the run settles and before its buffer is reused.
  let delivering: Promise<void> | null = null;

  /** Copies, hashes and delivers `piece` from `pos` on; a promise when it has to wait for a delivery. */
  const consume = (piece: Buffer, pos: number, t0: number): PieceResult => {
    while (pos < piece.length) {
      if (index > lastIndex) {
        if (whole) throw new UpdateError('TOO_LARGE', `${url.href} is longer than the ${pack.size} bytes the manifest states`, { details: { url: url.href } });
        throw new UpdateError('TOO_LARGE', `${url.href} sent more bytes than the range asked for`, { details: { url: url.href } });
      }
      const take = Math.min(piece.length - pos, buffer.length - filled);
      const slice = piece.subarray(pos, pos + take);
      slice.copy(buffer, filled);
      hash.update(slice);
      filled += take;
      pos += take;
      // Counted as they enter a chunk, not as the piece arrives: a piece that spans a
      // chunk end is not reported until the chunk before is delivered, so the bytes
      // reported but not yet kept never exceed one chunk per connection.
      ctx.onBytes(take);
      if (filled === buffer.length) {
        const actual = hash.digest('hex');
        const mine = whole ? ctx.wanted(index) : true;
        if (mine && actual !== pack.chunks[index]) {
          throw new UpdateError('CHECKSUM_MISMATCH', `chunk ${index} from ${url.href} does not match its SHA-256`, {
            details: { url: url.href, chunk: index, expected: pack.chunks[index], actual },
          });
        }
        if (mine && ctx.claim(index)) {
          const at = pos;
          delivering = ctx.deliver(index, chunkStart, buffer);
          return delivering.then(() => {
            delivering = null;
            return nextChunk() ? 'stop' : consume(piece, at, t0);
          });
        }
        if (nextChunk()) return 'stop';
      }
    }
    ownMs += ctx.clock.now() - t0;
    const serverMs = ctx.clock.now() - began - ownMs;
    if (serverMs > ctx.graceMs && (received * 1000) / serverMs < ctx.minBytesPerSecond) {
      throw new UpdateError('NETWORK', `${url.href} is too slow (${Math.round((received * 1000) / serverMs)} B/s, minimum ${ctx.minBytesPerSecond})`, {
        details: { url: url.href },
      });
    }
    return undefined;
  };

  /** After a complete chunk: true when a whole-blob stream can stop, else set up the next chunk. */
  const nextChunk = (): boolean => {
    index++;
    if (whole && ctx.remaining() === 0) return (stopped = true);
    if (index <= lastIndex) {
      [chunkStart, chunkEnd] = chunkRange(pack, index);
      buffer = backing.subarray(0, chunkEnd - chunkStart);
      filled = 0;
      hash = createHash('sha256');
    }
    return false;
  };

  const onPiece = (piece: Buffer): PieceResult => {
    const t0 = ctx.clock.now();
    const accept = (): PieceResult => {
      received += piece.length;
      return consume(piece, 0, t0);
    };
    if (ctx.throttle.tryTake(piece.length)) return accept();
    return ctx.throttle.take(piece.length, ctx.signal).then(accept);
  };

  try {
    await res.read(onPiece);
  } catch (err) {
    res.destroy();
    if (delivering) await (delivering as Promise<void>).catch(() => undefined);
    throw networkError(err, url, ctx.signal);
  } finally {
    if (whole) ctx.endWhole();
    pool.release(backing);
  }
  if (stopped) return { etag, rangeIgnored: true, retryAfter: undefined };
  if (index <= lastIndex) {
    throw new UpdateError('NETWORK', `${url.href} ended the body early after ${received} bytes`, { details: { url: url.href } });
  }
  return { etag, rangeIgnored: whole, retryAfter: undefined };
}
