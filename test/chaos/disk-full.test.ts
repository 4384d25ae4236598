// A disk that fills up while staging: DISK_FULL, the active slot untouched and still
// the one that starts, staging reclaimed, and the update succeeds once space is back.
// The limit is set through the FileSystem boundary (test/helpers/crash-fs.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowContext, loadConfig } from '../../src/flow/context.js';
import { installFirstRelease } from '../../src/flow/first-install.js';
import { loadJournal } from '../../src/slots/journal-store.js';
import { rootLayout } from '../../src/slots/layout.js';
import { Updater } from '../../src/updater.js';
import { CrashFs } from '../helpers/crash-fs.js';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';

let feed: FeedFixture;
let root: string;

beforeAll(async () => {
  feed = await createFeedFixture();
  root = await mkdtemp(join(tmpdir(), 'twinslot-full-'));
  await feed.publish('2.0.0', { payloadBytes: 200_000, chunkSize: 16_384, probes: [] });
});

afterAll(async () => {
  await feed?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('disk full while staging', () => {
  it('ends in DISK_FULL with the active slot untouched and staging reclaimed; with space back the update completes', async () => {
    const fs = new CrashFs(root);
    const layout = rootLayout(root);
    // Install what the channel offers (2.0.0), then publish 3.0.0 and fill the disk while staging it.
    const opts = feed.options(root, { fs, probes: [] });
    await installFirstRelease(createFlowContext(opts, layout, await loadConfig(opts, layout), () => undefined));
    await feed.publish('3.0.0', { payloadBytes: 200_000, chunkSize: 16_384, probes: [], seed: 'other' });
    const before = new Map([...fs.files()].filter(([path]) => path.startsWith('slots/a/')).map(([path, f]) => [path, Buffer.from(f.data)]));
    const used = [...fs.files().values()].reduce((sum, f) => sum + f.data.length, 0);
    fs.capacity = used + 100_000; // room for half the new payload

    const updater = new Updater(opts);
    await updater.checkForUpdates();
    const err = await updater.downloadUpdate().then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe('DISK_FULL');
    const journal = (await loadJournal(fs, layout))!;
    expect(journal).toMatchObject({ active: 'a', trial: false, slots: { a: { version: '2.0.0', status: 'good' } } });
    const after = new Map([...fs.files()].filter(([path]) => path.startsWith('slots/a/')).map(([path, f]) => [path, f.data]));
    expect(after).toEqual(before);
    expect([...fs.files().keys()].some((path) => path.startsWith('staging/'))).toBe(false);

    fs.capacity = Infinity;
    await updater.downloadUpdate();
    await updater.installUpdate();
    expect((await loadJournal(fs, layout))!).toMatchObject({ active: 'b', trial: true, slots: { b: { version: '3.0.0' } } });
  });
});
