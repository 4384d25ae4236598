/**
 * The transfer engine: fetches the needed chunks of a pack over parallel ranged
 * requests. Work is split into runs of adjacent chunks, one queue for all
 * connections; a failed run is retried for its missing chunks only, with backoff and
 * full jitter (or the server's Retry-After), then on the next mirror. A server that
 * ignores Range is read as one stream; a changed ETag starts the blob over.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import type { Clock, RandomSource } from '../io/clock.js';
import type { Pack } from '../manifest/release.js';
import { BufferPool } from './buffer-pool.js';
import type { HttpSettings } from './http.js';
import { type RunContext, coalesce, fetchRun, isBlobChanged } from './range-fetch.js';
import { type RetryPolicy, backoffMs, isRetryable, parseRetryAfter } from './retry.js';
import type { Throttle } from './throttle.js';

export interface PackDownloadOptions {
  readonly http: HttpSettings;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly throttle: Throttle;
  readonly retry: RetryPolicy;
  /** The pack's URL on each mirror, primary first. */
  readonly urls: readonly URL[];
  readonly pack: Pack;
  /** Needed chunk indexes, ascending. */
  readonly chunks: readonly number[];
  /** What to fetch after the blob changed (default `chunks`): chunks resumed from an earlier run are stale too. */
  readonly restartChunks?: readonly number[];
  readonly connections: number;
  /** Strong ETags seen on earlier runs, by URL. */
  readonly etags: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  readonly minBytesPerSecond: number;
  readonly graceMs: number;
  /** Receives each verified chunk exactly once; `bytes` is reused once the returned promise settles. */
  readonly deliver: (index: number, offset: number, bytes: Buffer) => Promise<void>;
  /** A mirror's ETag was learnt; persist it for If-Range after a restart. */
  readonly onEtag: (url: string, etag: string) => Promise<void>;
  /** The blob changed on the server: discard every chunk delivered so far. */
  readonly onRestart: () => Promise<void>;
  readonly onBytes: (n: number) => void;
  /** A request failed and its chunks are queued again (`failover`: on the next mirror). For logs only. */
  readonly onRetry?: (notice: { url: URL; code: string; attempt: number; mirror: number; failover: boolean; waitMs: number }) => void;
}

interface WorkItem {
  chunks: number[];
  attempt: number;
  mirror: number;
  notBefore: number;
}

interface MirrorState {
  readonly url: URL;
  etag: string | null;
  /** Someone is reading this mirror's whole blob (it ignores Range). */
  streaming: boolean;
}

const MAX_RESTARTS = 2;
const MAX_RUN_BYTES = 128 * 1024 * 1024;

export async function downloadPack(o: PackDownloadOptions): Promise<void> {
  if (o.urls.length === 0) throw new UpdateError('INVALID_OPTIONS', 'no URL to download from');
  const mirrors: MirrorState[] = o.urls.map((url) => ({ url, etag: o.etags[url.href] ?? null, streaming: false }));
  let chunks = o.chunks;
  for (let restarts = 0; ; restarts++) {
    try {
      await downloadOnce(o, chunks, mirrors);
      return;
    } catch (err) {
      if (!isBlobChanged(err) || restarts >= MAX_RESTARTS) throw err;
      // Content-addressed blobs do not change; when one does, trust nothing fetched before.
      await o.onRestart();
      for (const m of mirrors) m.etag = null;
      chunks = o.restartChunks ?? o.chunks;
    }
  }
}

async function downloadOnce(o: PackDownloadOptions, chunkList: readonly number[], mirrors: MirrorState[]): Promise<void> {
  const needed = new Set(chunkList);
  const done = new Set<number>();
  const maxRun = Math.max(1, Math.min(Math.ceil(chunkList.length / o.connections), Math.floor(MAX_RUN_BYTES / o.pack.chunkSize)));
  const queue: WorkItem[] = coalesce(chunkList, maxRun).map((chunks) => ({ chunks, attempt: 0, mirror: 0, notBefore: 0 }));
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(o.signal!.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let inFlight = 0;
  let failure: unknown = null;
  const buffers = new BufferPool(o.pack.chunkSize, o.connections);

  const context = (mirror: MirrorState): RunContext => ({
    http: o.http,
    clock: o.clock,
    throttle: o.throttle,
    pack: o.pack,
    signal: abort.signal,
    etag: mirror.etag,
    claim: (index) => {
      if (done.has(index) || !needed.has(index)) return false;
      done.add(index); // synchronously, so two streams never deliver one chunk twice
      return true;
    },
    wanted: (index) => needed.has(index) && !done.has(index),
    remaining: () => needed.size - done.size,
    startWhole: () => {
      if (mirror.streaming) return false;
      mirror.streaming = true;
      return true;
    },
    endWhole: () => {
      mirror.streaming = false;
    },
    deliver: o.deliver,
    buffers,
    learnEtag: async (etag) => {
      if (mirror.etag !== null) return;
      mirror.etag = etag;
      await o.onEtag(mirror.url.href, etag);
    },
    onBytes: o.onBytes,
    minBytesPerSecond: o.minBytesPerSecond,
    graceMs: o.graceMs,
  });

  const worker = async (): Promise<void> => {
    while (failure === null && done.size < needed.size) {
      const now = o.clock.now();
      const at = queue.findIndex((item) => item.notBefore <= now && !mirrors[item.mirror]?.streaming);
      if (at < 0) {
        if (queue.length === 0 && inFlight === 0) return;
        await o.clock.sleep(20, abort.signal);
        continue;
      }
      const item = queue.splice(at, 1)[0]!;
      const chunks = item.chunks.filter((c) => !done.has(c));
      if (chunks.length === 0) continue;
      // Chunks delivered by a whole-blob stream may have split the run: re-queue the tail.
      const [run, ...rest] = coalesce(chunks);
      for (const extra of rest) queue.push({ ...item, chunks: extra });
      const mirror = mirrors[item.mirror]!;
      inFlight++;
      try {
        const result = await fetchRun(context(mirror), mirror.url, run!);
        if (result.deferred) queue.push({ ...item, chunks: run!, notBefore: o.clock.now() + 20 });
      } catch (err) {
        if (isBlobChanged(err) || abort.signal.aborted || !isRetryable(err)) throw err;
        const left = run!.filter((c) => !done.has(c));
        if (left.length > 0) queue.push(reschedule(o, { ...item, chunks: left }, err, mirrors.length));
      } finally {
        inFlight--;
      }
    }
  };

  try {
    const workers = Array.from({ length: Math.max(1, Math.min(o.connections, queue.length)) }, () =>
      worker().catch((err: unknown) => {
        failure ??= err;
        abort.abort(err);
      }),
    );
    await Promise.all(workers);
    if (failure !== null) throw failure;
    if (done.size < needed.size) throw new UpdateError('NETWORK', `${needed.size - done.size} chunk(s) could not be fetched`);
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** The next attempt of `item` after `err`: later on the same mirror, or on the next. */
function reschedule(o: PackDownloadOptions, item: WorkItem, err: unknown, mirrorCount: number): WorkItem {
  const now = o.clock.now();
  const retryAfter = err instanceof UpdateError ? parseRetryAfter(err.details.retryAfter as string | undefined, now) : null;
  let { attempt, mirror } = item;
  attempt++;
  // A mirror that served wrong bytes will serve them again: move on at once.
  const wrongBytes = err instanceof UpdateError && err.code === 'CHECKSUM_MISMATCH';
  if (wrongBytes || attempt >= o.retry.attemptsPerMirror || (retryAfter !== null && retryAfter > o.retry.maxRetryAfterMs && mirror + 1 < mirrorCount)) {
    mirror++;
    attempt = 0;
  }
  if (mirror >= mirrorCount) throw err;
  const wait = attempt === 0 ? 0 : retryAfter !== null ? Math.min(retryAfter, o.retry.maxRetryAfterMs) : backoffMs(o.retry, attempt, o.random);
  const code = err instanceof UpdateError ? err.code : 'NETWORK';
  o.onRetry?.({ url: o.urls[item.mirror]!, code, attempt, mirror, failover: mirror !== item.mirror, waitMs: wait });
  return { chunks: item.chunks, attempt, mirror, notBefore: now + wait };
}
