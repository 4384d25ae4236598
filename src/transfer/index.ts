/**
 * transfer/: every byte twinslot fetches goes through here: undici with caps and
 * identity encoding, parallel ranged chunk downloads with resume hooks, one shared
 * throttle, retries with jitter, mirrors, progress.
 * @module
 */
export {
  DEFAULT_HTTP,
  type GetResult,
  type HttpSettings,
  type OnPiece,
  type PieceResult,
  builtInTransport,
  checkAborted,
  defaultDispatcher,
  header,
  httpGet,
  networkError,
  readCapped,
} from './http.js';
export { closeIdleConnections } from './h1.js';
export { type DocumentResult, fetchDocument } from './document.js';
export { blobChangedError, isBlobChanged, type RunContext, type RunResult, chunkRange, coalesce, fetchRun, strongEtag } from './range-fetch.js';
export { type PackDownloadOptions, downloadPack } from './pack-download.js';
export { DEFAULT_RETRY, type RetryPolicy, backoffMs, isRetryable, parseRetryAfter } from './retry.js';
export { Throttle } from './throttle.js';
export { BufferPool } from './buffer-pool.js';
export { ProgressMeter } from './progress.js';
