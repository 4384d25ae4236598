// Kill a downloading process with SIGKILL, start a new one: it resumes from the
// done-map, fetching only chunks the first never finished (at most one per
// connection was in flight), and ends with a verified, staged slot. Served by nginx.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Updater } from '../../src/updater.js';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';
import { type NginxOrigin, findNginx, startNginx } from '../helpers/nginx.mjs';

const CHILD = join(import.meta.dirname, 'download-child.mjs');
const CHUNK = 256 * 1024;
const CONNECTIONS = 4;
const nginx = findNginx();
if (!nginx && process.env.TWINSLOT_REQUIRE_NGINX) throw new Error('nginx is required (TWINSLOT_REQUIRE_NGINX is set) but not installed');

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  lastTransferred: number;
  total: number;
  stdout: string;
  stderr: string;
}

function runChild(root: string, feedUrl: string, rate: number, killAtFraction: number | null, args: string[] = []): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [CHILD, root, feedUrl, String(rate), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { code: null, signal: null, lastTransferred: 0, total: 0, stdout: '', stderr: '' };
    child.stdout!.on('data', (d: Buffer) => {
      run.stdout += d.toString();
      for (const m of d.toString().matchAll(/progress (\d+) (\d+)/g)) {
        run.lastTransferred = Number(m[1]);
        if (run.total === 0) run.total = Number(m[2]);
        if (killAtFraction !== null && run.lastTransferred >= killAtFraction * run.total) child.kill('SIGKILL');
      }
    });
    child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
    child.on('exit', (code, signal) => resolve({ ...run, code, signal }));
  });
}

async function loggedChunks(root: string): Promise<number[]> {
  const text = await readFile(join(root, 'staging', 'chunks.log'), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

describe.skipIf(!nginx)('download killed with SIGKILL and resumed by a new process (nginx origin)', () => {
  let feed: FeedFixture;
  let origin: NginxOrigin;

  beforeAll(async () => {
    feed = await createFeedFixture();
    await feed.publish('1.0.0', { channel: 'base', payloadBytes: 64 * 1024 });
    await feed.publish('2.0.0', { payloadBytes: 8 * 1024 * 1024, chunkSize: CHUNK });
    origin = await startNginx(feed.feed);
  });

  afterAll(async () => {
    await origin?.close();
    await feed?.close();
  });

  it('resumes after two kills, refetching at most one chunk per connection each time', async () => {
    const root = await feed.install('kill-root', 'base');
    // The client config the child reads (the feed URL comes on its command line).
    await writeFile(join(root, 'twinslot.json'), JSON.stringify({ appId: 'com.example.test', trustedKeys: [feed.publicKey], channel: 'stable', platform: 'linux-x64' }));

    const totalChunks = Math.ceil((8 * 1024 * 1024 + 600) / CHUNK);
    let fetchedAfterKills = 0;
    for (const fraction of [0.3, 0.65]) {
      const before = new Set(await loggedChunks(root));
      const run = await runChild(root, origin.url, 3_000_000, fraction);
      expect(run.signal, run.stderr).toBe('SIGKILL');
      const after = await loggedChunks(root);
      const newlyLogged = after.filter((c) => !before.has(c)).length;
      // What the child received but did not log is its in-flight partial chunks: at most one per connection.
      expect(run.lastTransferred - newlyLogged * CHUNK).toBeLessThanOrEqual(CONNECTIONS * CHUNK);
      expect(new Set(after).size).toBeLessThan(totalChunks);
      fetchedAfterKills = new Set(after).size;
    }
    const final = await runChild(root, origin.url, 0, null, ['install']);
    expect(final.code, final.stderr).toBe(0);
    expect(final.stdout).toContain('done 2.0.0');
    // The last run fetched only what the log did not hold.
    const remaining = final.total;
    expect(remaining).toBeLessThanOrEqual((totalChunks - fetchedAfterKills) * CHUNK);
    expect(remaining).toBeGreaterThan(0);
    const status = await new Updater(feed.options(root)).status();
    expect(status).toMatchObject({ active: 'b', activeVersion: '2.0.0', trial: true });
  });

  it('a plain update from nginx: 206 ranges on 4 connections, verified and staged', async () => {
    const root = await feed.install('plain-root', 'base');
    const updater = new Updater(feed.options(root, { feedUrl: origin.url }));
    const check = await updater.checkForUpdates();
    expect(check.available).toBe(true);
    await updater.downloadUpdate();
    await updater.installUpdate();
    const log = await origin.accessLog();
    const blobRanges = log.filter((l) => l.path.startsWith('/blobs/') && l.status === 206);
    expect(blobRanges.length).toBeGreaterThanOrEqual(CONNECTIONS);
    expect((await updater.confirmStartup()).outcome).toBe('committed');
  });
});
