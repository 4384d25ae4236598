// Verify-then-use races: between the moment twinslot verifies bytes and the moment it
// uses them, a same-user attacker swaps the staging directory, a staged file or the
// slot itself for a symlink, or plants a hardlink. Every swap is a real rename, symlink
// or link on disk, done between Updater steps or, through a hooked FileSystem, at a
// precise moment inside one. Each must end in a typed UpdateError (UNSAFE_PATH) with
// nothing written outside the root, the active slot untouched, and no switch; and the
// next update must heal (the hostile entries are removed, never followed).
import { cp, link, lstat, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/io/file-system.js';
import { Updater } from '../../src/updater.js';
import { expectRejectCode } from '../unit/expect-code.js';
import { type FeedFixture, createFeedFixture, snapshotTree } from '../helpers/fixture.js';
import { type FsHook, hookedFileSystem } from '../helpers/hook-fs.js';

let feed: FeedFixture;
let count = 0;

beforeAll(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0', { channel: 'base' });
  await feed.publish('2.0.0', { payloadBytes: 640 * 1024, chunkSize: 64 * 1024 });
});

afterAll(async () => {
  await feed.close();
});

interface Scene {
  root: string;
  /** A directory next to the root, where an attacker points links. */
  outside: string;
  /** Content and mtime of everything under `outside` and of the canary beside the root. */
  fingerprint(): Promise<Record<string, string>>;
  updater(fs?: FileSystem, signal?: AbortSignal): Updater;
  expectActiveUntouched(): Promise<void>;
}

async function scene(): Promise<Scene> {
  const n = count++;
  const root = await feed.install(`root-${n}`, 'base');
  const outside = join(feed.dir, `outside-${n}`);
  await mkdir(outside);
  await writeFile(join(outside, 'canary'), `canary ${n}\n`);
  const active = await snapshotTree(join(root, 'slots', 'a'));
  const fingerprint = async (): Promise<Record<string, string>> => {
    const out = await snapshotTree(outside);
    for (const [path, kind] of Object.entries(out)) {
      if (kind !== 'dir' && kind !== 'symlink') out[path] = `${kind} ${(await lstat(join(outside, path))).mtimeMs}`;
    }
    return out;
  };
  return {
    root,
    outside,
    fingerprint,
    updater: (fs) => new Updater(feed.options(root, { fs, retry: { baseDelayMs: 5, maxDelayMs: 20 } })),
    async expectActiveUntouched() {
      expect(await snapshotTree(join(root, 'slots', 'a'))).toEqual(active);
      const status = await new Updater(feed.options(root)).status();
      expect(status.active).toBe('a');
      expect(status.slots.a).toEqual({ version: '1.0.0', status: 'good' });
      expect(status.trial).toBe(false);
    },
  };
}

/** A full update to 2.0.0 with a plain Updater: the root heals after a refused attempt. */
async function updatesCleanly(s: Scene): Promise<void> {
  const updater = s.updater();
  await updater.downloadUpdate();
  await updater.installUpdate();
  const status = await updater.status();
  expect(status.active).toBe('b');
  expect(status.activeVersion).toBe('2.0.0');
}

/** Starts a download and aborts it after a few pack writes, leaving staging to resume. */
async function interruptedDownload(s: Scene): Promise<void> {
  const controller = new AbortController();
  let writes = 0;
  const fs = hookedFileSystem((op, path) => {
    if (op === 'write' && path.includes(`${join('staging', 'files')}`) && ++writes === 3) controller.abort();
  });
  const updater = new Updater(feed.options(s.root, { fs, connections: 1 }));
  await updater.checkForUpdates();
  await expectRejectCode(updater.downloadUpdate({ signal: controller.signal }), 'ABORTED');
  expect((await readdir(join(s.root, 'staging', 'files'))).length).toBeGreaterThan(0);
}

describe('the staging directory swapped for a symlink', () => {
  it('between runs (pointing at a copy of the real staging, job and all): refused before a byte is written there', async () => {
    const s = await scene();
    await interruptedDownload(s);
    // The attacker moves staging away and points <root>/staging at a lookalike outside the root.
    await rename(join(s.root, 'staging'), join(s.outside, 'stolen'));
    await cp(join(s.outside, 'stolen'), join(s.outside, 'target'), { recursive: true });
    await symlink(join(s.outside, 'target'), join(s.root, 'staging'));
    const before = await s.fingerprint();

    await expectRejectCode(s.updater().downloadUpdate(), 'UNSAFE_PATH');
    expect(await s.fingerprint()).toEqual(before);
    await s.expectActiveUntouched();
    // The link was removed (not followed): the next run starts a clean staging inside the root.
    await updatesCleanly(s);
    expect(await s.fingerprint()).toEqual(before);
  });

  it('mid-download, after the first pack bytes landed: refused, nothing written through the link', async () => {
    const s = await scene();
    await mkdir(join(s.outside, 'target', 'files'), { recursive: true });
    const before = await s.fingerprint();
    let swapped = false;
    const hook: FsHook = async (op, path) => {
      if (!swapped && op === 'write' && path.includes(join('staging', 'files'))) {
        swapped = true;
        await rename(join(s.root, 'staging'), join(s.outside, 'stolen'));
        await symlink(join(s.outside, 'target'), join(s.root, 'staging'));
      }
    };
    await expectRejectCode(s.updater(hookedFileSystem(hook)).downloadUpdate(), 'UNSAFE_PATH');
    expect(swapped).toBe(true);
    // `stolen` is twinslot's own directory, moved by the attacker; `target` must be as it was.
    const after = await s.fingerprint();
    expect(Object.fromEntries(Object.entries(after).filter(([p]) => !p.startsWith('stolen')))).toEqual(before);
    await s.expectActiveUntouched();
    expect((await new Updater(feed.options(s.root)).status()).slots.b.status).not.toBe('staged');
    await updatesCleanly(s);
  });
});

describe('a staged file swapped for a symlink before the switch', () => {
  it('in the inactive slot, after the download: the re-check refuses the switch', async () => {
    const s = await scene();
    const updater = s.updater();
    await updater.downloadUpdate();
    const staged = join(s.root, 'slots', 'b', 'assets', 'blob.bin');
    // The link points at a file with exactly the verified bytes: only its being a link gives it away.
    await writeFile(join(s.outside, 'blob.bin'), await readFile(staged));
    await rm(staged);
    await symlink(join(s.outside, 'blob.bin'), staged);
    const before = await s.fingerprint();
    await expectRejectCode(updater.installUpdate(), 'UNSAFE_PATH');
    await s.expectActiveUntouched();
    expect(await s.fingerprint()).toEqual(before);
    // The slot that failed its re-check is no longer "staged": the next download rebuilds it.
    expect((await updater.status()).slots.b.status).toBe('invalid');
    await updatesCleanly(s);
    expect(await s.fingerprint()).toEqual(before);
  });

  it('in staging, right before it is moved into the slot: refused before the switch', async () => {
    const s = await scene();
    let swapped = '';
    const hook: FsHook = async (op, path) => {
      if (!swapped && op === 'rename' && path.includes(join('staging', 'files'))) {
        swapped = path;
        await writeFile(join(s.outside, 'same-bytes'), await readFile(path));
        await rm(path);
        await symlink(join(s.outside, 'same-bytes'), path);
      }
    };
    const before = { ...(await s.fingerprint()) };
    const updater = s.updater(hookedFileSystem(hook));
    await expectRejectCode(updater.downloadUpdate().then(() => updater.installUpdate()), 'UNSAFE_PATH');
    expect(swapped).not.toBe('');
    await s.expectActiveUntouched();
    const after = await s.fingerprint();
    delete after['same-bytes'];
    expect(after).toEqual(before);
    await updatesCleanly(s);
  });

  it('the whole inactive slot swapped for a symlink to an identical tree outside the root: refused', async () => {
    const s = await scene();
    const updater = s.updater();
    await updater.downloadUpdate();
    await rename(join(s.root, 'slots', 'b'), join(s.outside, 'b'));
    await symlink(join(s.outside, 'b'), join(s.root, 'slots', 'b'));
    const before = await s.fingerprint();
    await expectRejectCode(updater.installUpdate(), 'UNSAFE_PATH');
    await s.expectActiveUntouched();
    expect(await s.fingerprint()).toEqual(before);
    await updatesCleanly(s);
    expect(await s.fingerprint()).toEqual(before);
  });
});

describe('hardlinks do not let writes escape', () => {
  it('a staged file in the inactive slot hardlinked to a file outside the root: the switch refuses, the outside file never changes', async () => {
    const s = await scene();
    const updater = s.updater();
    await updater.downloadUpdate();
    const staged = join(s.root, 'slots', 'b', 'VERSION');
    // Same bytes as the staged file, so only the link count gives it away.
    await writeFile(join(s.outside, 'linked'), await readFile(staged));
    await rm(staged);
    await link(join(s.outside, 'linked'), staged);
    const before = await s.fingerprint();
    await expectRejectCode(updater.installUpdate(), 'UNSAFE_PATH');
    await s.expectActiveUntouched();
    // The rebuild must not keep the linked file (its bytes match) nor write into it.
    await updatesCleanly(s);
    expect(await s.fingerprint()).toEqual(before);
    expect((await lstat(join(s.root, 'slots', 'b', 'VERSION'))).nlink).toBe(1);
  });

  it('a partial file in staging hardlinked to a file outside the root between runs: refused, the outside file never changes', async () => {
    const s = await scene();
    await interruptedDownload(s);
    const files = join(s.root, 'staging', 'files');
    const victim = (await readdir(files)).sort()[0]!;
    await writeFile(join(s.outside, 'victim'), Buffer.alloc((await lstat(join(files, victim))).size, 0x41));
    await rm(join(files, victim));
    await link(join(s.outside, 'victim'), join(files, victim));
    const before = await s.fingerprint();
    await expectRejectCode(s.updater().downloadUpdate(), 'UNSAFE_PATH');
    expect(await s.fingerprint()).toEqual(before);
    await s.expectActiveUntouched();
    await updatesCleanly(s);
    expect(await s.fingerprint()).toEqual(before);
  });
});
