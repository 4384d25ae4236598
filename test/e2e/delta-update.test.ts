// Delta updates end to end against a real HTTP server: the publisher makes patches
// with bsdiff-node, the client applies them in TypeScript, downloads a fraction of the
// bytes, and falls back to fetching a file whole when its patch cannot be used.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PatchFailedInfo, PlanSummary } from '../../src/events.js';
import { Updater } from '../../src/updater.js';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';

const PAYLOAD = 2 * 1024 * 1024;
let feed: FeedFixture;

beforeEach(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0', { payloadBytes: PAYLOAD, seed: 'asset' });
});

afterEach(async () => {
  await feed.close();
});

function blobBytesFetched(): number {
  return feed.requests.filter((r) => r.path.includes('/blobs/')).reduce((sum, r) => sum + r.bytes, 0);
}

async function fileSha(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

describe('a delta update', () => {
  it('publishes a patch for the changed asset and updates by downloading a small fraction of it', async () => {
    const root = await feed.install();
    const published = await feed.publish('1.1.0', { payloadBytes: PAYLOAD, seed: 'asset', edit: 'v1.1', deltasFrom: 1 });
    const asset = published.manifest.files.find((f) => f.path === 'assets/blob.bin')!;
    const patch = published.manifest.patches.find((p) => p.to === asset.sha256);
    expect(patch, 'a patch for assets/blob.bin').toBeDefined();
    expect(patch!.size).toBeLessThan(asset.size / 20);
    expect(published.deltas).toMatchObject({ fromVersions: ['1.0.0'] });

    const updater = new Updater(feed.options(root));
    const plans: PlanSummary[] = [];
    const failures: PatchFailedInfo[] = [];
    updater.on('plan', (p) => plans.push(p));
    updater.on('patch-failed', (f) => failures.push(f));
    await updater.checkForUpdates();
    feed.requests.length = 0;
    await updater.downloadUpdate();

    expect(failures).toEqual([]);
    expect(plans).toHaveLength(1);
    expect(plans[0]!.files.patch).toBeGreaterThanOrEqual(1);
    expect(plans[0]!.bytes.patch).toBeGreaterThanOrEqual(asset.size);
    expect(plans[0]!.files.copy).toBe(1); // assets/readme.txt is the same in both
    // Only the patch blob and the chunks of the small changed files came over the wire.
    expect(blobBytesFetched()).toBe(plans[0]!.downloadBytes);
    expect(blobBytesFetched()).toBeLessThan(PAYLOAD / 10);

    await updater.installUpdate();
    expect(await fileSha(join(root, 'slots', 'b', 'assets', 'blob.bin'))).toBe(asset.sha256);
    expect(await readFile(join(root, 'slots', 'b', 'VERSION'), 'utf8')).toBe('1.1.0\n');
    expect(await updater.confirmStartup()).toMatchObject({ outcome: 'committed', version: '1.1.0' });
  });

  it('a patch blob corrupted on the server: patch-failed, the file is fetched whole, the update completes', async () => {
    const root = await feed.install();
    const published = await feed.publish('1.1.0', { payloadBytes: PAYLOAD, seed: 'asset', edit: 'v1.1', deltasFrom: 1 });
    const asset = published.manifest.files.find((f) => f.path === 'assets/blob.bin')!;
    const patch = published.manifest.patches.find((p) => p.to === asset.sha256)!;
    const blobPath = join(feed.feed, 'blobs', 'sha256', patch.blob);
    const bytes = await readFile(blobPath);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(blobPath, bytes);

    const updater = new Updater(feed.options(root, { retry: { attemptsPerMirror: 1, baseDelayMs: 1, maxDelayMs: 1 } }));
    const failures: PatchFailedInfo[] = [];
    const plans: PlanSummary[] = [];
    updater.on('patch-failed', (f) => failures.push(f));
    updater.on('plan', (p) => plans.push(p));
    await updater.checkForUpdates();
    await updater.downloadUpdate();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ path: 'assets/blob.bin', code: 'CHECKSUM_MISMATCH' });
    expect(plans).toHaveLength(2);
    expect(plans[1]!.files.patch).toBe(plans[0]!.files.patch - 1);
    await updater.installUpdate();
    expect(await fileSha(join(root, 'slots', 'b', 'assets', 'blob.bin'))).toBe(asset.sha256);
  });

  it('a source file in the active slot that is not what its manifest says: the output hash fails, the file is fetched whole', async () => {
    const root = await feed.install();
    const published = await feed.publish('1.1.0', { payloadBytes: PAYLOAD, seed: 'asset', edit: 'v1.1', deltasFrom: 1 });
    // Same size, different bytes: bit rot in the active slot.
    const source = join(root, 'slots', 'a', 'assets', 'blob.bin');
    const bytes = await readFile(source);
    bytes[1000] = bytes[1000]! ^ 0x01;
    await writeFile(source, bytes);

    const updater = new Updater(feed.options(root));
    const failures: PatchFailedInfo[] = [];
    updater.on('patch-failed', (f) => failures.push(f));
    await updater.checkForUpdates();
    await updater.downloadUpdate();
    expect(failures).toEqual([expect.objectContaining({ path: 'assets/blob.bin', code: 'CHECKSUM_MISMATCH' })]);
    await updater.installUpdate();
    const asset = published.manifest.files.find((f) => f.path === 'assets/blob.bin')!;
    expect(await fileSha(join(root, 'slots', 'b', 'assets', 'blob.bin'))).toBe(asset.sha256);
  });

  it('an aborted patch download resumes without fetching its verified chunks again', async () => {
    const root = await feed.install();
    // A 64 KiB insertion, so the patch spans many 4 KiB chunks.
    const published = await feed.publish('1.1.0', { payloadBytes: PAYLOAD, seed: 'asset', edit: 'v1.1', insertBytes: 65536, deltasFrom: 1, chunkSize: 4096 });
    const asset = published.manifest.files.find((f) => f.path === 'assets/blob.bin')!;
    const patch = published.manifest.patches.find((p) => p.to === asset.sha256)!;
    expect(patch.chunks.length).toBeGreaterThan(10);
    const updater = new Updater(feed.options(root, { maxBytesPerSecond: 20_000, connections: 1 }));
    await updater.checkForUpdates();
    const controller = new AbortController();
    let seen = 0;
    updater.on('download-progress', (p) => {
      seen = p.transferred;
      if (p.transferred > 8192) controller.abort();
    });
    await expect(updater.downloadUpdate({ signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(seen).toBeGreaterThan(8192);
    feed.requests.length = 0;
    updater.setThrottle(0);
    const plans: PlanSummary[] = [];
    updater.on('plan', (p) => plans.push(p));
    await updater.downloadUpdate();
    expect((await updater.status()).slots.b).toMatchObject({ status: 'staged', version: '1.1.0' });
    // The second run fetched only what was left, plus at most the one chunk in flight at the abort.
    const patchRequests = feed.requests.filter((r) => r.path.endsWith(patch.blob));
    const refetched = patchRequests.reduce((sum, r) => sum + r.bytes, 0);
    expect(refetched).toBeLessThanOrEqual(patch.size - seen + 4096);
    expect(patchRequests.every((r) => r.range !== null)).toBe(true);
    expect(plans[0]!.files.patch).toBeGreaterThanOrEqual(1);
  });
});
