// A minimal static file server for a twinslot feed: GET/HEAD, single byte ranges,
// strong ETags, If-None-Match and If-Range. For the demo and tests only; in production
// any web server, S3 bucket or CDN serves the same folder.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, normalize, sep } from 'node:path';

/** Starts serving `dir` on 127.0.0.1 at a free port. Resolves `{ url, close, requests }`. */
export async function serveFeed(dir, { log } = {}) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const entry = { method: req.method, path: url.pathname, range: req.headers.range ?? null, status: 0, bytes: 0 };
    requests.push(entry);
    log?.(`${req.method} ${url.pathname}${req.headers.range ? ` (${req.headers.range})` : ''}`);
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, '');
    const path = join(dir, rel);
    if (rel.startsWith('..') || !path.startsWith(dir + sep) || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(rel.startsWith('..') ? 403 : 405).end();
      return;
    }
    let info;
    try {
      info = await stat(path);
      if (!info.isFile()) throw new Error('not a file');
    } catch {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers = { etag, 'accept-ranges': 'bytes', 'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream' };
    if (req.headers['if-none-match'] === etag) {
      entry.status = 304;
      res.writeHead(304, headers).end();
      return;
    }
    let start = 0;
    let end = info.size - 1;
    let status = 200;
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (range && (!ifRange || ifRange === etag)) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range);
      if (m && (m[1] || m[2])) {
        if (m[1]) {
          start = Number(m[1]);
          end = m[2] ? Math.min(Number(m[2]), info.size - 1) : info.size - 1;
        } else {
          start = Math.max(0, info.size - Number(m[2]));
        }
        if (start > end || start >= info.size) {
          res.writeHead(416, { 'content-range': `bytes */${info.size}` }).end();
          return;
        }
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
      }
    }
    headers['content-length'] = String(end - start + 1);
    entry.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || info.size === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(path, { start, end });
    stream.on('data', (chunk) => {
      entry.bytes += chunk.length;
    });
    stream.pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
