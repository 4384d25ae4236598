/**
 * A small HTTP/1.1 client for the bulk of the bytes: GETs of pack blobs over TCP or
 * TLS, with keep-alive. It exists for memory, not features. Each connection reads
 * into one preallocated buffer (net's `onread`), and a body piece is handed to the
 * caller as a view of that buffer, valid until the caller is done with it; reading
 * stops meanwhile. Streaming a blob through undici or node:http allocates a fresh
 * buffer per socket read instead (and undici compiles its WASM parser); at hundreds
 * of MB/s that garbage piles up to tens of MiB before the GC returns it.
 *
 * Used only where the transfer settings allow it (see http.ts): a dispatcher given
 * by the user, or a proxy from the environment, always goes through undici.
 *
 * What it accepts is deliberately narrow: HTTP/1.0 or 1.1 status line, CRLF line
 * ends, no folded headers, header block at most 64 KiB, a body framed by one
 * Content-Length, by `Transfer-Encoding: chunked`, or by the end of the connection.
 * Anything else is an error (the caller retries or moves to another mirror).
 *
 * @module
 */
import { type Socket, connect as netConnect, isIP } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

export interface H1Settings {
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  /** Longest wait for the next bytes of a body while the caller is reading. */
  readonly bodyTimeoutMs: number;
}

/** What the body reader returns: nothing to go on, 'stop' to drop the rest, or a promise of either. */
export type PieceResult = undefined | 'stop' | Promise<undefined | 'stop'>;

/** Receives a body piece; the bytes are only valid until it returns or the promise it returns settles. */
export type OnPiece = (piece: Buffer) => PieceResult;

export interface H1Response {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Feeds the body to `onPiece`; resolves at its end or when `onPiece` said 'stop'. Call once. */
  read(onPiece: OnPiece): Promise<void>;
  /** Discards the body: read off when short (the connection is kept), else the connection is closed. */
  dump(): Promise<void>;
  destroy(): void;
}

const READ_BUFFER_BYTES = 256 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_HEADERS = 256;
const MAX_LINE_BYTES = 4096; // a chunk-size or trailer line
const MAX_TRAILER_BYTES = 16 * 1024;
const DUMP_LIMIT_BYTES = 64 * 1024;
const MAX_IDLE_PER_ORIGIN = 16;
/** Idle keep-alive connections are closed after this; shorter than common server keep-alive timeouts. */
const IDLE_TIMEOUT_MS = 4_000;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Header values: visible ASCII, space, tab, obs-text. No other control characters.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: [\t\x20-\x7e\x80-\xff]*)?$/;
const HEADER_LINE = /^([^:]+):[ \t]*(.*?)[ \t]*$/s;
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;.*)?$/s;

/** A connection-level failure before any byte of the response: safe to retry on a fresh connection. */
class StaleConnection extends Error {}

/** GET `url` over a kept-alive or new connection; resolves with the response head, body unread. */
export async function h1Get(url: URL, headers: Readonly<Record<string, string>>, settings: H1Settings, signal?: AbortSignal): Promise<H1Response> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
  const request = requestHead(url, headers);
  for (;;) {
    signal?.throwIfAborted();
    const reused = takeIdle(originKey(url));
    const conn = reused ?? (await Connection.open(url, settings, signal));
    try {
      return await conn.send(request, settings, signal, reused !== undefined);
    } catch (err) {
      // A kept-alive connection the server had already closed: try the next one, or a new one.
      if (err instanceof StaleConnection && !signal?.aborted) continue;
      throw err instanceof StaleConnection ? new Error(err.message, { cause: err.cause }) : err;
    }
  }
}

/** Closes every idle kept-alive connection (they are unref'd, so this is never needed for exit). */
export function closeIdleConnections(): void {
  for (const list of idle.values()) for (const conn of list.splice(0)) conn.socket.destroy();
  idle.clear();
}

function originKey(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

function requestHead(url: URL, headers: Readonly<Record<string, string>>): string {
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value) || name.toLowerCase() === 'host') throw new Error(`invalid request header ${JSON.stringify(name)}`);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

// ---- the pool of idle connections ------------------------------------------------------

const idle = new Map<string, Connection[]>();

function takeIdle(key: string): Connection | undefined {
  const list = idle.get(key);
  while (list && list.length > 0) {
    const conn = list.pop()!;
    if (!conn.socket.destroyed) {
      conn.wake();
      return conn;
    }
  }
  return undefined;
}

function putIdle(conn: Connection): boolean {
  let list = idle.get(conn.key);
  if (!list) idle.set(conn.key, (list = []));
  if (list.length >= MAX_IDLE_PER_ORIGIN) return false;
  list.push(conn);
  return true;
}

function dropIdle(conn: Connection): void {
  const list = idle.get(conn.key);
  const at = list?.indexOf(conn) ?? -1;
  if (at >= 0) list!.splice(at, 1);
  if (list && list.length === 0) idle.delete(conn.key);
}

// ---- one connection ------------------------------------------------------------------------

class Connection {
  readonly key: string;
  readonly buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  socket!: Socket;
  /** Unprocessed bytes of the last read: buffer[pos, end). */
  pos = 0;
  end = 0;
  exchange: Exchange | null = null;
  #connecting: ((err: Error) => void) | null = null;

  private constructor(key: string) {
    this.key = key;
  }

  static open(url: URL, settings: H1Settings, signal?: AbortSignal): Promise<Connection> {
    const conn = new Connection(originKey(url));
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const tls = url.protocol === 'https:';
    const port = Number(url.port) || (tls ? 443 : 80);
    const onread = { buffer: conn.buffer, callback: (n: number) => conn.#onRead(n) };
    return new Promise<Connection>((resolve, reject) => {
      const settle = (err: Error | null): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        conn.#connecting = null;
        if (err) {
          conn.socket.destroy();
          reject(err);
        } else {
          conn.socket.setNoDelay(true);
          resolve(conn);
        }
      };
      const onAbort = (): void => settle(new Error('aborted while connecting'));
      const timer = setTimeout(() => settle(new Error(`connect timeout after ${settings.connectTimeoutMs} ms (${url.host})`)), settings.connectTimeoutMs);
      conn.#connecting = settle;
      if (tls) {
        // onread is a documented tls.connect option that @types/node does not list.
        const options = { host, port, servername: isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], onread } as ConnectionOptions;
        conn.socket = tlsConnect(options, () => settle(null));
      } else {
        conn.socket = netConnect({ host, port, onread }, () => settle(null));
      }
      conn.#listen();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #listen(): void {
    const { socket } = this;
    socket.on('error', (err: Error) => {
      if (this.#connecting) this.#connecting(err);
      else if (this.exchange) this.exchange.fail(err);
      else this.close();
    });
    socket.on('end', () => {
      if (this.exchange) this.exchange.onEnd();
      else this.close();
    });
    socket.on('close', () => {
      dropIdle(this);
      if (this.#connecting) this.#connecting(new Error('the connection closed while connecting'));
      this.exchange?.fail(new Error('the connection closed'));
    });
    socket.on('timeout', () => {
      if (!this.exchange) this.close();
    });
  }

  /** net's onread callback: `n` new bytes at the start of the buffer. false pauses reading. */
  #onRead(n: number): boolean {
    this.pos = 0;
    this.end = n;
    if (!this.exchange) {
      // Bytes nobody asked for (or after a response ended): the stream is out of step.
      this.close();
      return false;
    }
    return this.exchange.pump(true);
  }

  send(request: string, settings: H1Settings, signal: AbortSignal | undefined, reused: boolean): Promise<H1Response> {
    const exchange = new Exchange(this, settings, signal, reused);
    this.exchange = exchange;
    this.pos = 0;
    this.end = 0;
    const head = exchange.head();
    this.socket.write(request, 'latin1');
    return head;
  }

  /** Back to the pool after a complete response; reading goes on so a close by the server is noticed. */
  release(): boolean {
    this.exchange = null;
    if (this.socket.destroyed || !putIdle(this)) {
      this.close();
      return false;
    }
    this.socket.unref();
    this.socket.setTimeout(IDLE_TIMEOUT_MS);
    return true;
  }

  wake(): void {
    this.socket.setTimeout(0);
    this.socket.ref();
  }

  close(): void {
    this.exchange = null;
    dropIdle(this);
    this.socket.destroy();
  }
}

// ---- one request and its response -------------------------------------------------------------

type Phase = 'head' | 'body' | 'done' | 'failed';
type Framing = 'length' | 'chunked' | 'close';
type ChunkState = 'size' | 'data' | 'data-end' | 'trailer';

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

class Exchange implements H1Response {
  status = 0;
  headers: Record<string, string | string[]> = {};
  readonly #conn: Connection;
  readonly #settings: H1Settings;
  readonly #signal: AbortSignal | undefined;
  readonly #reused: boolean;
  #phase: Phase = 'head';
  #gotBytes = false;
  #headAcc: Buffer | null = null;
  #headWaiter: Waiter<H1Response> | null = null;
  #bodyWaiter: Waiter<void> | null = null;
  #onPiece: OnPiece | null = null;
  #error: unknown = null;
  #timer: NodeJS.Timeout | null = null;
  #keepAlive = false;
  #framing: Framing = 'close';
  /** Body bytes left (length framing) or left in the current chunk (chunked). */
  #left = 0;
  #chunk: ChunkState = 'size';
  #line = '';
  #trailerBytes = 0;
  #handedOff = false;
  readonly #onAbort = (): void => this.fail(new Error('aborted'));

  constructor(conn: Connection, settings: H1Settings, signal: AbortSignal | undefined, reused: boolean) {
    this.#conn = conn;
    this.#settings = settings;
    this.#signal = signal;
    this.#reused = reused;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  head(): Promise<H1Response> {
    this.#timer = setTimeout(() => this.fail(new Error(`no response headers within ${this.#settings.headersTimeoutMs} ms`)), this.#settings.headersTimeoutMs);
    return new Promise((resolve, reject) => {
      this.#headWaiter = { resolve, reject };
      if (this.#signal?.aborted) this.#onAbort();
    });
  }

  read(onPiece: OnPiece): Promise<void> {
    if (this.#phase === 'failed') return Promise.reject(this.#error);
    if (this.#phase === 'done') return Promise.resolve();
    if (this.#onPiece || this.#phase !== 'body') return Promise.reject(new Error('the body is already being read'));
    this.#onPiece = onPiece;
    return new Promise<void>((resolve, reject) => {
      this.#bodyWaiter = { resolve, reject };
      this.#armBodyTimer();
      // Bytes that came in with the head are still in the buffer: start with them.
      if (this.pump(false)) this.#conn.socket.resume();
    });
  }

  async dump(): Promise<void> {
    let seen = 0;
    await this.read((piece) => {
      seen += piece.length;
      return seen > DUMP_LIMIT_BYTES ? 'stop' : undefined;
    }).catch(() => undefined);
  }

  destroy(): void {
    this.fail(new Error('the response was destroyed'));
  }

  fail(err: unknown): void {
    if (this.#handedOff || this.#phase === 'failed') return;
    const stale = this.#reused && !this.#gotBytes && this.#phase === 'head';
    this.#phase = 'failed';
    this.#error = stale ? new StaleConnection(messageOf(err), { cause: err }) : err;
    this.#cleanup();
    this.#conn.close();
    const waiter = this.#headWaiter ?? this.#bodyWaiter;
    this.#headWaiter = null;
    this.#bodyWaiter = null;
    waiter?.reject(this.#error);
  }

  /** The server ended its side. */
  onEnd(): void {
    if (this.#phase === 'body' && this.#framing === 'close' && this.#onPiece) {
      // Reading was on, so the caller holds no piece: the body is complete.
      this.#keepAlive = false;
      this.#finish();
      this.#handOff();
      return;
    }
    this.fail(new Error(this.#phase === 'head' ? 'the server closed the connection without a response' : 'the server closed the connection before the body ended'));
  }

  /**
   * Works through the unprocessed bytes of the connection's buffer. Returns true when
   * they are all used and reading should go on, false to pause (waiting for the
   * caller, or this exchange is over and the connection was closed).
   */
  pump(fresh: boolean): boolean {
    const conn = this.#conn;
    if (fresh && conn.end > 0) {
      this.#gotBytes = true;
      if (this.#phase === 'body') this.#timer?.refresh(); // the body timeout is one of idleness
    }
    try {
      for (;;) {
        if (this.#phase === 'done') return this.#handOff();
        if (this.#phase === 'failed') return false;
        if (this.#phase === 'body' && !this.#onPiece) return false; // wait for read()
        if (this.#phase === 'body' && this.#framing === 'length' && this.#left === 0) {
          this.#finish();
          continue;
        }
        if (conn.pos >= conn.end) return true;
        if (this.#phase === 'head') this.#takeHead();
        else if (!this.#bodyStep()) return false;
      }
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  // ---- head --------------------------------------------------------------------------------

  /** Consumes head bytes from the buffer; true once a complete head was parsed. */
  #takeHead(): boolean {
    const conn = this.#conn;
    const view = conn.buffer.subarray(conn.pos, conn.end);
    const prior = this.#headAcc;
    const bytes = prior ? Buffer.concat([prior, view]) : view;
    const at = bytes.indexOf('\r\n\r\n', prior ? Math.max(0, prior.length - 3) : 0, 'latin1');
    if (at < 0) {
      if (bytes.length > MAX_HEAD_BYTES) throw new Error(`response header block over ${MAX_HEAD_BYTES} bytes`);
      this.#headAcc = Buffer.from(bytes); // a copy: the read buffer is reused
      conn.pos = conn.end;
      return false;
    }
    if (at + 4 > MAX_HEAD_BYTES) throw new Error(`response header block over ${MAX_HEAD_BYTES} bytes`);
    conn.pos += at + 4 - (prior?.length ?? 0);
    this.#headAcc = null;
    this.#parseHead(bytes.toString('latin1', 0, at));
    return true;
  }

  #parseHead(text: string): void {
    const lines = text.split('\r\n');
    const status = STATUS_LINE.exec(lines[0]!);
    if (!status) throw new Error(`invalid HTTP status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
    const minor = Number(status[1]);
    const code = Number(status[2]);
    if (lines.length - 1 > MAX_HEADERS) throw new Error(`more than ${MAX_HEADERS} response headers`);
    const headers: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const m = HEADER_LINE.exec(line);
      if (!m || !TOKEN.test(m[1]!) || !FIELD_VALUE.test(m[2]!)) throw new Error(`invalid response header line ${JSON.stringify(line.slice(0, 80))}`);
      const name = m[1]!.toLowerCase();
      const value = m[2]!;
      const had = headers[name];
      headers[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
    }
    if (code < 200) {
      if (code === 101) throw new Error('the server switched protocols');
      return; // 100 Continue, 103 Early Hints: the final head comes next
    }
    this.status = code;
    this.headers = headers;
    const connection = listOf(headers['connection']);
    this.#keepAlive = minor === 1 && !connection.includes('close');
    const te = listOf(headers['transfer-encoding']);
    const cl = headers['content-length'];
    if (code === 204 || code === 304) {
      this.#framing = 'length';
      this.#left = 0;
    } else if (te.length > 0) {
      if (cl !== undefined) throw new Error('a response with both Transfer-Encoding and Content-Length');
      if (minor === 0 || te.length !== 1 || te[0] !== 'chunked') throw new Error(`unsupported Transfer-Encoding ${JSON.stringify(te.join(', '))}`);
      this.#framing = 'chunked';
      this.#chunk = 'size';
    } else if (cl !== undefined) {
      const values = (Array.isArray(cl) ? cl : [cl]).flatMap((v) => v.split(',')).map((v) => v.trim());
      if (!values.every((v) => /^[0-9]{1,15}$/.test(v)) || new Set(values).size !== 1) throw new Error(`invalid Content-Length ${JSON.stringify(values.join(', '))}`);
      this.#framing = 'length';
      this.#left = Number(values[0]);
    } else {
      this.#framing = 'close';
      this.#keepAlive = false;
    }
    clearTimeout(this.#timer!);
    this.#timer = null;
    this.#phase = this.#framing === 'length' && this.#left === 0 ? 'done' : 'body';
    const waiter = this.#headWaiter!;
    this.#headWaiter = null;
    waiter.resolve(this);
  }

  // ---- body ----------------------------------------------------------------------------------

  /** One step through the body; false when waiting for the caller or finished. */
  #bodyStep(): boolean {
    const conn = this.#conn;
    if (this.#framing === 'close') return this.#deliver(conn.end - conn.pos);
    if (this.#framing === 'length') return this.#deliver(Math.min(this.#left, conn.end - conn.pos));
    switch (this.#chunk) {
      case 'size': {
        const line = this.#takeLine();
        if (line === null) return true;
        const m = CHUNK_SIZE_LINE.exec(line);
        if (!m) throw new Error(`invalid chunk size line ${JSON.stringify(line.slice(0, 40))}`);
        this.#left = parseInt(m[1]!, 16);
        this.#chunk = this.#left === 0 ? 'trailer' : 'data';
        return true;
      }
      case 'data':
        return this.#deliver(Math.min(this.#left, conn.end - conn.pos), () => {
          if (this.#left === 0) this.#chunk = 'data-end';
        });
      case 'data-end': {
        const line = this.#takeLine();
        if (line === null) return true;
        if (line !== '') throw new Error('chunk data longer than its size');
        this.#chunk = 'size';
        return true;
      }
      case 'trailer': {
        const line = this.#takeLine();
        if (line === null) return true;
        this.#trailerBytes += line.length + 2;
        if (this.#trailerBytes > MAX_TRAILER_BYTES) throw new Error(`trailers over ${MAX_TRAILER_BYTES} bytes`);
        if (line === '') this.#finish();
        return true;
      }
    }
  }

  /** A CRLF-terminated line from the buffer (without the CRLF), or null when it continues in the next read. */
  #takeLine(): string | null {
    const conn = this.#conn;
    const at = conn.buffer.subarray(conn.pos, conn.end).indexOf(10);
    const stop = at >= 0 ? conn.pos + at : conn.end;
    this.#line += conn.buffer.toString('latin1', conn.pos, stop);
    conn.pos = stop === conn.end ? conn.end : stop + 1;
    if (this.#line.length > MAX_LINE_BYTES) throw new Error(`line over ${MAX_LINE_BYTES} bytes in a chunked body`);
    if (stop === conn.end) return null;
    const line = this.#line;
    this.#line = '';
    if (!line.endsWith('\r') || line.indexOf('\r') !== line.length - 1) throw new Error('a chunked body line without CRLF');
    return line.slice(0, -1);
  }

  /**
   * Hands `n` bytes at the buffer position to the caller. True to go on at once;
   * false when the caller answered with a promise (reading resumes when it settles)
   * or with 'stop'. `after` runs once the bytes are counted, before the caller sees them.
   */
  #deliver(n: number, after?: () => void): boolean {
    const conn = this.#conn;
    const piece = conn.buffer.subarray(conn.pos, conn.pos + n);
    conn.pos += n;
    this.#left -= n;
    after?.();
    if (n === 0) return true;
    const result = this.#onPiece!(piece);
    if (result === undefined) return true;
    if (result === 'stop') {
      this.#stop();
      return false;
    }
    // The caller is busy with the piece (throttle, disk): no reading, no body timeout meanwhile.
    this.#clearTimer();
    result.then(
      (next) => {
        if (this.#phase !== 'body' && this.#phase !== 'done') return;
        if (next === 'stop') {
          this.#stop();
          return;
        }
        if (this.#phase === 'body') this.#armBodyTimer();
        if (this.pump(false)) this.#conn.socket.resume();
      },
      (err: unknown) => this.fail(err),
    );
    return false;
  }

  /** The caller wants no more of the body: the connection cannot be reused. */
  #stop(): void {
    if (this.#phase === 'failed') return;
    this.#keepAlive = false;
    this.#phase = 'done';
    this.#handOff();
  }

  #finish(): void {
    this.#phase = 'done';
  }

  /** The exchange is over: the connection goes back to the pool or is closed; the reader is told. True when reading should go on. */
  #handOff(): boolean {
    if (this.#handedOff) return false;
    this.#handedOff = true;
    const conn = this.#conn;
    this.#cleanup();
    // Bytes past the end of the response: we never pipeline, so the server is out of step.
    const reusable = this.#keepAlive && conn.pos === conn.end && conn.exchange === this;
    let reading = false;
    if (conn.exchange === this) {
      if (reusable) reading = conn.release();
      else conn.close();
    }
    const waiter = this.#bodyWaiter;
    this.#bodyWaiter = null;
    this.#onPiece = null;
    waiter?.resolve();
    return reading;
  }

  #armBodyTimer(): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => this.fail(new Error(`no body bytes for ${this.#settings.bodyTimeoutMs} ms`)), this.#settings.bodyTimeoutMs);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #cleanup(): void {
    this.#clearTimer();
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}

function listOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim().toLowerCase())
    .filter(Boolean);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
