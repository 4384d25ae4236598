// The built-in HTTP/1.1 client (src/transfer/h1.ts) that carries requests made under
// twinslot's default dispatcher: framing, keep-alive, timeouts, aborts and protocol
// errors against real sockets, and whole pack downloads through it from a
// misbehaving server and from nginx.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer as createHttpServer } from 'node:http';
import { type AddressInfo, type Server, type Socket, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UpdateError } from '../../src/errors.js';
import { systemClock } from '../../src/io/clock.js';
import type { Pack } from '../../src/manifest/release.js';
import { closeIdleConnections } from '../../src/transfer/h1.js';
import { DEFAULT_HTTP, type HttpSettings, builtInTransport, defaultDispatcher, httpGet, readCapped } from '../../src/transfer/http.js';
import { downloadPack } from '../../src/transfer/pack-download.js';
import { DEFAULT_RETRY } from '../../src/transfer/retry.js';
import { Throttle } from '../../src/transfer/throttle.js';
import { type Fault, createFaultServer } from '../helpers/fault-server.js';
import { findNginx, startNginx } from '../helpers/nginx.mjs';

const settings: HttpSettings = { ...DEFAULT_HTTP, dispatcher: defaultDispatcher(), headersTimeoutMs: 2_000, bodyTimeoutMs: 2_000 };
const servers: { close(): unknown }[] = [];

afterEach(() => closeIdleConnections());
afterAll(async () => {
  for (const s of servers) await s.close();
});

/** A raw TCP server: `onRequest` gets each request head and the socket, and writes whatever bytes it likes. */
async function rawServer(onRequest: (head: string, socket: Socket, n: number) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  let requests = 0;
  const server: Server = createNetServer((socket) => {
    connections++;
    let pending = '';
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      let at: number;
      while ((at = pending.indexOf('\r\n\r\n')) >= 0) {
        const head = pending.slice(0, at);
        pending = pending.slice(at + 4);
        onRequest(head, socket, requests++);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({ close: () => new Promise((r) => server.close(r)) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, connections: () => connections };
}

async function httpServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createHttpServer(handle);
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, connections: () => connections };
}

async function getText(url: string, signal?: AbortSignal, s: HttpSettings = settings): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const res = await httpGet(s, new URL(url), {}, signal);
  const body = await readCapped(res, 1 << 20, 'test body', signal);
  return { status: res.status, text: body.toString('latin1'), headers: res.headers as Record<string, unknown> };
}

async function failure(promise: Promise<unknown>): Promise<UpdateError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpdateError);
  return err as UpdateError;
}

describe('which transport', () => {
  it('the default dispatcher uses the built-in client; a user dispatcher and a proxy in the environment do not', () => {
    expect(builtInTransport(settings)).not.toBeNull();
    const agent = new Agent();
    expect(builtInTransport({ ...settings, dispatcher: agent })).toBeNull();
    expect(builtInTransport({ ...settings, dispatcher: undefined })).toBeNull();
    const saved = process.env.https_proxy;
    process.env.https_proxy = 'http://127.0.0.1:9';
    try {
      expect(builtInTransport(settings)).toBeNull();
    } finally {
      if (saved === undefined) delete process.env.https_proxy;
      else process.env.https_proxy = saved;
    }
    void agent.close();
  });
});

describe('framing and keep-alive', () => {
  it('reads Content-Length, chunked and close-delimited bodies', async () => {
    const big = randomBytes(300_000);
    const { url } = await httpServer((req, res) => {
      if (req.url === '/length') res.writeHead(200, { 'content-length': big.length }).end(big);
      else {
        // No Content-Length: Node sends it chunked, in several writes.
        res.writeHead(200);
        res.write(big.subarray(0, 1000));
        setTimeout(() => res.end(big.subarray(1000)), 10);
      }
    });
    expect(Buffer.from((await getText(`${url}length`)).text, 'latin1').equals(big)).toBe(true);
    expect(Buffer.from((await getText(`${url}chunked`)).text, 'latin1').equals(big)).toBe(true);

    const raw = await rawServer((_head, socket) => {
      socket.end('HTTP/1.1 200 OK\r\nx-kind: close\r\n\r\nuntil the end');
    });
    const closed = await getText(raw.url);
    expect(closed.text).toBe('until the end');
    expect(closed.headers['x-kind']).toBe('close');
  });

  it('keeps one connection for sequential requests, and skips an interim 1xx head', async () => {
    const raw = await rawServer((_head, socket, n) => {
      socket.write(`HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\ndup: a\r\ndup: b\r\n\r\n${String(n).padStart(2, '0')}`);
    });
    for (let i = 0; i < 3; i++) {
      const r = await getText(raw.url);
      expect(r.text).toBe(String(i).padStart(2, '0'));
      expect(r.headers.dup).toEqual(['a', 'b']);
    }
    expect(raw.connections()).toBe(1);
  });

  it('opens a new connection when the server closed the idle one, or sent bytes past the response', async () => {
    const closing = await rawServer((_head, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      setTimeout(() => socket.destroy(), 20);
    });
    expect((await getText(closing.url)).text).toBe('ok');
    await new Promise((r) => setTimeout(r, 100));
    expect((await getText(closing.url)).text).toBe('ok');
    expect(closing.connections()).toBe(2);

    const extra = await rawServer((_head, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA'));
    expect((await getText(extra.url)).text).toBe('ok');
    expect((await getText(extra.url)).text).toBe('ok');
    expect(extra.connections()).toBe(2);
  });

  it('retries once on a fresh connection when a kept one turns out dead before the response', async () => {
    const raw = await rawServer((_head, socket, n) => {
      // The second request arrives on the kept connection: hang up without answering.
      if (n === 1) socket.destroy();
      else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    expect((await getText(raw.url)).text).toBe('ok');
    expect((await getText(raw.url)).text).toBe('ok');
    expect(raw.connections()).toBe(2);
  });
});

describe('protocol errors are NETWORK errors', () => {
  it.each<[string, string]>([
    ['a bad status line', 'HTTP/2 200 OK\r\n\r\n'],
    ['both Transfer-Encoding and Content-Length', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
    ['Transfer-Encoding other than chunked', 'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n'],
    ['conflicting Content-Length values', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd'],
    ['a folded header', 'HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n'],
    ['a header with a space before the colon', 'HTTP/1.1 200 OK\r\nx-a : 1\r\ncontent-length: 0\r\n\r\n'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
    ['chunk data longer than its size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n'],
    ['a body cut short', 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'],
    ['a header block over 64 KiB', `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70_000)}\r\n\r\n`],
    ['a switch of protocols', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n'],
  ])('%s', async (_name, response) => {
    const raw = await rawServer((_head, socket) => socket.end(response));
    const err = await failure(getText(raw.url));
    expect(err.code).toBe('NETWORK');
  });

  it('a body over the cap is TOO_LARGE before it is read in full', async () => {
    const { url } = await httpServer((_req, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(3 << 20));
    });
    const res = await httpGet(settings, new URL(url), {});
    const err = await failure(readCapped(res, 1 << 20, 'capped body'));
    expect(err.code).toBe('TOO_LARGE');
  });
});

describe('timeouts and aborts', () => {
  it('no response head within headersTimeoutMs: NETWORK', async () => {
    const raw = await rawServer(() => undefined);
    const started = Date.now();
    const err = await failure(getText(raw.url, undefined, { ...settings, headersTimeoutMs: 200 }));
    expect(err.code).toBe('NETWORK');
    expect(err.message).toMatch(/no response headers/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a body that stalls for bodyTimeoutMs: NETWORK', async () => {
    const raw = await rawServer((_head, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    const err = await failure(getText(raw.url, undefined, { ...settings, bodyTimeoutMs: 200 }));
    expect(err.code).toBe('NETWORK');
    expect(err.message).toMatch(/no body bytes/);
  });

  it('an abort mid-body rejects with ABORTED and frees the connection', async () => {
    const raw = await rawServer((_head, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 100);
    const err = await failure(getText(raw.url, controller.signal));
    expect(err.code).toBe('ABORTED');
  });

  it('a refused connection: NETWORK', async () => {
    const closed = await rawServer(() => undefined);
    await servers.pop()!.close();
    const err = await failure(getText(closed.url));
    expect(err.code).toBe('NETWORK');
  });
});

// ---- whole packs ------------------------------------------------------------------------------

let dir = '';
let pack: Pack;
let blob: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twinslot-h1-'));
  blob = randomBytes(2 * 1024 * 1024 + 12_345);
  const chunkSize = 64 * 1024;
  const chunks: string[] = [];
  for (let at = 0; at < blob.length; at += chunkSize) chunks.push(createHash('sha256').update(blob.subarray(at, at + chunkSize)).digest('hex'));
  pack = { sha256: createHash('sha256').update(blob).digest('hex'), size: blob.length, chunkSize, chunks };
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'blobs', 'sha256', pack.sha256), blob);
  servers.push({ close: () => rm(dir, { recursive: true, force: true }) });
});

/** Downloads the test pack from `base` through the built-in client; resolves with the bytes assembled from delivered chunks. */
async function fetchPack(base: string, extra: { rate?: number; signal?: AbortSignal; connections?: number } = {}): Promise<Buffer> {
  const out = Buffer.alloc(pack.size);
  const seen = new Set<number>();
  await downloadPack({
    http: settings,
    clock: systemClock,
    random: (n) => randomBytes(n),
    throttle: new Throttle(systemClock, extra.rate ?? 0),
    retry: { ...DEFAULT_RETRY, baseDelayMs: 5, maxDelayMs: 20, attemptsPerMirror: 3 },
    urls: [new URL(`blobs/sha256/${pack.sha256}`, base)],
    pack,
    chunks: pack.chunks.map((_, i) => i),
    connections: extra.connections ?? 4,
    etags: {},
    signal: extra.signal,
    minBytesPerSecond: 1024,
    graceMs: 10_000,
    deliver: async (index, offset, bytes) => {
      expect(seen.has(index)).toBe(false);
      seen.add(index);
      await new Promise((r) => setImmediate(r)); // a disk write takes a moment: the piece must stay valid meanwhile
      bytes.copy(out, offset);
    },
    onEtag: async () => undefined,
    onRestart: async () => {
      seen.clear();
      out.fill(0);
    },
    onBytes: () => undefined,
  });
  expect(seen.size).toBe(pack.chunks.length);
  return out;
}

describe('pack downloads through the built-in client', () => {
  it.each<[Fault, number]>([
    ['none', 0],
    ['short-body', 2],
    ['reset', 2],
    ['503', 2],
    ['longer-body', 1],
    ['ignore-range', 99],
    ['etag-change', 1],
    ['redirect-to-copy', 99],
  ])('%s (%i times): every chunk verified, delivered once, bytes exact', async (fault, times) => {
    const server = await createFaultServer(dir, (n) => (n < times ? fault : 'none'));
    servers.push(server);
    expect((await fetchPack(server.url)).equals(blob)).toBe(true);
  });

  it('wrong bytes every time: CHECKSUM_MISMATCH', async () => {
    const server = await createFaultServer(dir, () => 'wrong-bytes');
    servers.push(server);
    const err = await failure(fetchPack(server.url));
    expect(err.code).toBe('CHECKSUM_MISMATCH');
  });

  it('throttled: the cap holds; aborted: ABORTED', async () => {
    const server = await createFaultServer(dir, () => 'none');
    servers.push(server);
    const started = Date.now();
    expect((await fetchPack(server.url, { rate: 4_000_000 })).equals(blob)).toBe(true);
    // 2.1 MB at 4 MB/s: about half a second, never much less.
    expect(Date.now() - started).toBeGreaterThan(400);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancel')), 150);
    const err = await failure(fetchPack(server.url, { rate: 1_000_000, signal: controller.signal }));
    expect(err.code).toBe('ABORTED');
  });

  it.skipIf(!findNginx())('from nginx, with keep-alive across runs', async () => {
    const nginx = await startNginx(dir);
    servers.push(nginx);
    expect((await fetchPack(nginx.url, { connections: 3 })).equals(blob)).toBe(true);
    expect((await fetchPack(nginx.url, { connections: 1 })).equals(blob)).toBe(true);
    const log = (await nginx.accessLog()).filter((e) => e.path.startsWith('/blobs/'));
    expect(log.every((e) => e.status === 206)).toBe(true);
    expect(log.reduce((sum, e) => sum + e.bytes, 0)).toBe(2 * pack.size);
  });
});
