// End to end against a real HTTP server on loopback, real files, real probe processes:
// the full update, and each bad input of the foundation issue ending in a typed error
// with the active slot untouched.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpdateError } from '../../src/errors.js';
import type { UpdaterEvents } from '../../src/events.js';
import { generateKeyPair } from '../../src/manifest/keys.js';
import { editChannel } from '../../src/publish/channel-doc.js';
import { Updater } from '../../src/updater.js';
import { type FeedFixture, createFeedFixture, snapshotTree } from '../helpers/fixture.js';

let feed: FeedFixture;

beforeEach(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0');
});

afterEach(async () => {
  await feed.close();
});

function record(updater: Updater): { name: string; args: unknown[] }[] {
  const seen: { name: string; args: unknown[] }[] = [];
  const names: (keyof UpdaterEvents)[] = [
    'checking-for-update',
    'update-available',
    'update-not-available',
    'plan',
    'download-progress',
    'update-downloaded',
    'installing',
    'health-check',
    'installed',
    'committed',
    'rolled-back',
  ];
  for (const name of names) updater.on(name, (...args: unknown[]) => seen.push({ name, args }));
  return seen;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<UpdateError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(UpdateError);
  expect((err as UpdateError).code).toBe(code);
  return err as UpdateError;
}

describe('a full update', () => {
  it('checks, downloads, stages, switches on trial and commits after the post-start probe', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const updater = new Updater(feed.options(root));
    const events = record(updater);

    const check = await updater.checkForUpdates();
    expect(check).toMatchObject({ available: true, reason: null, release: { version: '2.0.0', currentVersion: '1.0.0' } });
    await updater.downloadUpdate();
    const staged = await updater.status();
    expect(staged).toMatchObject({ active: 'a', activeVersion: '1.0.0', trial: false, slots: { b: { version: '2.0.0', status: 'staged' } } });

    const installed = await updater.installUpdate();
    expect(installed).toEqual({ version: '2.0.0', slot: 'b', restartRequired: true });
    expect(await updater.status()).toMatchObject({ active: 'b', previous: 'a', trial: true, attempts: 0 });

    const confirmed = await updater.confirmStartup();
    expect(confirmed).toMatchObject({ outcome: 'committed', version: '2.0.0' });
    expect(await updater.status()).toMatchObject({ active: 'b', activeVersion: '2.0.0', trial: false, slots: { a: { status: 'good' }, b: { status: 'good' } } });
    expect(await readFile(join(root, 'slots', 'b', 'VERSION'), 'utf8')).toBe('2.0.0\n');

    const order = events.map((e) => e.name).filter((n, i, all) => n !== 'download-progress' || all[i - 1] !== 'download-progress');
    expect(order).toEqual([
      'checking-for-update',
      'update-available',
      'plan',
      'download-progress',
      'update-downloaded',
      'installing',
      'installed',
      'health-check',
      'committed',
    ]);
    const progress = events.filter((e) => e.name === 'download-progress').at(-1)!.args[0] as { transferred: number; total: number; percent: number };
    expect(progress.transferred).toBe(progress.total);
    expect(progress.percent).toBe(100);
  });

  it('reports no update when the channel offers the running version', async () => {
    const root = await feed.install();
    const updater = new Updater(feed.options(root));
    expect(await updater.checkForUpdates()).toEqual({ available: false, release: null, reason: 'up-to-date' });
  });
});

describe('bad input ends in a typed error and changes nothing', () => {
  it('a channel document signed by another key: SIGNATURE_INVALID, nothing downloaded', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const before = await snapshotTree(root);
    const stranger = generateKeyPair();
    const updater = new Updater(feed.options(root, { trustedKeys: [stranger.publicKey.text] }));
    const requestsBefore = feed.requests.length;
    await expectCode(updater.checkForUpdates(), 'SIGNATURE_INVALID');
    const fetched = feed.requests.slice(requestsBefore).map((r) => r.path);
    // The only other request: whether the keys were rotated (there is no root 2).
    expect(fetched).toEqual(['/channels/stable.json', '/keys/root.2.json']);
    expect(await snapshotTree(root)).toEqual(before);
  });

  it('a tampered channel document (one byte of the signed part): SIGNATURE_INVALID', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const path = join(feed.feed, 'channels', 'stable.json');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"2.0.0"', '"2.0.1"'));
    const before = await snapshotTree(join(root, 'slots'));
    await expectCode(new Updater(feed.options(root)).checkForUpdates(), 'SIGNATURE_INVALID');
    expect(await snapshotTree(join(root, 'slots'))).toEqual(before);
  });

  it('a tampered pack: CHECKSUM_MISMATCH, active slot untouched, nothing switched', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0', { payloadBytes: 512 * 1024 });
    const manifest = JSON.parse(await readFile(join(feed.feed, 'releases', '2.0.0', 'linux-x64.json'), 'utf8'));
    const blob = join(feed.feed, 'blobs', 'sha256', manifest.signed.pack.sha256);
    const bytes = await readFile(blob);
    bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0xff, bytes.length >> 1);
    await writeFile(blob, bytes);
    const activeBefore = await snapshotTree(join(root, 'slots', 'a'));
    const stateBefore = await readFile(join(root, 'state'), 'utf8');

    const updater = new Updater(feed.options(root));
    await updater.checkForUpdates();
    const err = await expectCode(updater.downloadUpdate(), 'CHECKSUM_MISMATCH');
    expect(err.details).toHaveProperty('chunk');
    expect(await snapshotTree(join(root, 'slots', 'a'))).toEqual(activeBefore);
    const status = await updater.status();
    expect(status).toMatchObject({ active: 'a', activeVersion: '1.0.0', trial: false });
    expect(status.slots.b.status).toBe('invalid');
    expect(stateBefore).toContain('active a');
    await expectCode(updater.installUpdate(), 'INVALID_STATE');
  });

  it('a release manifest that does not match the hash its channel pins: CHECKSUM_MISMATCH before parsing', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const path = join(feed.feed, 'releases', '2.0.0', 'linux-x64.json');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"entry":"bin/app"', '"entry":"bin/ap2"'));
    await expectCode(new Updater(feed.options(root)).checkForUpdates(), 'CHECKSUM_MISMATCH');
  });

  it('an expired channel document: MANIFEST_EXPIRED', async () => {
    const root = await feed.install();
    const later = { now: () => Date.now() + 365 * 86_400_000, sleep: async () => undefined };
    await expectCode(new Updater(feed.options(root, { clock: later })).checkForUpdates(), 'MANIFEST_EXPIRED');
  });

  it('a replayed older channel document: ROLLBACK_REJECTED', async () => {
    const root = await feed.install();
    const path = join(feed.feed, 'channels', 'stable.json');
    const old = await readFile(path);
    await feed.publish('2.0.0');
    const updater = new Updater(feed.options(root));
    await updater.checkForUpdates();
    await writeFile(path, old);
    await expectCode(new Updater(feed.options(root)).checkForUpdates(), 'ROLLBACK_REJECTED');
  });

  it('the channel of another app: WRONG_TARGET', async () => {
    const root = await feed.install();
    await expectCode(new Updater(feed.options(root, { appId: 'com.example.other' })).checkForUpdates(), 'WRONG_TARGET');
  });
});

describe('a failed post-start probe', () => {
  it('reverts to the previous slot, marks the release bad and does not offer it again', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0', { selfTest: 'fail' });
    const updater = new Updater(feed.options(root));
    const events = record(updater);
    await updater.checkForUpdates();
    await updater.downloadUpdate();
    await updater.installUpdate();
    const result = await updater.confirmStartup();
    expect(result).toMatchObject({ outcome: 'rolled-back', reason: 'health-check-failed', fromVersion: '2.0.0', toVersion: '1.0.0', restartRequired: true });
    const probe = events.find((e) => e.name === 'health-check')!.args[0] as { ok: boolean; output: string; exitCode: number };
    expect(probe).toMatchObject({ ok: false, exitCode: 1 });
    expect(probe.output).toContain('cannot open the database');
    expect(await updater.status()).toMatchObject({ active: 'a', activeVersion: '1.0.0', trial: false, bad: ['2.0.0'], slots: { b: { status: 'bad' } } });

    expect(await new Updater(feed.options(root)).checkForUpdates()).toMatchObject({ available: false, reason: 'known-bad' });
    await feed.publish('2.0.1');
    expect(await new Updater(feed.options(root)).checkForUpdates()).toMatchObject({ available: true, release: { version: '2.0.1' } });
  });

  it('a failing pre-switch probe refuses the switch: HEALTH_CHECK_FAILED and the old slot stays active', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0', { probes: [{ when: 'pre-switch', command: ['bin/app', '--self-test'], timeoutMs: 20_000 }], selfTest: 'fail' });
    const updater = new Updater(feed.options(root));
    await updater.checkForUpdates();
    await updater.downloadUpdate();
    await expectCode(updater.installUpdate(), 'HEALTH_CHECK_FAILED');
    expect(await updater.status()).toMatchObject({ active: 'a', trial: false, slots: { b: { status: 'staged' } } });
  });

  it('a hanging probe times out and reverts', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const updater = new Updater(feed.options(root, { probes: [{ kind: 'command', command: ['sleep', '30'], timeoutMs: 300 }] }));
    await updater.checkForUpdates();
    await updater.downloadUpdate();
    await updater.installUpdate();
    const result = await updater.confirmStartup();
    expect(result).toMatchObject({ outcome: 'rolled-back', reason: 'health-check-failed' });
  });
});

describe('a revoked release', () => {
  it('an install running it goes back to its previous slot at the next check, without a download', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const updater = new Updater(feed.options(root));
    await updater.checkForUpdates();
    await updater.downloadUpdate();
    await updater.installUpdate();
    expect(await updater.confirmStartup()).toMatchObject({ outcome: 'committed', version: '2.0.0' });

    await editChannel({ feedDir: feed.feed, channel: 'stable', keys: [feed.key] }, (content) => {
      content.revoked.push('2.0.0');
    });
    const rolled: unknown[] = [];
    updater.on('rolled-back', (info) => rolled.push(info));
    feed.requests.length = 0;
    const check = await updater.checkForUpdates();
    expect(check).toEqual({ available: false, release: null, reason: 'revoked', restartRequired: true });
    expect(rolled).toEqual([expect.objectContaining({ reason: 'revoked', fromVersion: '2.0.0', toVersion: '1.0.0' })]);
    expect(await updater.status()).toMatchObject({ active: 'a', activeVersion: '1.0.0', trial: false });
    expect(feed.requests.filter((r) => r.path.includes('/blobs/'))).toEqual([]);
    // And it is not offered again.
    expect(await updater.checkForUpdates()).toMatchObject({ available: false });
  });
});

describe('the root lock', () => {
  it('a second updater on the same root gets LOCKED while the first works', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0', { payloadBytes: 2 * 1024 * 1024 });
    let release!: () => void;
    const gate = new Promise<boolean>((resolve) => {
      release = () => resolve(true);
    });
    const first = new Updater(feed.options(root, { confirmDownload: () => gate }));
    await first.checkForUpdates();
    const downloading = first.downloadUpdate();
    // The first holds the lock while its consent hook waits.
    await new Promise((r) => setTimeout(r, 100));
    const second = new Updater(feed.options(root));
    await expectCode(second.checkForUpdates(), 'LOCKED');
    release();
    await downloading;
    expect(await second.checkForUpdates()).toMatchObject({ available: true });
  });

  it('the same updater refuses overlapping calls with INVALID_STATE', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const updater = new Updater(feed.options(root));
    const a = updater.checkForUpdates();
    await expectCode(updater.checkForUpdates(), 'INVALID_STATE');
    await a;
  });
});

describe('options', () => {
  it('invalid options throw INVALID_OPTIONS at construction', () => {
    expect(() => new Updater({ installRoot: '/tmp/x', trustedKeys: ['rsa:abc'] })).toThrow(UpdateError);
    expect(() => new Updater({ installRoot: '/tmp/x', feedUrl: 'ftp://x' })).toThrow(/feedUrl/);
    expect(() => new Updater({ installRoot: '/tmp/x', maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => new Updater({ installRoot: '' })).toThrow(/installRoot/);
  });
});
