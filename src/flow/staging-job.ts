/**
 * What `<root>/staging` is working on: `job.json` names the release (by manifest
 * hash) and the slot, and remembers the ETags seen per blob URL for If-Range. Work
 * left for anything else is discarded, never mixed in.
 *
 * @module
 */
import { join } from 'node:path';
import { UpdateError, fromFsError } from '../errors.js';
import { isErrno } from '../io/file-system.js';
import { readIfExists, writeFileAtomic } from '../slots/atomic-file.js';
import { ChunkLog } from '../slots/chunk-log.js';
import { walkTree } from '../slots/verify-tree.js';
import type { SlotName } from '../slots/state-file.js';
import type { PackDownloadOptions } from '../transfer/pack-download.js';
import type { ProgressMeter } from '../transfer/progress.js';
import type { FlowContext } from './context.js';

export interface StagingJob {
  readonly release: string;
  readonly slot: SlotName;
  etags: Record<string, string>;
  /** Chunks an earlier run logged as written (candidates, re-verified before use). */
  readonly logged: ReadonlySet<number>;
}

export function chunkLogPath(ctx: FlowContext): string {
  return join(ctx.layout.staging, 'chunks.log');
}

/** Opens the job for `release` into `slot`, discarding staging that belongs to another. */
export async function openStagingJob(ctx: FlowContext, release: string, slot: SlotName): Promise<StagingJob> {
  await checkStagingTree(ctx);
  const path = join(ctx.layout.staging, 'job.json');
  const bytes = await readIfExists(ctx.fs, path).catch(() => null);
  let previous: Record<string, unknown> | null = null;
  try {
    previous = bytes ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : null;
  } catch {
    previous = null;
  }
  if (previous && previous.release === release && previous.slot === slot) {
    const etags = typeof previous.etags === 'object' && previous.etags !== null ? (previous.etags as Record<string, string>) : {};
    return { release, slot, etags: { ...etags }, logged: await ChunkLog.read(ctx.fs, chunkLogPath(ctx)) };
  }
  await ctx.fs.rmTree(ctx.layout.staging);
  await ensureDir(ctx, ctx.layout.staging);
  const job: StagingJob = { release, slot, etags: {}, logged: new Set() };
  await saveStagingJob(ctx, job);
  return job;
}

/** What every blob download of a staging job shares: transport, retry policy, the job's ETags, progress. */
export type JobDownloadSettings = Pick<
  PackDownloadOptions,
  'http' | 'clock' | 'random' | 'throttle' | 'retry' | 'etags' | 'minBytesPerSecond' | 'graceMs' | 'onEtag' | 'onBytes' | 'onRetry'
>;

/** Download settings from the context; a learnt ETag is saved in the job for If-Range after a restart. */
export function jobDownloadSettings(ctx: FlowContext, job: StagingJob, meter: ProgressMeter): JobDownloadSettings {
  return {
    http: ctx.http,
    clock: ctx.clock,
    random: ctx.random,
    throttle: ctx.transfer.throttle,
    retry: ctx.transfer.retry,
    etags: job.etags,
    minBytesPerSecond: ctx.transfer.minBytesPerSecond,
    graceMs: ctx.transfer.graceMs,
    onEtag: async (url, etag) => {
      job.etags[url] = etag;
      await saveStagingJob(ctx, job);
    },
    onBytes: (n) => {
      meter.add(n);
      ctx.observe.received(n);
    },
    onRetry: (notice) => ctx.observe.retry(notice),
  };
}

const saving = new WeakMap<StagingJob, Promise<void>>();

/** Saves the job; calls are queued, since connections learn ETags concurrently and share one temp file. */
export function saveStagingJob(ctx: FlowContext, job: StagingJob): Promise<void> {
  const write = async (): Promise<void> => {
    await requireRealDir(ctx, ctx.layout.staging);
    const text = JSON.stringify({ version: 1, release: job.release, slot: job.slot, etags: job.etags }) + '\n';
    await writeFileAtomic(ctx.fs, join(ctx.layout.staging, 'job.json'), text);
  };
  const next = (saving.get(job) ?? Promise.resolve()).then(write, write);
  saving.set(job, next);
  return next;
}

/** The blob changed on the server: forget every chunk and ETag of this job. */
export async function forgetProgress(ctx: FlowContext, job: StagingJob): Promise<void> {
  job.etags = {};
  await saveStagingJob(ctx, job);
  await ctx.fs.unlink(chunkLogPath(ctx)).catch((err: unknown) => {
    if (!isErrno(err, 'ENOENT')) throw fromFsError(err, 'removing the chunk log');
  });
}

/**
 * Staging left by an earlier run is resumed only if it is all twinslot's own: a real
 * directory of plain files, each with one link. A symlink there (the staging directory
 * itself or an entry) or a file hardlinked elsewhere would let the resumed writes land
 * outside the root. Such a staging is removed (links are unlinked, never followed) and
 * the attempt fails with `UNSAFE_PATH`; the next one starts clean.
 */
async function checkStagingTree(ctx: FlowContext): Promise<void> {
  const dir = ctx.layout.staging;
  let problem: string | null = null;
  try {
    const stat = await ctx.fs.lstat(dir);
    if (!stat.isDirectory()) problem = `${dir} is not a directory (a symlink?)`;
    else {
      const tree = await walkTree(ctx.fs, dir);
      if (tree.others.length > 0) problem = `${join(dir, tree.others[0]!)} is a symlink or special file`;
      for (const file of tree.files) {
        if (problem) break;
        if ((await ctx.fs.lstat(join(dir, file))).nlink !== 1) problem = `${join(dir, file)} is hardlinked elsewhere`;
      }
    }
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw fromFsError(err, `checking ${dir}`);
  }
  if (problem === null) return;
  await ctx.fs.rmTree(dir);
  throw new UpdateError('UNSAFE_PATH', `staging from an earlier run was tampered with: ${problem}; it was removed`, { details: { path: dir } });
}

/** Throws `UNSAFE_PATH` unless `path` is a directory itself, not a symlink to one. */
export async function requireRealDir(ctx: FlowContext, path: string): Promise<void> {
  let stat;
  try {
    stat = await ctx.fs.lstat(path);
  } catch (err) {
    throw fromFsError(err, `checking ${path}`);
  }
  if (!stat.isDirectory()) throw new UpdateError('UNSAFE_PATH', `${path} is not a directory (a symlink?)`, { details: { path } });
}

export async function ensureDir(ctx: FlowContext, path: string): Promise<void> {
  try {
    await ctx.fs.mkdir(path);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw fromFsError(err, `creating ${path}`);
    const stat = await ctx.fs.lstat(path);
    if (!stat.isDirectory()) throw new UpdateError('UNSAFE_PATH', `${path} exists and is not a directory`, { details: { path } });
  }
}
