/**
 * Downloads chunks of a pack blob by HTTP Range and hands each one on only after its
 * SHA-256 matched the signed manifest. Adjacent chunks are coalesced into one request.
 * Bytes are hashed as they stream in; a chunk is never re-read from disk to verify it.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { UpdateError } from '../errors.js';
import type { Pack } from '../manifest/release.js';
import { type HttpSettings, checkAborted, header, httpGet, networkError } from './http.js';

/** Receives a verified chunk: its index, its offset in the pack, its bytes. */
export type ChunkSink = (index: number, offset: number, bytes: Buffer) => Promise<void>;

export interface ChunkJob {
  readonly url: URL;
  readonly pack: Pack;
  /** Chunk indexes to fetch, ascending. */
  readonly chunks: readonly number[];
}

export interface ChunkHooks {
  readonly signal?: AbortSignal | undefined;
  /** Called as body bytes arrive (before verification), for progress. */
  readonly onBytes?: ((n: number) => void) | undefined;
}

/** Byte range of chunk `index`: [start, end). */
export function chunkRange(pack: Pack, index: number): [number, number] {
  const start = index * pack.chunkSize;
  return [start, Math.min(start + pack.chunkSize, pack.size)];
}

/** Groups ascending chunk indexes into runs of adjacent ones. */
export function coalesce(chunks: readonly number[], maxRun = Number.MAX_SAFE_INTEGER): number[][] {
  const runs: number[][] = [];
  for (const index of chunks) {
    const last = runs.at(-1);
    if (last && last.at(-1) === index - 1 && last.length < maxRun) last.push(index);
    else runs.push([index]);
  }
  return runs;
}

/** Fetches every chunk of `job` over one connection, run by run. */
export async function downloadChunks(settings: HttpSettings, job: ChunkJob, sink: ChunkSink, hooks: ChunkHooks = {}): Promise<void> {
  for (const run of coalesce(job.chunks)) {
    await fetchRun(settings, job, run, sink, hooks);
  }
}

/** Fetches one run of adjacent chunks with a single ranged GET. */
export async function fetchRun(settings: HttpSettings, job: ChunkJob, run: readonly number[], sink: ChunkSink, hooks: ChunkHooks): Promise<void> {
  const { pack, url } = job;
  const [start] = chunkRange(pack, run[0]!);
  const [, end] = chunkRange(pack, run.at(-1)!);
  checkAborted(hooks.signal);
  const res = await httpGet(settings, url, { range: `bytes=${start}-${end - 1}` }, hooks.signal);
  if (res.status === 206) {
    const contentRange = header(res.headers, 'content-range');
    if (contentRange !== `bytes ${start}-${end - 1}/${pack.size}`) {
      res.body.destroy();
      throw new UpdateError('NETWORK', `${url.href} sent Content-Range ${JSON.stringify(contentRange)} for bytes ${start}-${end - 1}/${pack.size}`, {
        details: { url: url.href },
      });
    }
  } else if (res.status === 200) {
    // The server ignored Range. Fine from the first byte: read what we need and hang up.
    if (start !== 0) {
      res.body.destroy();
      throw new UpdateError('NETWORK', `${url.href} ignored the Range header`, { details: { url: url.href, status: 200 } });
    }
  } else {
    await res.body.dump().catch(() => undefined);
    throw new UpdateError('NETWORK', `${url.href} answered HTTP ${res.status} to a range request`, { details: { url: url.href, status: res.status } });
  }

  let runIndex = 0;
  let [chunkStart, chunkEnd] = chunkRange(pack, run[0]!);
  let buffer = Buffer.allocUnsafe(chunkEnd - chunkStart);
  let filled = 0;
  let hash = createHash('sha256');
  try {
    for await (const piece of res.body as AsyncIterable<Buffer>) {
      let pos = 0;
      hooks.onBytes?.(piece.length);
      while (pos < piece.length) {
        if (runIndex >= run.length) {
          // More bytes than asked for: a 200 to a whole-blob request, or a lying server.
          if (res.status === 200) {
            res.body.destroy();
            return;
          }
          throw new UpdateError('TOO_LARGE', `${url.href} sent more bytes than the range asked for`, { details: { url: url.href } });
        }
        const take = Math.min(piece.length - pos, buffer.length - filled);
        const slice = piece.subarray(pos, pos + take);
        slice.copy(buffer, filled);
        hash.update(slice);
        filled += take;
        pos += take;
        if (filled === buffer.length) {
          const index = run[runIndex]!;
          const actual = hash.digest('hex');
          if (actual !== pack.chunks[index]) {
            throw new UpdateError('CHECKSUM_MISMATCH', `chunk ${index} of ${url.href} does not match its SHA-256`, {
              details: { url: url.href, chunk: index, expected: pack.chunks[index], actual },
            });
          }
          await sink(index, chunkStart, buffer);
          runIndex++;
          if (runIndex < run.length) {
            [chunkStart, chunkEnd] = chunkRange(pack, run[runIndex]!);
            buffer = Buffer.allocUnsafe(chunkEnd - chunkStart);
            filled = 0;
            hash = createHash('sha256');
          }
        }
      }
    }
  } catch (err) {
    res.body.destroy();
    throw networkError(err, url, hooks.signal);
  }
  if (runIndex < run.length) {
    throw new UpdateError('NETWORK', `${url.href} ended the body early (short read)`, { details: { url: url.href } });
  }
}
