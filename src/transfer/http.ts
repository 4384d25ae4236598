/**
 * One GET with the rules every twinslot request follows: identity encoding only (a
 * Content-Encoding could be a compression bomb), redirects followed by us (at most 5,
 * never from https to http), timeouts on connect, headers and idle body, and an
 * AbortSignal. Callers read the body piece by piece, with their own byte caps.
 *
 * Two transports sit behind it. A dispatcher given by the user (custom CA, pinning,
 * proxy) handles every request through undici. Twinslot's own default dispatcher
 * (`defaultDispatcher()`) is undici's EnvHttpProxyAgent; while no proxy is set in
 * the environment its requests go through the small client in h1.ts instead, which
 * streams a body through one reused buffer per connection: no per-read garbage and
 * no WASM parser to compile, so a download's memory stays flat at any blob size.
 *
 * @module
 */
import { type Dispatcher, EnvHttpProxyAgent, request } from 'undici';
import { UpdateError } from '../errors.js';
import { type H1Settings, type OnPiece, h1Get } from './h1.js';

export type { OnPiece, PieceResult } from './h1.js';

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

/**
 * A response with its body unread. `read` hands the body to `onPiece` piece by piece
 * and waits for the promise `onPiece` may return before going on; a piece's bytes
 * are only valid until then (the built-in client reuses its read buffer).
 */
export interface GetResult {
  readonly url: URL;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Resolves at the end of the body, or once `onPiece` returned 'stop'. Call once. */
  read(onPiece: OnPiece): Promise<void>;
  /** Discards the body. */
  dump(): Promise<void>;
  destroy(): void;
}

const MAX_REDIRECTS = 5;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'] as const;

const defaults = new Map<number, Dispatcher>();
/** Dispatchers made by defaultDispatcher() while no proxy was configured, with their connect timeout. */
const direct = new WeakMap<Dispatcher, number>();

function proxyConfigured(): boolean {
  return PROXY_VARIABLES.some((name) => Boolean(process.env[name]));
}

/**
 * The dispatcher of an updater that was not given one: undici's EnvHttpProxyAgent
 * (http_proxy / https_proxy / no_proxy), one per connect timeout, shared. Requests
 * under it use the built-in client unless a proxy is configured.
 */
export function defaultDispatcher(connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Dispatcher {
  let dispatcher = defaults.get(connectTimeoutMs);
  if (!dispatcher) {
    dispatcher = new EnvHttpProxyAgent({ connect: { timeout: connectTimeoutMs } });
    defaults.set(connectTimeoutMs, dispatcher);
    if (!proxyConfigured()) direct.set(dispatcher, connectTimeoutMs);
  }
  return dispatcher;
}

/** Settings for h1.ts when requests under `settings` may bypass undici; null when they go through the dispatcher. */
export function builtInTransport(settings: HttpSettings): H1Settings | null {
  const connectTimeoutMs = settings.dispatcher ? direct.get(settings.dispatcher) : undefined;
  if (connectTimeoutMs === undefined || proxyConfigured()) return null;
  return { connectTimeoutMs, headersTimeoutMs: settings.headersTimeoutMs, bodyTimeoutMs: settings.bodyTimeoutMs };
}

/** GET `url`, following redirects; returns the final response with its body unread. */
export async function httpGet(settings: HttpSettings, url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<GetResult> {
  const all = { 'user-agent': settings.userAgent, 'accept-encoding': 'identity', ...headers };
  const builtIn = builtInTransport(settings);
  let current = url;
  for (let hop = 0; ; hop++) {
    checkAborted(signal);
    let res: GetResult;
    try {
      res = builtIn ? await builtInGet(builtIn, current, all, signal) : await undiciGet(settings, current, all, signal);
    } catch (err) {
      throw networkError(err, current, signal);
    }
    const { status } = res;
    if (status >= 300 && status < 400 && status !== 304) {
      await res.dump().catch(() => undefined);
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
      await res.dump().catch(() => undefined);
      throw new UpdateError('NETWORK', `${current} answered with Content-Encoding "${encoding.slice(0, 40)}"; only identity is accepted`, {
        details: { url: current.href },
      });
    }
    return res;
  }
}

/** One request through h1.ts, as a GetResult. */
async function builtInGet(settings: H1Settings, url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<GetResult> {
  const res = await h1Get(url, headers, settings, signal);
  return {
    url,
    status: res.status,
    headers: res.headers,
    read: (onPiece) => res.read(onPiece),
    dump: () => res.dump(),
    destroy: () => res.destroy(),
  };
}

/** One request through undici and the settings' dispatcher, as a GetResult. */
async function undiciGet(settings: HttpSettings, url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<GetResult> {
  const res = await request(url, {
    method: 'GET',
    headers,
    signal,
    headersTimeout: settings.headersTimeoutMs,
    bodyTimeout: settings.bodyTimeoutMs,
    ...(settings.dispatcher ? { dispatcher: settings.dispatcher } : {}),
  });
  const { body } = res;
  return {
    url,
    status: res.statusCode,
    headers: res.headers,
    read: async (onPiece) => {
      for await (const piece of body as AsyncIterable<Buffer>) {
        let next = onPiece(piece);
        if (next !== undefined && next !== 'stop') next = await next;
        if (next === 'stop') {
          body.destroy();
          return;
        }
      }
    },
    dump: async () => {
      await body.dump();
    },
    destroy: () => {
      body.destroy();
    },
  };
}

/** Reads a whole body, aborting as soon as it passes `maxBytes`. */
export async function readCapped(result: GetResult, maxBytes: number, what: string, signal?: AbortSignal): Promise<Buffer> {
  const tooLarge = (text: string): UpdateError => new UpdateError('TOO_LARGE', text, { details: { url: result.url.href } });
  const declared = Number(header(result.headers, 'content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    result.destroy();
    throw tooLarge(`${what} is ${declared} bytes, over the ${maxBytes}-byte cap`);
  }
  const parts: Buffer[] = [];
  let total = 0;
  try {
    await result.read((piece) => {
      total += piece.length;
      if (total > maxBytes) throw tooLarge(`${what} is over the ${maxBytes}-byte cap`);
      parts.push(Buffer.from(piece)); // a copy: the piece's memory is reused
      return undefined;
    });
  } catch (err) {
    result.destroy();
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
