/**
 * Steps 2-4 of the flow (DESIGN.md §4): plan, download, stage. The inactive slot is
 * marked `invalid` in the journal before its first byte changes, filled from verified
 * keeps, copies and pack chunks, and marked `staged` only once every file is in place,
 * verified and fsynced and the slot's manifest is stored beside it.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { UpdateError, fromFsError } from '../errors.js';
import type { PlanSummary } from '../events.js';
import type { Pack, ReleaseManifest } from '../manifest/release.js';
import { isErrno } from '../io/file-system.js';
import { type PlanInput, type PlanKind, type UpdatePlan, inventoryOf, planUpdate } from '../plan/plan.js';
import { readIfExists, writeFileAtomic } from '../slots/atomic-file.js';
import { hashFile } from '../slots/hash-file.js';
import { saveJournal } from '../slots/journal-store.js';
import { ChunkLog } from '../slots/chunk-log.js';
import { StagingArea } from '../slots/staging.js';
import type { Journal, SlotName } from '../slots/state-file.js';
import { firstInstall, markInvalid, markStaged } from '../slots/transitions.js';
import { downloadPack } from '../transfer/pack-download.js';
import { chunkRange } from '../transfer/range-fetch.js';
import { checkAborted } from '../transfer/http.js';
import { ProgressMeter } from '../transfer/progress.js';
import { type FlowContext, blobUrls } from './context.js';
import { applyPatches, downloadPatches } from './patch-step.js';
import { chunkLogPath, ensureDir, forgetProgress, jobDownloadSettings, openStagingJob } from './staging-job.js';
import { type VerifiedRelease, loadSlotRelease } from './slot-release.js';

export interface DownloadOptions {
  readonly signal?: AbortSignal | undefined;
  /** Skip keeps and copies (the channel's minimumVersion rule). */
  readonly fullUpdate?: boolean;
}

export interface StageResult {
  readonly slot: SlotName;
  readonly journal: Journal;
  readonly plan: UpdatePlan | null;
}

/**
 * Stages `target` into the inactive slot of an installed root (`journal` non-null) or
 * slot a of a new one. When the disk fills up, staging is deleted (a resume needs the
 * space more than the bytes) and `DISK_FULL` is thrown; the active slot is untouched.
 */
export async function stageRelease(
  ctx: FlowContext,
  journal: Journal | null,
  slot: SlotName,
  target: VerifiedRelease,
  options: DownloadOptions = {},
): Promise<StageResult> {
  try {
    return await stageInto(ctx, journal, slot, target, options);
  } catch (err) {
    // UNSAFE_PATH: staging was tampered with (swapped for a symlink, a hardlink planted);
    // removing it unlinks whatever is there without following it, so the next run is clean.
    if (err instanceof UpdateError && (err.code === 'DISK_FULL' || err.code === 'UNSAFE_PATH')) await ctx.fs.rmTree(ctx.layout.staging).catch(() => undefined);
    throw err;
  }
}

async function stageInto(
  ctx: FlowContext,
  journal: Journal | null,
  slot: SlotName,
  target: VerifiedRelease,
  options: DownloadOptions = {},
): Promise<StageResult> {
  const { manifest } = target;
  const slotDir = ctx.layout.slotDir(slot);

  // Already staged from an earlier run: nothing to do.
  if (journal && journal.slots[slot].status === 'staged' && journal.slots[slot].version === manifest.version) {
    const stored = await readIfExists(ctx.fs, ctx.layout.slotManifest(slot));
    if (stored && stored.equals(target.bytes)) return { slot, journal, plan: null };
  }

  const active = journal && !options.fullUpdate ? await loadSlotRelease(ctx, journal.active) : null;
  const inactiveFiles = options.fullUpdate ? new Map<string, string>() : await inactiveCandidates(ctx, journal, slot, manifest);

  // From here on the inactive slot may change: say so durably first.
  let current = journal;
  if (current && current.slots[slot].status !== 'invalid') {
    current = markInvalid(current, slot);
    await saveJournal(ctx.fs, ctx.layout, current);
  }
  await ensureDir(ctx, ctx.layout.slotsDir);
  // The inactive slot is ours to rebuild: a symlink planted in its place is unlinked, not followed.
  const slotStat = await ctx.fs.lstat(slotDir).catch(() => null);
  if (slotStat && !slotStat.isDirectory()) {
    await ctx.fs.unlink(slotDir).catch((err: unknown) => {
      throw fromFsError(err, `removing ${slotDir}`);
    });
  }
  await ensureDir(ctx, slotDir);

  // Everything that failed so far is fetched instead; the plan is recomputed from the same inputs.
  const failed = new Set<string>();
  const planInput: PlanInput = {
    target: manifest,
    inactiveFiles,
    active: inventoryOf(active?.manifest.files ?? []),
    patchSources: new Map((active?.manifest.files ?? []).map((f) => [f.sha256, f])),
    forceFetch: failed,
  };
  let plan = planUpdate(planInput);
  const job = await openStagingJob(ctx, target.sha256, slot);
  const staging = new StagingArea(ctx.fs, ctx.layout.staging, manifest.files);
  const indexOf = new Map(manifest.files.map((f, i) => [f.path, i]));

  // Keeps and copies are checked by hash; any that fails is fetched instead.
  for (const op of plan.ops) {
    checkAborted(options.signal);
    if (op.kind === 'keep' && !(await isIntact(ctx, join(slotDir, op.file.path), op.file.size, op.file.sha256))) failed.add(op.file.path);
  }
  await ensureDir(ctx, join(ctx.layout.staging, 'files'));
  for (const op of plan.ops) {
    checkAborted(options.signal);
    if (op.kind === 'copy' && journal) {
      const source = join(ctx.layout.slotDir(journal.active), op.source);
      if (!(await staging.copyFrom(indexOf.get(op.file.path)!, op.file, source))) failed.add(op.file.path);
    }
  }
  if (failed.size > 0) plan = planUpdate(planInput);
  ctx.emit('plan', summarize(manifest.version, plan));

  // Patches: download, apply from the active slot; a failed one turns into a fetch.
  const patchOps = plan.ops.flatMap((op) => (op.kind === 'patch' ? [op] : []));
  if (patchOps.length > 0 && journal) {
    const patchMeter = new ProgressMeter(ctx.clock, plan.patches.reduce((sum, p) => sum + p.size, 0), (p) => ctx.emit('download-progress', p));
    await staging.guard();
    const unavailable = await downloadPatches(ctx, job, plan.patches, patchMeter, options.signal, () => staging.guard());
    patchMeter.finish();
    const failures = await applyPatches(ctx, patchOps, ctx.layout.slotDir(journal.active), staging, indexOf, unavailable, options.signal);
    for (const f of failures) {
      failed.add(f.path);
      ctx.emit('patch-failed', f);
    }
    if (failures.length > 0) {
      plan = planUpdate(planInput);
      ctx.emit('plan', summarize(manifest.version, plan));
    }
  }

  staging.expectFromPack(plan.ops.flatMap((op) => (op.kind === 'fetch' ? [indexOf.get(op.file.path)!] : [])));
  staging.setKeptFiles(new Map(plan.ops.flatMap((op) => (op.kind === 'keep' ? [[indexOf.get(op.file.path)!, join(slotDir, op.file.path)] as const] : []))));
  await staging.guard();
  const log = await ChunkLog.open(ctx.fs, chunkLogPath(ctx));
  try {
    await staging.prepare();
    const toFetch = await resumeChunks(ctx, staging, manifest.pack, plan.chunks, job.logged);
    await staging.finishPresent();
    const fetchBytes = toFetch.reduce((sum, i) => sum + chunkRange(manifest.pack, i)[1] - chunkRange(manifest.pack, i)[0], 0);
    const meter = new ProgressMeter(ctx.clock, fetchBytes, (p) => ctx.emit('download-progress', p));
    if (toFetch.length > 0) {
      await downloadPack({
        ...jobDownloadSettings(ctx, job, meter),
        urls: blobUrls(ctx, manifest.pack.sha256),
        pack: manifest.pack,
        chunks: toFetch,
        restartChunks: plan.chunks,
        connections: ctx.transfer.connections,
        signal: options.signal,
        deliver: async (index, offset, bytes) => {
          await staging.writePackBytes(offset, bytes);
          await log.record(index);
        },
        onRestart: async () => {
          await staging.restartPack();
          await forgetProgress(ctx, job);
        },
      });
    }
    meter.finish();
    const keep = new Set(plan.ops.flatMap((op) => (op.kind === 'keep' ? [op.file.path] : [])));
    await staging.moveInto(slotDir, manifest.files, keep);
  } finally {
    await log.close();
    await staging.dispose();
  }

  await writeFileAtomic(ctx.fs, ctx.layout.slotManifest(slot), target.bytes);
  const next = current
    ? markStaged(current, slot, manifest.version, manifest.entry)
    : firstInstall(slot, manifest.version, manifest.entry, ctx.config.maxAttempts);
  await saveJournal(ctx.fs, ctx.layout, next);
  await ctx.fs.rmTree(ctx.layout.staging).catch(() => undefined);
  return { slot, journal: next, plan };
}

/**
 * Chunks logged by an earlier run are re-read from staging and hashed; those that
 * match are kept, the rest are fetched. Returns the chunks left to fetch.
 */
async function resumeChunks(ctx: FlowContext, staging: StagingArea, pack: Pack, chunks: readonly number[], logged: ReadonlySet<number>): Promise<number[]> {
  const left: number[] = [];
  const buffer = Buffer.allocUnsafeSlow(pack.chunkSize);
  for (const index of chunks) {
    if (logged.has(index)) {
      const [start, end] = chunkRange(pack, index);
      const bytes = await staging.readPackRange(start, end - start, buffer);
      if (bytes && createHash('sha256').update(bytes).digest('hex') === pack.chunks[index]) {
        staging.notePresent(start, end - start);
        continue;
      }
    }
    left.push(index);
  }
  return left;
}

/**
 * Files the inactive slot may already hold, by path. From its manifest when the slot
 * is complete; when an earlier run was interrupted (slot `invalid`), every target
 * path present with the right size is a candidate. Either way each is hashed before
 * it is kept.
 */
async function inactiveCandidates(ctx: FlowContext, journal: Journal | null, slot: SlotName, target: ReleaseManifest): Promise<Map<string, string>> {
  const status = journal?.slots[slot].status ?? 'invalid';
  if (status === 'good' || status === 'bad' || status === 'staged') {
    const release = await loadSlotRelease(ctx, slot);
    return new Map((release?.manifest.files ?? []).map((f) => [f.path, f.sha256]));
  }
  const found = new Map<string, string>();
  for (const file of target.files) {
    const stat = await ctx.fs.lstat(join(ctx.layout.slotDir(slot), file.path)).catch(() => null);
    if (stat?.isFile() && stat.size === file.size) found.set(file.path, file.sha256);
  }
  return found;
}

function summarize(version: string, plan: UpdatePlan): PlanSummary {
  const files: Record<PlanKind, number> = { keep: 0, copy: 0, patch: 0, fetch: 0 };
  for (const op of plan.ops) files[op.kind]++;
  return { version, bytes: plan.bytes, files, downloadBytes: plan.downloadBytes };
}

async function isIntact(ctx: FlowContext, path: string, size: number, sha256: string): Promise<boolean> {
  try {
    const stat = await ctx.fs.lstat(path);
    // A file with a second link elsewhere is not kept: the slot re-check would refuse it.
    if (!stat.isFile() || stat.nlink !== 1 || stat.size !== size) return false;
    const digest = await hashFile(ctx.fs, path, size);
    return digest.sha256 === sha256;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    if (err instanceof UpdateError && err.code === 'IO') return false;
    throw err;
  }
}

