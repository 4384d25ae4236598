// Root key rotation against a real HTTP server: the client follows keys/root.N.json
// from its pinned keys, each step signed by a threshold of the previous keys and of
// its own, stores the newest root, and stops trusting keys a rotation removed.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeSampleApp } from '../../examples/demo/sample-app.mjs';
import { type KeyPair, generateKeyPair } from '../../src/manifest/keys.js';
import { editChannel } from '../../src/publish/channel-doc.js';
import { publishRelease } from '../../src/publish/release.js';
import { rotateKeys } from '../../src/publish/rotate-keys.js';
import { Updater } from '../../src/updater.js';
import { APP, type FeedFixture, PLATFORM, createFeedFixture } from '../helpers/fixture.js';

let feed: FeedFixture;

beforeEach(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0');
});

afterEach(async () => {
  await feed.close();
});

async function publishWith(version: string, keys: KeyPair[]): Promise<void> {
  const build = join(feed.dir, `build-${version}`);
  await writeSampleApp(build, { version, payloadBytes: 20_000 });
  await publishRelease({ buildDir: build, feedDir: feed.feed, app: APP, version, channel: 'stable', platform: PLATFORM, entry: 'bin/app', keys, probes: [] });
}

async function trustJson(root: string): Promise<{ rootVersion: number; root?: { keys: string[]; threshold: number } }> {
  return JSON.parse(await readFile(join(root, 'trust.json'), 'utf8'));
}

describe('root key rotation', () => {
  it('follows root 2 signed by the old and new keys, updates from releases signed by the new key, and drops the old key', async () => {
    const root = await feed.install();
    const k2 = generateKeyPair();
    expect(await rotateKeys({ feedDir: feed.feed, app: APP, currentKeys: [feed.key], newKeys: [k2] })).toMatchObject({ version: 2 });
    await publishWith('2.0.0', [k2]);

    const updater = new Updater(feed.options(root));
    expect(await updater.checkForUpdates()).toMatchObject({ available: true, release: { version: '2.0.0' } });
    expect(await trustJson(root)).toMatchObject({ rootVersion: 2, root: { keys: [k2.publicKey.text], threshold: 1 } });
    await updater.downloadUpdate();
    await updater.installUpdate();
    expect(await updater.confirmStartup()).toMatchObject({ outcome: 'committed', version: '2.0.0' });

    // Someone still holding the removed key signs a newer channel document: refused.
    await editChannel({ feedDir: feed.feed, channel: 'stable', keys: [feed.key] }, (c) => {
      c.critical = true;
    });
    await expect(new Updater(feed.options(root)).checkForUpdates()).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('follows a chain of rotations to the end', async () => {
    const root = await feed.install();
    const k2 = generateKeyPair();
    const k3 = generateKeyPair();
    await rotateKeys({ feedDir: feed.feed, app: APP, currentKeys: [feed.key], newKeys: [k2] });
    await rotateKeys({ feedDir: feed.feed, app: APP, currentKeys: [k2], newKeys: [k3] });
    await publishWith('2.0.0', [k3]);
    expect(await new Updater(feed.options(root)).checkForUpdates()).toMatchObject({ available: true });
    expect(await trustJson(root)).toMatchObject({ rootVersion: 3, root: { keys: [k3.publicKey.text] } });
  });

  it('a root signed only by the new keys is refused and the install stays on its pinned keys', async () => {
    const root = await feed.install();
    const k2 = generateKeyPair();
    // A thief's "rotation": signed by the new key alone.
    await rotateKeys({ feedDir: feed.feed, app: APP, currentKeys: [k2], newKeys: [k2] });
    await publishWith('2.0.0', [k2]);
    await expect(new Updater(feed.options(root)).checkForUpdates()).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect(await trustJson(root)).toMatchObject({ rootVersion: 1 });
  });

  it('a root document served under another version number is refused', async () => {
    const root = await feed.install();
    const k2 = generateKeyPair();
    const k3 = generateKeyPair();
    await rotateKeys({ feedDir: feed.feed, app: APP, currentKeys: [feed.key], newKeys: [k2] });
    await rotateKeys({ feedDir: feed.feed, app: APP, currentKeys: [k2, feed.key], newKeys: [k3] });
    // root 3 (also signed by key 1) moved to where root 2 belongs.
    await rename(join(feed.feed, 'keys', 'root.3.json'), join(feed.feed, 'keys', 'root.2.json'));
    await publishWith('2.0.0', [k3]);
    await expect(new Updater(feed.options(root)).checkForUpdates()).rejects.toMatchObject({ code: 'ROLLBACK_REJECTED' });
    expect(await trustJson(root)).toMatchObject({ rootVersion: 1 });
  });

  it('k of n: losing one of three keys strands nothing; two of them sign the rotation that replaces it', async () => {
    const k2 = generateKeyPair();
    const k3 = generateKeyPair();
    const root = await feed.install();
    const options = feed.options(root, { trustedKeys: [feed.key.publicKey.text, k2.publicKey.text, k3.publicKey.text], threshold: 2 });
    // k3 is lost; k1 + k2 rotate to k1, k2, k4 with threshold 2.
    const k4 = generateKeyPair();
    await rotateKeys({ feedDir: feed.feed, app: APP, currentKeys: [feed.key, k2], newKeys: [feed.key, k2, k4], threshold: 2 });
    await publishWith('2.0.0', [k2, k4]);
    expect(await new Updater(options).checkForUpdates()).toMatchObject({ available: true, release: { version: '2.0.0' } });
    expect(await trustJson(root)).toMatchObject({ rootVersion: 2, root: { threshold: 2 } });
  });

  it('the CLI rotates keys', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { writeKeyFile } = await import('../../src/publish/key-file.js');
    const oldFile = join(feed.dir, 'old.key');
    const newFile = join(feed.dir, 'new.key');
    await writeKeyFile(oldFile, feed.key);
    const k2 = generateKeyPair();
    await writeKeyFile(newFile, k2);
    const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'rotate-keys', '--feed', feed.feed, '--app', APP, '--key', oldFile, '--new-key', newFile, '--json']);
    expect(JSON.parse(stdout)).toMatchObject({ version: 2, keys: [k2.publicKey.text] });
    const doc = JSON.parse(await readFile(join(feed.feed, 'keys', 'root.2.json'), 'utf8'));
    expect(doc.signed).toMatchObject({ _type: 'twinslot/root', version: 2, threshold: 1 });
    expect(doc.signatures).toHaveLength(2);
  });
});
