/**
 * One GET over undici with the rules every twinslot request follows: identity
 * encoding only (a Content-Encoding could be a compression bomb), redirects followed
 * by us (at most 5, never from https to http), timeouts on connect, headers and idle
 * body, and an AbortSignal. Callers read the body with their own byte caps.
 *
 * @module
 */
import { type Dispatcher, request } from 'undici';
import { UpdateError } from '../errors.js';

export interface HttpSettings {
  /** undici dispatcher (custom CA, pinning, proxy); undici's global one when absent. */
  readonly dispatcher?: Dispatcher | undefined;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly userAgent: string;
}

export const DEFAULT_HTTP: HttpSettings = {
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  userAgent: 'twinslot',
};

export interface GetResult {
  readonly url: URL;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Dispatcher.ResponseData['body'];
}

const MAX_REDIRECTS = 5;

/** GET `url`, following redirects; returns the final response with its body unread. */
export async function httpGet(
  settings: HttpSettings,
  url: URL,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<GetResult> {
  let current = url;
  for (let hop = 0; ; hop++) {
    checkAborted(signal);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(current, {
        method: 'GET',
        headers: { 'user-agent': settings.userAgent, 'accept-encoding': 'identity', ...headers },
        signal,
        headersTimeout: settings.headersTimeoutMs,
        bodyTimeout: settings.bodyTimeoutMs,
        ...(settings.dispatcher ? { dispatcher: settings.dispatcher } : {}),
      });
    } catch (err) {
      throw networkError(err, current, signal);
    }
    const { statusCode } = res;
    if (statusCode >= 300 && statusCode < 400 && statusCode !== 304) {
      await res.body.dump().catch(() => undefined);
      const location = header(res.headers, 'location');
      if (!location) throw new UpdateError('NETWORK', `${current} redirected without a Location`, { details: { url: current.href } });
      if (hop >= MAX_REDIRECTS) throw new UpdateError('NETWORK', `${url} redirected more than ${MAX_REDIRECTS} times`, { details: { url: url.href } });
      const next = new URL(location, current);
      if (current.protocol === 'https:' && next.protocol !== 'https:') {
        throw new UpdateError('NETWORK', `refused a redirect from https to ${next.protocol} (${next.href})`, { details: { url: current.href } });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new UpdateError('NETWORK', `refused a redirect to ${next.protocol}`, { details: { url: current.href } });
      }
      current = next;
      continue;
    }
    const encoding = header(res.headers, 'content-encoding');
    if (encoding && encoding.trim().toLowerCase() !== 'identity') {
      await res.body.dump().catch(() => undefined);
      throw new UpdateError('NETWORK', `${current} answered with Content-Encoding "${encoding.slice(0, 40)}"; only identity is accepted`, {
        details: { url: current.href },
      });
    }
    return { url: current, status: statusCode, headers: res.headers, body: res.body };
  }
}

/** Reads a whole body, aborting as soon as it passes `maxBytes`. */
export async function readCapped(result: GetResult, maxBytes: number, what: string, signal?: AbortSignal): Promise<Buffer> {
  const declared = Number(header(result.headers, 'content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    result.body.destroy();
    throw new UpdateError('TOO_LARGE', `${what} is ${declared} bytes, over the ${maxBytes}-byte cap`, { details: { url: result.url.href } });
  }
  const parts: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of result.body) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) {
        result.body.destroy();
        throw new UpdateError('TOO_LARGE', `${what} is over the ${maxBytes}-byte cap`, { details: { url: result.url.href } });
      }
      parts.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof UpdateError) throw err;
    throw networkError(err, result.url, signal);
  }
  return Buffer.concat(parts, total);
}

export function header(headers: GetResult['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new UpdateError('ABORTED', 'the operation was aborted', { cause: signal.reason });
}

/** Wraps a transport failure: ABORTED when the signal fired, NETWORK otherwise. */
export function networkError(err: unknown, url: URL, signal?: AbortSignal): UpdateError {
  if (err instanceof UpdateError) return err;
  if (signal?.aborted) return new UpdateError('ABORTED', 'the operation was aborted', { cause: signal.reason });
  const reason = err instanceof Error ? err.message : String(err);
  return new UpdateError('NETWORK', `GET ${url.href} failed: ${reason}`, { cause: err, details: { url: url.href } });
}
