/**
 * A feed server that misbehaves on purpose. Documents are served straight from the
 * feed folder; each blob request gets the fault `pick` chooses for it (by the
 * number of the blob request, from 0), so a test can script "reset, then 503, then
 * serve" or "always wrong bytes".
 */
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export type Fault =
  | 'none'
  | 'ignore-range'
  | 'wrong-content-range'
  | 'short-body'
  | 'reset'
  | '503'
  | '416'
  | 'drip'
  | 'redirect-loop'
  | 'redirect-to-copy'
  | 'longer-body'
  | 'wrong-bytes'
  | 'etag-change'
  | 'gzip';

export interface FaultServer {
  readonly url: string;
  readonly blobRequests: { fault: Fault; range: string | null; ifRange: string | null }[];
  close(): Promise<void>;
}

export async function createFaultServer(feedDir: string, pick: (n: number, range: string | null) => Fault): Promise<FaultServer> {
  const blobRequests: FaultServer['blobRequests'] = [];
  let etagGeneration = 0;
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, '');
    let body: Buffer;
    try {
      body = await readFile(join(feedDir, rel.replace(/^copy\//, '')));
    } catch {
      res.writeHead(404).end();
      return;
    }
    if (!rel.includes('blobs/') || rel.startsWith('copy/')) {
      if (rel.startsWith('copy/')) return serveRange(req, res, body, `"v${etagGeneration}"`, 'none');
      res.writeHead(200, { 'content-length': body.length }).end(body);
      return;
    }
    const range = req.headers.range ?? null;
    const fault = pick(blobRequests.length, range);
    blobRequests.push({ fault, range, ifRange: (req.headers['if-range'] as string | undefined) ?? null });
    if (fault === 'etag-change') etagGeneration++;
    const etag = `"v${etagGeneration}"`;
    switch (fault) {
      case '503':
        res.writeHead(503, { 'retry-after': '0' }).end();
        return;
      case '416':
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      case 'redirect-loop':
        res.writeHead(302, { location: req.url }).end();
        return;
      case 'redirect-to-copy':
        res.writeHead(302, { location: `/copy${url.pathname}` }).end();
        return;
      case 'gzip':
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': body.length }).end(body);
        return;
      default:
        return serveRange(req, res, body, etag, fault);
    }
  }

  async function serveRange(req: IncomingMessage, res: ServerResponse, body: Buffer, etag: string, fault: Fault): Promise<void> {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const rangeOk = m && fault !== 'ignore-range' && (!ifRange || ifRange === etag);
    let start = 0;
    let end = body.length - 1;
    const headers: Record<string, string> = { etag, 'accept-ranges': 'bytes' };
    let status = 200;
    if (rangeOk) {
      start = Number(m[1]);
      end = Math.min(Number(m[2]), body.length - 1);
      status = 206;
      const shown = fault === 'wrong-content-range' ? `bytes ${start + 1}-${end + 1}/${body.length}` : `bytes ${start}-${end}/${body.length}`;
      headers['content-range'] = shown;
    }
    let payload = Buffer.from(body.subarray(start, end + 1));
    if (fault === 'wrong-bytes') payload.writeUInt8(payload.readUInt8(payload.length >> 1) ^ 0x55, payload.length >> 1);
    if (fault === 'longer-body') payload = Buffer.concat([payload, Buffer.alloc(4096, 7)]);
    // A longer body goes out chunked, without a Content-Length to give it away.
    if (fault !== 'longer-body') headers['content-length'] = String(payload.length);
    res.writeHead(status, headers);
    if (fault === 'short-body') {
      // Promise the whole range, send half, then hang up.
      res.write(payload.subarray(0, payload.length >> 1));
      res.socket?.destroySoon();
      return;
    }
    if (fault === 'reset') {
      res.write(payload.subarray(0, payload.length >> 2), () => res.socket?.resetAndDestroy());
      return;
    }
    if (fault === 'drip') {
      for (let i = 0; i < payload.length && !res.destroyed; i++) {
        res.write(payload.subarray(i, i + 1));
        await new Promise((r) => setTimeout(r, 50));
      }
      res.end();
      return;
    }
    res.end(payload);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    blobRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
