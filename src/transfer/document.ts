/**
 * Fetches a small document (channel, release manifest, root keys) with a byte cap,
 * optionally conditional on an ETag.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import { type HttpSettings, header, httpGet, readCapped } from './http.js';

export type DocumentResult =
  | { readonly status: 200; readonly bytes: Buffer; readonly etag: string | null; readonly maxAgeMs: number | null }
  | { readonly status: 304; readonly maxAgeMs: number | null };

/** `Cache-Control: max-age=N` in ms (capped at a day), or null; `no-cache`/`no-store` mean 0. */
export function parseMaxAge(value: string | undefined): number | null {
  if (!value) return null;
  if (/(^|,)\s*(no-cache|no-store)\s*(,|$)/i.test(value)) return 0;
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,9})"?\s*(?:,|$)/i.exec(value);
  return m ? Math.min(Number(m[1]) * 1000, 86_400_000) : null;
}

export async function fetchDocument(
  settings: HttpSettings,
  url: URL,
  options: { maxBytes: number; what: string; etag?: string | null | undefined; signal?: AbortSignal | undefined },
): Promise<DocumentResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.etag) headers['if-none-match'] = options.etag;
  const res = await httpGet(settings, url, headers, options.signal);
  const maxAgeMs = parseMaxAge(header(res.headers, 'cache-control'));
  if (res.status === 304 && options.etag) {
    await res.dump().catch(() => undefined);
    return { status: 304, maxAgeMs };
  }
  if (res.status !== 200) {
    await res.dump().catch(() => undefined);
    throw new UpdateError('NETWORK', `${options.what}: ${url.href} answered HTTP ${res.status}`, { details: { url: url.href, status: res.status } });
  }
  const bytes = await readCapped(res, options.maxBytes, options.what, options.signal);
  return { status: 200, bytes, etag: header(res.headers, 'etag') ?? null, maxAgeMs };
}
