/**
 * The patch part of staging: download the plan's patch blobs into
 * `<root>/staging/patches/` (chunked, verified as they land, resumable like the pack),
 * then rebuild each patched file from the active slot into staging. A patch that fails
 * for any reason (a blob that does not verify, a corrupt patch, an output whose hash
 * is wrong, an unreadable source) is reported with a `patch-failed` event and its file
 * is fetched whole instead.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { applyPatch } from '../delta/apply.js';
import { UpdateError, fromFsError, isUpdateError } from '../errors.js';
import { OPEN, type FileLike, isErrno } from '../io/file-system.js';
import type { Pack, PatchEntry } from '../manifest/release.js';
import type { PlanOp } from '../plan/plan.js';
import { ChunkLog } from '../slots/chunk-log.js';
import { hashFile } from '../slots/hash-file.js';
import type { StagingArea } from '../slots/staging.js';
import { checkAborted } from '../transfer/http.js';
import { downloadPack } from '../transfer/pack-download.js';
import { chunkRange } from '../transfer/range-fetch.js';
import type { ProgressMeter } from '../transfer/progress.js';
import { type FlowContext, blobUrls } from './context.js';
import { type StagingJob, ensureDir, jobDownloadSettings, requireRealDir } from './staging-job.js';

type PatchOp = Extract<PlanOp, { kind: 'patch' }>;

export interface PatchFailure {
  readonly path: string;
  readonly code: string;
  readonly reason: string;
}

function patchesDir(ctx: FlowContext): string {
  return join(ctx.layout.staging, 'patches');
}

/**
 * Downloads every patch blob (each verified whole before it is used). Returns the
 * blobs that could not be had, with the error; the caller falls back for their files.
 * Aborts and lock loss still throw.
 */
export async function downloadPatches(
  ctx: FlowContext,
  job: StagingJob,
  patches: readonly PatchEntry[],
  meter: ProgressMeter,
  signal: AbortSignal | undefined,
  /** Throws UNSAFE_PATH when staging was swapped; called before each blob file is opened. */
  guard: () => Promise<void> = async () => undefined,
): Promise<Map<string, UpdateError>> {
  const failed = new Map<string, UpdateError>();
  if (patches.length === 0) return failed;
  await ensureDir(ctx, patchesDir(ctx));
  const connections = ctx.transfer.connections;
  // A large blob gets every connection; small ones share them, one connection each.
  const large = patches.filter((p) => p.chunks.length >= connections);
  const small = patches.filter((p) => p.chunks.length < connections);
  const one = async (patch: PatchEntry, perBlob: number): Promise<void> => {
    await guard();
    await requireRealDir(ctx, patchesDir(ctx));
    try {
      await fetchPatchBlob(ctx, job, patch, perBlob, meter, signal);
    } catch (err) {
      checkAborted(signal);
      if (!isUpdateError(err) || err.code === 'ABORTED' || err.code === 'LOCKED' || err.code === 'DISK_FULL' || err.code === 'UNSAFE_PATH') throw err;
      failed.set(patch.blob, err);
    }
  };
  for (const patch of large) await one(patch, connections);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(connections, small.length) }, async () => {
      while (next < small.length) await one(small[next++]!, 1);
    }),
  );
  return failed;
}

async function fetchPatchBlob(ctx: FlowContext, job: StagingJob, patch: PatchEntry, connections: number, meter: ProgressMeter, signal: AbortSignal | undefined): Promise<void> {
  const blob: Pack = { sha256: patch.blob, size: patch.size, chunkSize: patch.chunkSize, chunks: patch.chunks };
  const path = join(patchesDir(ctx), patch.blob);
  const logPath = `${path}.log`;
  let file: FileLike;
  try {
    file = await ctx.fs.open(path, OPEN.readWriteCreate, 0o600);
  } catch (err) {
    throw fromFsError(err, `opening ${path}`);
  }
  const log = await ChunkLog.open(ctx.fs, logPath).catch(async (err: unknown) => {
    await file.close();
    throw err;
  });
  try {
    // Chunks an earlier run logged are kept when their bytes still verify.
    const logged = await ChunkLog.read(ctx.fs, logPath);
    const all = patch.chunks.map((_, i) => i);
    const left: number[] = [];
    for (const index of all) {
      if (!logged.has(index) || !(await chunkIntact(file, blob, index))) left.push(index);
    }
    if (left.length > 0) {
      await downloadPack({
        ...jobDownloadSettings(ctx, job, meter),
        urls: blobUrls(ctx, patch.blob),
        pack: blob,
        chunks: left,
        restartChunks: all,
        connections,
        signal,
        deliver: async (index, offset, bytes) => {
          let done = 0;
          try {
            while (done < bytes.length) done += (await file.write(bytes, done, bytes.length - done, offset + done)).bytesWritten;
          } catch (err) {
            throw fromFsError(err, `writing ${path}`);
          }
          await log.record(index);
        },
        onRestart: async () => {
          await file.truncate(0);
          await ctx.fs.unlink(logPath).catch((err: unknown) => {
            if (!isErrno(err, 'ENOENT')) throw fromFsError(err, `removing ${logPath}`);
          });
        },
      });
    }
    await file.truncate(patch.size);
  } finally {
    await log.close();
    await file.close().catch(() => undefined);
  }
  // Every chunk verified as it landed; the whole blob is checked once more before use.
  const digest = await hashFile(ctx.fs, path, patch.size);
  if (digest.size !== patch.size || digest.sha256 !== patch.blob) {
    await ctx.fs.unlink(path).catch(() => undefined);
    throw new UpdateError('CHECKSUM_MISMATCH', `patch blob ${patch.blob} does not match its SHA-256`, { details: { expected: patch.blob, actual: digest.sha256 } });
  }
}

async function chunkIntact(file: FileLike, blob: Pack, index: number): Promise<boolean> {
  const [start, end] = chunkRange(blob, index);
  const bytes = Buffer.allocUnsafe(end - start);
  let got = 0;
  while (got < bytes.length) {
    const { bytesRead } = await file.read(bytes, got, bytes.length - got, start + got);
    if (bytesRead === 0) return false;
    got += bytesRead;
  }
  return createHash('sha256').update(bytes).digest('hex') === blob.chunks[index];
}

/**
 * Rebuilds every patched file into staging. Returns the files that failed (their
 * patch could not be downloaded or applied); the rest are staged and verified.
 */
export async function applyPatches(
  ctx: FlowContext,
  ops: readonly PatchOp[],
  activeDir: string,
  staging: StagingArea,
  indexOf: ReadonlyMap<string, number>,
  unavailable: ReadonlyMap<string, UpdateError>,
  signal: AbortSignal | undefined,
): Promise<PatchFailure[]> {
  const failures: PatchFailure[] = [];
  for (const op of ops) {
    checkAborted(signal);
    const missing = unavailable.get(op.patch.blob);
    if (missing) {
      failures.push({ path: op.file.path, code: missing.code, reason: `the patch could not be downloaded: ${missing.message}` });
      continue;
    }
    const index = indexOf.get(op.file.path)!;
    await staging.guard();
    try {
      await applyOne(ctx, op, join(activeDir, op.source), join(patchesDir(ctx), op.patch.blob), staging.tempPath(index), signal);
      staging.adoptFile(index, op.file);
    } catch (err) {
      checkAborted(signal);
      if (!isUpdateError(err) || err.code === 'DISK_FULL' || err.code === 'UNSAFE_PATH') throw err;
      failures.push({ path: op.file.path, code: err.code, reason: err.message });
    }
  }
  return failures;
}

async function applyOne(ctx: FlowContext, op: PatchOp, oldPath: string, patchPath: string, outPath: string, signal: AbortSignal | undefined): Promise<void> {
  const handles: FileLike[] = [];
  const openFile = async (path: string, flags: number, mode?: number): Promise<FileLike> => {
    try {
      const handle = await ctx.fs.open(path, flags, mode);
      handles.push(handle);
      return handle;
    } catch (err) {
      throw fromFsError(err, `opening ${path}`);
    }
  };
  try {
    const old = await openFile(oldPath, OPEN.read);
    // The source must be what the active slot's manifest says; the patch's own header is checked against this size too.
    const stat = await old.stat();
    if (!stat.isFile() || stat.size !== op.sourceSize) throw new UpdateError('PATCH_FAILED', `${op.source} in the active slot is not the ${op.sourceSize}-byte file the patch starts from`);
    const patch = await openFile(patchPath, OPEN.read);
    // A fresh output file: a link planted at its path is unlinked, never written through.
    await ctx.fs.unlink(outPath).catch((err: unknown) => {
      if (!isErrno(err, 'ENOENT')) throw fromFsError(err, `removing ${outPath}`);
    });
    const out = await openFile(outPath, OPEN.createNew, 0o600);
    await applyPatch({ old, patch, patchSize: op.patch.size, out, signal }, { oldSize: op.sourceSize, newSize: op.file.size, sha256: op.file.sha256 });
    try {
      await out.chmod(op.file.mode);
      await out.sync();
    } catch (err) {
      throw fromFsError(err, `finishing ${outPath}`);
    }
  } finally {
    for (const h of handles) await h.close().catch(() => undefined);
  }
}
