// Starts Debian's nginx as a real static origin on a loopback port, with a generated
// config, serving one folder. Used by the end-to-end tests and the benchmarks.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The nginx binary, or null when it is not installed. */
export function findNginx() {
  for (const path of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx']) {
    if (existsSync(path)) return path;
  }
  return null;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Serves `root` with nginx on 127.0.0.1. Resolves `{ url, accessLog(), close() }`;
 * `accessLog()` returns `{ path, status, bytes, range }` per request.
 */
export async function startNginx(root, { rateLimit } = {}) {
  const nginx = findNginx();
  if (!nginx) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const prefix = await mkdtemp(join(tmpdir(), 'twinslot-nginx-'));
  await mkdir(join(prefix, 'logs'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = `
worker_processes 1;
daemon off;
master_process off;
error_log ${prefix}/logs/error.log warn;
pid ${prefix}/nginx.pid;
events { worker_connections 256; }
http {
  log_format tw '$status $body_bytes_sent "$http_range" $request_uri';
  access_log ${prefix}/logs/access.log tw;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000;
  types { application/json json; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { ${rateLimit ? `limit_rate ${rateLimit};` : ''} }
  }
}
`;
    await writeFile(join(prefix, 'nginx.conf'), conf);
    const child = spawn(nginx, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const up = await waitForPort(port, child);
    if (!up) {
      child.kill('SIGKILL');
      if (attempt < 3 && /Address already in use/.test(stderr + (await readFile(join(prefix, 'logs', 'error.log'), 'utf8').catch(() => '')))) continue;
      const why = stderr.trim() || (await readFile(join(prefix, 'logs', 'error.log'), 'utf8').catch(() => ''));
      await rm(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${why}`);
    }
    return {
      url: `http://127.0.0.1:${port}/`,
      async accessLog() {
        const text = await readFile(join(prefix, 'logs', 'access.log'), 'utf8').catch(() => '');
        return text
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => {
            const m = /^(\d+) (\d+) "([^"]*)" (.*)$/.exec(line);
            return m ? { status: Number(m[1]), bytes: Number(m[2]), range: m[3] === '-' ? null : m[3], path: m[4] } : null;
          })
          .filter(Boolean);
      },
      async close() {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
        await rm(prefix, { recursive: true, force: true });
      },
    };
  }
}

async function waitForPort(port, child) {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

