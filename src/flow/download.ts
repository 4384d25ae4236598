/**
 * Steps 2-4 of the flow (DESIGN.md §4): plan, download, stage. The inactive slot is
 * marked `invalid` in the journal before its first byte changes, filled from verified
 * keeps, copies and pack chunks, and marked `staged` only once every file is in place,
 * verified and fsynced and the slot's manifest is stored beside it.
 *
 * @module
 */
import { join } from 'node:path';
import { UpdateError, fromFsError } from '../errors.js';
import type { PlanSummary } from '../events.js';
import { isErrno } from '../io/file-system.js';
import { type PlanKind, type UpdatePlan, inventoryOf, planUpdate } from '../plan/plan.js';
import { readIfExists, writeFileAtomic } from '../slots/atomic-file.js';
import { hashFile } from '../slots/hash-file.js';
import { saveJournal } from '../slots/journal-store.js';
import { StagingArea } from '../slots/staging.js';
import type { Journal, SlotName } from '../slots/state-file.js';
import { firstInstall, markInvalid, markStaged } from '../slots/transitions.js';
import { downloadChunks } from '../transfer/chunk-download.js';
import { checkAborted } from '../transfer/http.js';
import { ProgressMeter } from '../transfer/progress.js';
import { blobUrl, type FlowContext } from './context.js';
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

/** Stages `target` into the inactive slot of an installed root (`journal` non-null) or slot a of a new one. */
export async function stageRelease(
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
  const inactiveStatus = journal?.slots[slot].status;
  const inactive =
    !options.fullUpdate && (inactiveStatus === 'good' || inactiveStatus === 'bad' || inactiveStatus === 'staged') ? await loadSlotRelease(ctx, slot) : null;

  // From here on the inactive slot may change: say so durably first.
  let current = journal;
  if (current && current.slots[slot].status !== 'invalid') {
    current = markInvalid(current, slot);
    await saveJournal(ctx.fs, ctx.layout, current);
  }
  await ensureDir(ctx, ctx.layout.slotsDir);
  await ensureDir(ctx, slotDir);

  let plan = planUpdate({
    target: manifest,
    inactiveFiles: new Map((inactive?.manifest.files ?? []).map((f) => [f.path, f.sha256])),
    active: inventoryOf(active?.manifest.files ?? []),
  });

  // Work left by another release is of no use: start staging afresh.
  await resetStagingFor(ctx, target.sha256);
  const staging = new StagingArea(ctx.fs, ctx.layout.staging, manifest.files);
  const indexOf = new Map(manifest.files.map((f, i) => [f.path, i]));

  // Keeps and copies are checked by hash; any that fails is fetched instead.
  const failed = new Set<string>();
  for (const op of plan.ops) {
    checkAborted(options.signal);
    if (op.kind === 'keep') {
      const ok = await isIntact(ctx, join(slotDir, op.file.path), op.file.size, op.file.sha256);
      if (!ok) failed.add(op.file.path);
    }
  }
  await ensureDir(ctx, join(ctx.layout.staging, 'files'));
  for (const op of plan.ops) {
    checkAborted(options.signal);
    if (op.kind === 'copy' && journal) {
      const source = join(ctx.layout.slotDir(journal.active), op.source);
      if (!(await staging.copyFrom(indexOf.get(op.file.path)!, op.file, source))) failed.add(op.file.path);
    }
  }
  if (failed.size > 0) {
    plan = planUpdate({
      target: manifest,
      inactiveFiles: new Map(plan.ops.filter((o) => o.kind === 'keep' && !failed.has(o.file.path)).map((o) => [o.file.path, o.file.sha256])),
      active: new Map(plan.ops.flatMap((o) => (o.kind === 'copy' && !failed.has(o.file.path) ? [[o.file.sha256, o.source] as const] : []))),
    });
  }
  ctx.emit('plan', summarize(manifest.version, plan));

  staging.expectFromPack(plan.ops.flatMap((op) => (op.kind === 'fetch' ? [indexOf.get(op.file.path)!] : [])));
  try {
    await staging.prepare();
    const meter = new ProgressMeter(ctx.clock, plan.downloadBytes, (p) => ctx.emit('download-progress', p));
    if (plan.chunks.length > 0) {
      await downloadChunks(
        ctx.http,
        { url: blobUrl(ctx, manifest.pack.sha256), pack: manifest.pack, chunks: plan.chunks },
        (_index, offset, bytes) => staging.writePackBytes(offset, bytes),
        { signal: options.signal, onBytes: (n) => meter.add(n) },
      );
    }
    meter.finish();
    const keep = new Set(plan.ops.flatMap((op) => (op.kind === 'keep' ? [op.file.path] : [])));
    await staging.moveInto(slotDir, manifest.files, keep);
  } finally {
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

function summarize(version: string, plan: UpdatePlan): PlanSummary {
  const files: Record<PlanKind, number> = { keep: 0, copy: 0, fetch: 0 };
  for (const op of plan.ops) files[op.kind]++;
  return { version, bytes: plan.bytes, files, downloadBytes: plan.downloadBytes };
}

async function isIntact(ctx: FlowContext, path: string, size: number, sha256: string): Promise<boolean> {
  try {
    const stat = await ctx.fs.lstat(path);
    if (!stat.isFile() || stat.size !== size) return false;
    const digest = await hashFile(ctx.fs, path, size);
    return digest.sha256 === sha256;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    if (err instanceof UpdateError && err.code === 'IO') return false;
    throw err;
  }
}

/** Staging belongs to one release (by manifest hash); anything else there is discarded. */
async function resetStagingFor(ctx: FlowContext, releaseSha256: string): Promise<void> {
  const jobPath = join(ctx.layout.staging, 'job.json');
  const job = await readIfExists(ctx.fs, jobPath).catch(() => null);
  let same = false;
  try {
    same = job !== null && (JSON.parse(job.toString('utf8')) as { release?: string }).release === releaseSha256;
  } catch {
    same = false;
  }
  if (!same) {
    await ctx.fs.rmTree(ctx.layout.staging);
    await ensureDir(ctx, ctx.layout.staging);
    await writeFileAtomic(ctx.fs, jobPath, JSON.stringify({ version: 1, release: releaseSha256 }) + '\n');
  }
}

async function ensureDir(ctx: FlowContext, path: string): Promise<void> {
  try {
    await ctx.fs.mkdir(path);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw fromFsError(err, `creating ${path}`);
    const stat = await ctx.fs.lstat(path);
    if (!stat.isDirectory()) throw new UpdateError('UNSAFE_PATH', `${path} exists and is not a directory`, { details: { path } });
  }
}
