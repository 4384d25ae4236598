// All mirrors bad, each in its own way (500s, wrong bytes, connection resets): the
// download ends in a typed error, the app keeps running its active slot (status says
// so, and the real launcher still starts it), and once one mirror is fixed the next
// update goes through.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateError } from '../../src/errors.js';
import { Updater } from '../../src/updater.js';
import { type Fault, type FaultServer, createFaultServer } from '../helpers/fault-server.js';
import { type FeedFixture, createFeedFixture, snapshotTree } from '../helpers/fixture.js';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

let feed: FeedFixture;
const servers: FaultServer[] = [];

beforeAll(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0', { channel: 'base' });
  await feed.publish('2.0.0', { payloadBytes: 512 * 1024, chunkSize: 64 * 1024 });
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await feed.close();
});

async function launch(root: string): Promise<string> {
  const { stdout } = await exec(process.execPath, [CLI, 'launch', '--root', root]);
  return stdout;
}

describe('every mirror bad', () => {
  it('a typed error, the active slot keeps running; with one mirror fixed the update succeeds', async () => {
    let fixed = false;
    // The primary answers blobs with 500-class errors, the second with corrupted bytes
    // (until fixed), the third resets every connection.
    const failing = await createFaultServer(feed.feed, () => '503');
    const corrupt = await createFaultServer(feed.feed, (): Fault => (fixed ? 'none' : 'wrong-bytes'));
    const resetting = await createFaultServer(feed.feed, () => 'reset');
    servers.push(failing, corrupt, resetting);

    const root = await feed.install('root', 'base');
    const active = await snapshotTree(join(root, 'slots', 'a'));
    const options = feed.options(root, {
      feedUrl: failing.url,
      mirrors: [corrupt.url, resetting.url],
      retry: { baseDelayMs: 5, maxDelayMs: 20, attemptsPerMirror: 2 },
    });

    const updater = new Updater(options);
    const error = await updater.downloadUpdate().then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(UpdateError);
    expect(['NETWORK', 'CHECKSUM_MISMATCH']).toContain((error as UpdateError).code);
    // Every mirror was tried, and every one failed its own way.
    for (const s of [failing, corrupt, resetting]) expect(s.blobRequests.length).toBeGreaterThan(0);

    expect(await snapshotTree(join(root, 'slots', 'a'))).toEqual(active);
    const status = await updater.status();
    expect(status).toMatchObject({ active: 'a', activeVersion: '1.0.0', trial: false, slots: { a: { version: '1.0.0', status: 'good' } } });
    expect(status.slots.b.status).not.toBe('staged');
    expect(await launch(root)).toBe('sample app 1.0.0 running from slot a\n');

    // The second mirror is repaired: the same configuration now updates.
    fixed = true;
    const later = new Updater(options);
    await later.downloadUpdate();
    await later.installUpdate();
    expect(await launch(root)).toBe('sample app 2.0.0 running from slot b\n');
    expect(await later.confirmStartup()).toMatchObject({ outcome: 'committed', version: '2.0.0' });
    expect(await later.status()).toMatchObject({ active: 'b', activeVersion: '2.0.0', trial: false });
  });
});
