/**
 * `twinslot release --deltas-from N`: patches from the files of the last N releases
 * (same app and platform) to the changed files of the new one.
 *
 * Each patch is made by bsdiff (native, on libuv's thread pool, so files are diffed on
 * all cores at once), re-encoded into twinslot's container, and then applied by the
 * client's own applier before it is published: a patch that does not rebuild the new
 * file exactly is never offered. A patch larger than half the compressed file saves
 * too little to be worth the risk of a fallback and is dropped.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib } from 'node:zlib';
import semver from 'semver';
import { applyPatch } from '../delta/apply.js';
import { bsdiffControls } from '../delta/bsdiff.js';
import { encodePatch } from '../delta/encode.js';
import { MemoryFile } from '../delta/memory-file.js';
import { UpdateError } from '../errors.js';
import { DOCUMENT_LIMITS, type TrustedKeys, openEnvelope } from '../manifest/envelope.js';
import { type PatchEntry, type ReleaseFile, type ReleaseManifest, parseReleaseManifest } from '../manifest/release.js';
import { writeFileReplacing } from './channel-doc.js';

const compress = promisify(brotliCompress);

/** Patches at most this share of the compressed new file are kept. */
export const MAX_PATCH_SHARE = 0.5;

export interface DeltaOptions {
  readonly feedDir: string;
  readonly app: string;
  readonly platform: string;
  /** The version being published: only older releases are patch sources. */
  readonly version: string;
  /** Files of the new release, and where each one is in the build folder. */
  readonly files: readonly ReleaseFile[];
  readonly sources: ReadonlyMap<string, string>;
  /** How many earlier releases to patch from. */
  readonly from: number;
  readonly chunkSize: number;
  /** Keys that must have signed an earlier release for it to be used. */
  readonly trust: TrustedKeys;
  /** Files diffed at once (default: the number of cores). */
  readonly concurrency?: number | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  readonly onNote?: ((line: string) => void) | undefined;
}

/** What making patches for a release produced. */
export interface DeltaReport {
  /** The patches the release manifest lists. */
  readonly patches: PatchEntry[];
  /** Earlier releases patched from, newest first. */
  readonly fromVersions: string[];
  /** (old file, new file) pairs diffed. */
  readonly diffed: number;
  /** Patches dropped as too large. */
  readonly dropped: number;
}

interface DeltaJob {
  readonly oldFile: ReleaseFile;
  readonly oldPack: string;
  readonly newFile: ReleaseFile;
  readonly source: string;
}

export async function makeDeltas(o: DeltaOptions): Promise<DeltaReport> {
  const previous = await previousReleases(o);
  const jobs = new Map<string, DeltaJob>();
  for (const release of previous) {
    const byPath = new Map(release.files.map((f) => [f.path, f]));
    for (const newFile of o.files) {
      const oldFile = byPath.get(newFile.path);
      if (!oldFile || oldFile.size === 0 || newFile.size === 0 || oldFile.sha256 === newFile.sha256) continue;
      const key = `${oldFile.sha256}>${newFile.sha256}`;
      if (!jobs.has(key)) jobs.set(key, { oldFile, oldPack: release.pack.sha256, newFile, source: o.sources.get(newFile.path)! });
    }
  }
  const list = [...jobs.values()].sort((a, b) => b.newFile.size - a.newFile.size); // big ones first: they set the finish time
  const total = list.reduce((sum, j) => sum + j.newFile.size, 0);
  let done = 0;
  let dropped = 0;
  const patches: PatchEntry[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'twinslot-deltas-'));
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length) {
        const index = next++;
        const job = list[index]!;
        const patch = await makePatch(o, job, scratch, `p${index}`);
        if (patch) patches.push(patch);
        else dropped++;
        done += job.newFile.size;
        o.onProgress?.(done, total);
      }
    };
    const concurrency = Math.max(1, Math.min(o.concurrency ?? availableParallelism(), list.length));
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  patches.sort((a, b) => (a.to === b.to ? a.from.localeCompare(b.from) : a.to.localeCompare(b.to)));
  return { patches, fromVersions: previous.map((r) => r.version), diffed: list.length, dropped };
}

/** The newest `o.from` releases of this app and platform older than `o.version`, verified with the publisher's keys. */
async function previousReleases(o: DeltaOptions): Promise<ReleaseManifest[]> {
  if (o.from <= 0) return [];
  const dir = join(o.feedDir, 'releases');
  const versions = (await readdir(dir).catch(() => [] as string[]))
    .filter((v) => semver.valid(v) === v && semver.lt(v, o.version))
    .sort(semver.rcompare);
  const out: ReleaseManifest[] = [];
  for (const version of versions) {
    if (out.length >= o.from) break;
    const bytes = await readFile(join(dir, version, `${o.platform}.json`)).catch(() => null);
    if (!bytes) continue;
    try {
      const manifest = parseReleaseManifest(openEnvelope(bytes, o.trust, `release ${version}`, DOCUMENT_LIMITS.release).signed);
      if (manifest.app !== o.app || manifest.platform !== o.platform || manifest.version !== version) throw new UpdateError('INVALID_MANIFEST', 'names another app, platform or version');
      out.push(manifest);
    } catch (err) {
      o.onNote?.(`skipping ${version} as a patch source: ${(err as Error).message}`);
    }
  }
  return out;
}

async function makePatch(o: DeltaOptions, job: DeltaJob, scratch: string, name: string): Promise<PatchEntry | null> {
  const { oldFile, newFile } = job;
  // The old bytes come out of the published pack, checked against the manifest.
  const oldBytes = await readSlice(join(o.feedDir, 'blobs', 'sha256', job.oldPack), oldFile.offset, oldFile.size);
  if (!oldBytes || sha256(oldBytes) !== oldFile.sha256) {
    o.onNote?.(`no patch for ${newFile.path}: the pack of an earlier release does not hold the file its manifest lists`);
    return null;
  }
  const oldPath = join(scratch, `${name}.old`);
  await writeFile(oldPath, oldBytes);
  try {
    const controls = await bsdiffControls(oldPath, job.source, scratch, name);
    const newBytes = await readFile(job.source);
    if (sha256(newBytes) !== newFile.sha256) throw new UpdateError('IO', `${job.source} changed while the release was being made`);
    const patch = await encodePatch(oldBytes, newBytes, controls);
    // Offer only what the client's applier turns into exactly the new file.
    const out = new MemoryFile();
    await applyPatch({ old: new MemoryFile(oldBytes), patch: new MemoryFile(patch), patchSize: patch.length, out }, { oldSize: oldBytes.length, newSize: newBytes.length, sha256: newFile.sha256 });
    const limit = MAX_PATCH_SHARE * (patch.length <= MAX_PATCH_SHARE * newBytes.length ? await compressedSize(newBytes) : newBytes.length);
    if (patch.length > limit) {
      o.onNote?.(`dropped the patch for ${newFile.path}: ${patch.length} bytes is over ${Math.round(MAX_PATCH_SHARE * 100)}% of the compressed file`);
      return null;
    }
    return await storePatch(o, oldFile.sha256, newFile.sha256, patch);
  } catch (err) {
    if (err instanceof UpdateError && err.code === 'INVALID_OPTIONS') throw err; // bsdiff-node missing: nothing else will work either
    o.onNote?.(`no patch for ${newFile.path}: ${(err as Error).message}`);
    return null;
  } finally {
    await rm(oldPath, { force: true });
  }
}

/** What the file costs compressed (brotli at a quick setting): the yardstick for "worth patching". */
async function compressedSize(bytes: Buffer): Promise<number> {
  const out = await compress(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_LGWIN]: 22, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length } });
  return out.length;
}

async function storePatch(o: DeltaOptions, from: string, to: string, patch: Buffer): Promise<PatchEntry> {
  const blob = sha256(patch);
  const chunks: string[] = [];
  for (let at = 0; at < patch.length; at += o.chunkSize) chunks.push(sha256(patch.subarray(at, at + o.chunkSize)));
  await writeFileReplacing(join(o.feedDir, 'blobs', 'sha256', blob), patch);
  return { from, to, blob, size: patch.length, chunkSize: o.chunkSize, chunks };
}

async function readSlice(path: string, offset: number, size: number): Promise<Buffer | null> {
  const file = await open(path, 'r').catch(() => null);
  if (!file) return null;
  try {
    const out = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await file.read(out, got, size - got, offset + got);
      if (bytesRead === 0) return null;
      got += bytesRead;
    }
    return out;
  } finally {
    await file.close();
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
