/**
 * transfer/: every byte twinslot fetches goes through here (undici, caps, ranges).
 * @module
 */
export { DEFAULT_HTTP, type GetResult, type HttpSettings, checkAborted, header, httpGet, networkError, readCapped } from './http.js';
export { type DocumentResult, fetchDocument } from './document.js';
export { type ChunkHooks, type ChunkJob, type ChunkSink, chunkRange, coalesce, downloadChunks, fetchRun } from './chunk-download.js';
