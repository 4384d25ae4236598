// A canary file next to the install root, and one in the directory above, must come
// through every hostile case byte for byte with the same mtime, and nothing may appear
// beside them: manifests (validly signed) whose paths try to leave the slot, staging
// swapped for a symlink to the canary's directory, a slot file hardlinked to the canary,
// and a hostile patch. Each case runs on its own install:
//
//   case-N/canary               the canary in the parent directory
//   case-N/install/canary       the canary next to the root
//   case-N/install/root/        the install root (slots/a active, slots/b inactive)
import { createHash } from 'node:crypto';
import { cp, link, lstat, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushVarint, writeHeader, zigzag } from '../../src/delta/format.js';
import type { PatchFailedInfo } from '../../src/events.js';
import type { UpdateErrorCode } from '../../src/errors.js';
import type { FileSystem } from '../../src/io/file-system.js';
import { Updater } from '../../src/updater.js';
import { expectRejectCode } from '../unit/expect-code.js';
import { type FeedFixture, createFeedFixture, snapshotTree } from '../helpers/fixture.js';
import { hookedFileSystem } from '../helpers/hook-fs.js';
import { type SignedManifest, publishTampered, putBlob, readSigned } from '../helpers/tampered-release.js';

let feed: FeedFixture;
let v2: SignedManifest;
let minor = 0;

beforeAll(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0', { channel: 'base', seed: 'asset', payloadBytes: 256 * 1024 });
  const published = await feed.publish('2.0.0', { seed: 'asset', edit: 'v2', payloadBytes: 256 * 1024, deltasFrom: 1 });
  v2 = await readSigned(published.manifestPath);
  expect(v2.patches.length, 'the fixture release carries a patch').toBeGreaterThan(0);
});

afterAll(async () => {
  await feed.close();
});

interface Case {
  readonly name: string;
  /** Offers the hostile release and prepares the root. */
  arrange(root: string, install: string): Promise<void>;
  /** Drives the updater; resolves with the error code, or 'ok'. */
  act(root: string, install: string): Promise<UpdateErrorCode | 'ok'>;
  readonly expect: UpdateErrorCode | 'ok';
}

/** Offers `v2` under a fresh version, edited by `edit`. */
const offer = (edit: (s: SignedManifest) => void = () => undefined): Promise<Buffer> => publishTampered(feed, v2, `2.1.${minor++}`, edit);

const fileAt = (path: string) => (s: SignedManifest) => {
  s.files[0].path = path;
};

/** Download then install; the typed error code if either refuses. */
async function update(root: string, fs?: FileSystem): Promise<UpdateErrorCode | 'ok'> {
  const updater = new Updater(feed.options(root, { fs, retry: { baseDelayMs: 5, maxDelayMs: 20 } }));
  try {
    await updater.downloadUpdate();
    await updater.installUpdate();
    return 'ok';
  } catch (err) {
    return (err as { code: UpdateErrorCode }).code;
  }
}

/** A patch that writes past the new file's end (CVE-2014-9862's kind), for v2's first patch. */
function hostilePatch(): Buffer {
  const entry = v2.patches[0];
  const to = v2.files.find((f: { sha256: string }) => f.sha256 === entry.to);
  const control: number[] = [];
  pushVarint(control, 0);
  pushVarint(control, to.size + 4096); // insert more new bytes than the file has
  pushVarint(control, zigzag(0));
  const streams = [Buffer.from(control), Buffer.alloc(0), Buffer.alloc(to.size + 4096, 0x41)];
  const compressed = streams.map((s) => brotliCompressSync(s));
  return Buffer.concat([writeHeader(OLD_SIZE.value, to.size, streams.map((s, i) => [{ raw: s.length, compressed: compressed[i]!.length }])), ...compressed]);
}
const OLD_SIZE = { value: 0 };

const cases: Case[] = [
  ...[
    ['a file at ../../../canary (the canary next to the root)', '../../../canary'],
    ['a file at ../../../../canary (the canary above)', '../../../../canary'],
    ['a file at bin/../../../../canary', 'bin/../../../../canary'],
    ['a file with backslashes ..\\..\\..\\canary', '..\\..\\..\\canary'],
    ['a file at the absolute path of the canary', '<abs>'],
    ['a file at C:\\canary', 'C:\\canary'],
  ].map(
    ([name, path]): Case => ({
      name: `UNSAFE_PATH manifest: ${name}`,
      arrange: async (_root, install) => {
        await offer(fileAt(path === '<abs>' ? join(install, 'canary') : path!));
      },
      act: (root) => update(root),
      expect: 'UNSAFE_PATH',
    }),
  ),
  {
    name: 'UNSAFE_PATH manifest: the entry points outside the slot',
    arrange: async () => {
      await offer((s) => {
        s.entry = '../../../canary';
      });
    },
    act: (root) => update(root),
    expect: 'UNSAFE_PATH',
  },
  {
    name: 'staging swapped (between runs) for a symlink to the directory holding the canary, job and all',
    arrange: async (root, install) => {
      await offer();
      const controller = new AbortController();
      let writes = 0;
      const fs = hookedFileSystem((op, path) => {
        if (op === 'write' && path.includes(join('staging', 'files')) && ++writes === 2) controller.abort();
      });
      const updater = new Updater(feed.options(root, { fs, connections: 1 }));
      await updater.checkForUpdates();
      await expectRejectCode(updater.downloadUpdate({ signal: controller.signal }), 'ABORTED');
      // The lookalike: staging's job and partial files beside the canary.
      await cp(join(root, 'staging'), install, { recursive: true });
      await rm(join(root, 'staging'), { recursive: true });
      await symlink(install, join(root, 'staging'));
    },
    act: (root) => update(root),
    expect: 'UNSAFE_PATH',
  },
  {
    name: 'staging swapped mid-download for a symlink to the directory holding the canary',
    arrange: async (_root, install) => {
      await offer();
      await mkdir(join(install, 'files'));
    },
    act: (root, install) => {
      let swapped = false;
      return update(
        root,
        hookedFileSystem(async (op, path) => {
          if (!swapped && op === 'write' && path.includes(join('staging', 'files'))) {
            swapped = true;
            await rename(join(root, 'staging'), join(root, 'moved-staging'));
            await symlink(install, join(root, 'staging'));
          }
        }),
      );
    },
    expect: 'UNSAFE_PATH',
  },
  {
    name: 'a staged slot file hardlinked to the canary before the switch',
    arrange: async (root, install) => {
      await offer();
      await new Updater(feed.options(root)).downloadUpdate();
      await rm(join(root, 'slots', 'b', 'VERSION'));
      await link(join(install, 'canary'), join(root, 'slots', 'b', 'VERSION'));
    },
    act: async (root) => {
      const updater = new Updater(feed.options(root));
      await updater.checkForUpdates();
      return updater.installUpdate().then(
        () => 'ok' as const,
        (err: { code: UpdateErrorCode }) => err.code,
      );
    },
    expect: 'UNSAFE_PATH',
  },
  {
    name: 'a validly pinned patch that writes past the new file: PATCH_FAILED, then the file is fetched whole',
    arrange: async () => {
      const blob = await putBlob(feed, hostilePatch(), 64 * 1024);
      await offer((s) => {
        s.patches[0] = { ...s.patches[0], blob: blob.sha256, size: blob.size, chunkSize: blob.chunkSize, chunks: blob.chunks };
      });
    },
    act: async (root) => {
      const updater = new Updater(feed.options(root));
      const failed: PatchFailedInfo[] = [];
      updater.on('patch-failed', (f) => failed.push(f));
      await updater.downloadUpdate();
      expect(failed.map((f) => f.code)).toEqual(['PATCH_FAILED']);
      await updater.installUpdate();
      return 'ok';
    },
    expect: 'ok',
  },
];

describe('the canaries outside the root stay untouched in every hostile case', () => {
  it('iterates over every case', async () => {
    const old = (await readSigned(join(feed.feed, 'releases', '1.0.0', 'linux-x64.json'))).files.find(
      (f: { sha256: string }) => f.sha256 === v2.patches[0].from,
    );
    OLD_SIZE.value = old.size;
    for (const [n, c] of cases.entries()) {
      const caseDir = join(feed.dir, `case-${n}`);
      const install = join(caseDir, 'install');
      const root = await feed.install(join(`case-${n}`, 'install', 'root'), 'base');
      await writeFile(join(caseDir, 'canary'), `canary above ${n}\n`);
      await writeFile(join(install, 'canary'), `canary beside ${n}\n`);
      await c.arrange(root, install);
      const before = await outside(caseDir);
      const active = await snapshotTree(join(root, 'slots', 'a'));

      expect(await c.act(root, install), c.name).toBe(c.expect);

      expect(await outside(caseDir), c.name).toEqual(before);
      const status = await new Updater(feed.options(root)).status();
      if (c.expect === 'ok') {
        expect(status.activeVersion, c.name).toMatch(/^2\.1\./);
      } else {
        expect(await snapshotTree(join(root, 'slots', 'a')), c.name).toEqual(active);
        expect(status, c.name).toMatchObject({ active: 'a', activeVersion: '1.0.0', trial: false });
      }
    }
  });
});

/** Everything under `caseDir` except the root (and what the attacker moved there), with content hashes and mtimes. */
async function outside(caseDir: string): Promise<Record<string, string>> {
  const tree = await snapshotTree(caseDir);
  const out: Record<string, string> = {};
  for (const [path, kind] of Object.entries(tree)) {
    if (path.startsWith(join('install', 'root'))) continue;
    const st = await lstat(join(caseDir, path));
    out[path] = kind === 'dir' ? kind : `${kind} ${st.mtimeMs} ${createHash('sha256').update(kind === 'symlink' ? '' : await readFile(join(caseDir, path))).digest('hex').slice(0, 8)}`;
  }
  // The canaries themselves, named explicitly so the test cannot pass by losing them.
  expect(Object.keys(out)).toEqual(expect.arrayContaining(['canary', join('install', 'canary')]));
  return out;
}
