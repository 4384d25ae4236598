/**
 * Fetches a small document (channel, release manifest, root keys) with a byte cap,
 * optionally conditional on an ETag.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import { type HttpSettings, header, httpGet, readCapped } from './http.js';

export type DocumentResult =
  | { readonly status: 200; readonly bytes: Buffer; readonly etag: string | null }
  | { readonly status: 304 };

export async function fetchDocument(
  settings: HttpSettings,
  url: URL,
  options: { maxBytes: number; what: string; etag?: string | null | undefined; signal?: AbortSignal | undefined },
): Promise<DocumentResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.etag) headers['if-none-match'] = options.etag;
  const res = await httpGet(settings, url, headers, options.signal);
  if (res.status === 304 && options.etag) {
    await res.body.dump().catch(() => undefined);
    return { status: 304 };
  }
  if (res.status !== 200) {
    await res.body.dump().catch(() => undefined);
    throw new UpdateError('NETWORK', `${options.what}: ${url.href} answered HTTP ${res.status}`, { details: { url: url.href, status: res.status } });
  }
  const bytes = await readCapped(res, options.maxBytes, options.what, options.signal);
  return { status: 200, bytes, etag: header(res.headers, 'etag') ?? null };
}
