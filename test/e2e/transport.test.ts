// Transport rules a user relies on: a custom CA through a user-supplied dispatcher,
// no redirect from https down to http, and AbortSignal honoured mid-download with
// the work kept for a resume.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateError } from '../../src/errors.js';
import { Updater } from '../../src/updater.js';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';

let feed: FeedFixture;
let hasOpenssl = true;
try {
  execFileSync('openssl', ['version']);
} catch {
  hasOpenssl = false;
}

beforeAll(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0', { channel: 'base' });
  await feed.publish('2.0.0', { payloadBytes: 2 * 1024 * 1024, chunkSize: 64 * 1024 });
});

afterAll(async () => {
  await feed.close();
});

describe.skipIf(!hasOpenssl)('https feeds', () => {
  let url = '';
  let ca = '';
  let close = (): void => undefined;

  beforeAll(async () => {
    const dir = feed.dir;
    // A throwaway certificate authority for 127.0.0.1, made fresh for this run.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
    ca = await readFile(join(dir, 'tls.crt'), 'utf8');
    const key = await readFile(join(dir, 'tls.key'), 'utf8');
    const server = createHttpsServer({ key, cert: ca }, async (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      if (path.startsWith('/blobs/')) {
        // Every blob request is sent down to plain http.
        res.writeHead(302, { location: `${feed.url.replace(/\/$/, '')}${path}` }).end();
        return;
      }
      try {
        const body = await readFile(join(feed.feed, path));
        res.writeHead(200, { 'content-length': body.length }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    close = () => {
      server.closeAllConnections();
      server.close();
    };
  });

  afterAll(() => close());

  it('trusts a custom CA given through the dispatcher, and refuses the https -> http redirect', async () => {
    const root = await feed.install('tls-root', 'base');
    const dispatcher = new Agent({ connect: { ca } });
    const updater = new Updater(feed.options(root, { feedUrl: url, dispatcher, retry: { attemptsPerMirror: 1 } }));
    const check = await updater.checkForUpdates();
    expect(check.available).toBe(true);
    const err = await updater.downloadUpdate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpdateError);
    expect((err as UpdateError).code).toBe('NETWORK');
    expect((err as UpdateError).message).toMatch(/refused a redirect from https to http/);
    await dispatcher.close();
  });

  it('pins the server key through the dispatcher: the right SPKI hash checks, a wrong one is refused with NETWORK', async () => {
    const { X509Certificate, createHash } = await import('node:crypto');
    const spki = (der: Buffer): string => createHash('sha256').update(new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    const expected = spki(new X509Certificate(ca).raw);
    const pinned = (pin: string) =>
      new Agent({
        connect: {
          ca,
          checkServerIdentity: (_host: string, cert: { raw: Buffer }) => (spki(cert.raw) === pin ? undefined : new Error(`certificate key ${spki(cert.raw)} is not the pinned one`)),
        },
      });
    const good = pinned(expected);
    const root = await feed.install('pin-root', 'base');
    expect(await new Updater(feed.options(root, { feedUrl: url, dispatcher: good })).checkForUpdates()).toMatchObject({ available: true });
    const bad = pinned(Buffer.alloc(32).toString('base64'));
    const err = await new Updater(feed.options(root, { feedUrl: url, dispatcher: bad, retry: { attemptsPerMirror: 1 } })).checkForUpdates().catch((e: unknown) => e);
    expect((err as UpdateError).code).toBe('NETWORK');
    await good.close();
    await bad.close();
  });

  it('without the CA the feed is refused: NETWORK', async () => {
    const root = await feed.install('tls-root-2', 'base');
    const err = await new Updater(feed.options(root, { feedUrl: url })).checkForUpdates().catch((e: unknown) => e);
    expect((err as UpdateError).code).toBe('NETWORK');
  });
});

describe('AbortSignal', () => {
  it('aborting mid-download rejects with ABORTED; the next download resumes from the kept chunks', async () => {
    const root = await feed.install('abort-root', 'base');
    const updater = new Updater(feed.options(root, { maxBytesPerSecond: 1_000_000 }));
    await updater.checkForUpdates();
    const controller = new AbortController();
    let firstTotal = 0;
    let abortedAt = 0;
    updater.on('download-progress', (p) => {
      if (firstTotal === 0) firstTotal = p.total;
      if (abortedAt === 0 && p.transferred > p.total / 2) {
        abortedAt = p.transferred;
        controller.abort(new Error('user pressed cancel'));
      }
    });
    const err = await updater.downloadUpdate({ signal: controller.signal }).catch((e: unknown) => e);
    expect((err as UpdateError).code).toBe('ABORTED');
    expect((await updater.status()).slots.b.status).toBe('invalid');

    const again = new Updater(feed.options(root));
    let secondTotal = 0;
    again.on('download-progress', (p) => (secondTotal = p.total));
    await again.checkForUpdates();
    await again.downloadUpdate();
    expect(secondTotal).toBeGreaterThan(0);
    // What was verified before the abort is kept: only the rest comes again, plus at
    // most the chunk each of the 4 connections had in flight (64 KiB chunks).
    expect(secondTotal).toBeLessThanOrEqual(firstTotal - abortedAt + 4 * 64 * 1024);
    expect(secondTotal).toBeLessThan(firstTotal * 0.75);
    expect((await again.status()).slots.b).toEqual({ version: '2.0.0', status: 'staged' });
  });

  it('setThrottle(0) lifts a cap mid-download', async () => {
    const root = await feed.install('throttle-root', 'base');
    const updater = new Updater(feed.options(root, { maxBytesPerSecond: 50_000 }));
    await updater.checkForUpdates();
    updater.once('download-progress', () => updater.setThrottle(0));
    const started = Date.now();
    await updater.downloadUpdate();
    // 2 MiB at 50 kB/s would take 40 s; lifting the cap makes it a moment.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(() => updater.setThrottle(-5)).toThrow(UpdateError);
  });
});
