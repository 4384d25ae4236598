/**
 * Steps 5-6 of the flow (DESIGN.md §4): re-check and probe the staged slot, switch
 * the journal to it on trial; at the next start, probe and commit, or revert.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import type { CommittedInfo, RollbackReason, RolledBackInfo, UpdateInfo } from '../events.js';
import type { Probe, ProbePhase, ProbeResult } from '../health/probes.js';
import { runProbes } from '../health/run-probes.js';
import type { ReleaseManifest } from '../manifest/release.js';
import { requireJournal, saveJournal } from '../slots/journal-store.js';
import { type Journal, type SlotName, otherSlot } from '../slots/state-file.js';
import { MAX_SAVES, commitTrial, markInvalid, revertTrial, switchToStaged } from '../slots/transitions.js';
import { verifyTree } from '../slots/verify-tree.js';
import type { FlowContext } from './context.js';
import { loadSlotRelease } from './slot-release.js';

/** The release's own probes for `phase`, then those from code and config. */
export function probesFor(ctx: FlowContext, manifest: ReleaseManifest | null, phase: ProbePhase): Probe[] {
  const own: Probe[] = (manifest?.probes ?? [])
    .filter((p) => p.when === phase)
    .map((p) => ({ kind: 'command', command: p.command, timeoutMs: p.timeoutMs, name: `release probe: ${p.command.join(' ')}` }));
  return [...own, ...(phase === 'pre-switch' ? ctx.config.preSwitchProbes : ctx.config.probes)];
}

async function probe(ctx: FlowContext, phase: ProbePhase, slot: SlotName, manifest: ReleaseManifest | null, version: string) {
  return runProbes(probesFor(ctx, manifest, phase), {
    phase,
    slotDir: ctx.layout.slotDir(slot),
    version,
    deadlineMs: ctx.config.probeDeadlineMs,
    clock: ctx.clock,
    spawner: ctx.spawner,
    http: ctx.http,
    onResult: (r) => ctx.emit('health-check', r),
  });
}

/** The staged slot of `journal`, verified; throws `INVALID_STATE` when nothing is staged. */
export async function stagedRelease(ctx: FlowContext, journal: Journal, version?: string) {
  if (journal.trial) throw new UpdateError('INVALID_STATE', `slot ${journal.active} is on trial; confirm it first`);
  const slot = otherSlot(journal.active);
  const record = journal.slots[slot];
  if (record.status !== 'staged' || (version !== undefined && record.version !== version)) {
    throw new UpdateError('INVALID_STATE', `no update is staged${version ? ` for ${version}` : ''}; download it first`);
  }
  const release = await loadSlotRelease(ctx, slot);
  if (!release || release.manifest.version !== record.version) {
    throw new UpdateError('STATE_CORRUPT', `the manifest stored for slot ${slot} is missing or no longer verifies`);
  }
  return { slot, release };
}

/** Re-checks the staged tree, runs pre-switch probes, switches. Returns the new journal. */
export async function switchToUpdate(ctx: FlowContext, info: UpdateInfo | null): Promise<{ journal: Journal; slot: SlotName; manifest: ReleaseManifest }> {
  const journal = await requireJournal(ctx.fs, ctx.layout);
  const { slot, release } = await stagedRelease(ctx, journal, info?.version);
  const { manifest } = release;
  try {
    await verifyTree(ctx.fs, ctx.layout.slotDir(slot), manifest);
  } catch (err) {
    // The slot no longer holds what was verified: say so, so the next download rebuilds
    // it (removing links, never following them) instead of offering it again.
    if (err instanceof UpdateError && (err.code === 'UNSAFE_PATH' || err.code === 'CHECKSUM_MISMATCH')) {
      await saveJournal(ctx.fs, ctx.layout, markInvalid(journal, slot));
    }
    throw err;
  }
  const run = await probe(ctx, 'pre-switch', slot, manifest, manifest.version);
  if (!run.ok) {
    const failed = run.results.at(-1);
    throw new UpdateError('HEALTH_CHECK_FAILED', `pre-switch probe failed: ${failed?.name}: ${failed?.error}`, {
      details: { results: run.results as unknown as Record<string, unknown>[] },
    });
  }
  const next = switchToStaged({ ...journal, maxAttempts: ctx.config.maxAttempts }, slot);
  await saveJournal(ctx.fs, ctx.layout, next);
  return { journal: next, slot, manifest };
}

/**
 * What `confirmStartup()` did: nothing to confirm (`no-trial`), committed the trial
 * after its probes passed, or reverted to the previous slot (restart the app).
 */
export type ConfirmResult =
  | {
      /** No trial was pending: the active slot is already committed. */
      readonly outcome: 'no-trial';
      /** The running version (null before the first install). */
      readonly version: string | null;
    }
  | {
      /** The trial passed its post-start probes and is now the good slot. */
      readonly outcome: 'committed';
      /** The committed version. */
      readonly version: string;
      /** Each post-start probe's result. */
      readonly results: readonly ProbeResult[];
    }
  | ({
      /** The trial failed; the previous slot is active again. */
      readonly outcome: 'rolled-back';
      /** Always true: restart the app so the previous version runs. */
      readonly restartRequired: true;
    } & RolledBackInfo);

/** At start: probe a pending trial and commit it, or revert to the previous slot. */
export async function confirmTrial(ctx: FlowContext): Promise<ConfirmResult> {
  const journal = await requireJournal(ctx.fs, ctx.layout);
  if (!journal.trial) return { outcome: 'no-trial', version: journal.slots[journal.active].version };
  const slot = journal.active;
  const version = journal.slots[slot].version!;
  if (journal.saves >= MAX_SAVES) return revert(ctx, journal, 'state-loop', []);
  if (journal.attempts > journal.maxAttempts) return revert(ctx, journal, 'max-attempts', []);
  const release = await loadSlotRelease(ctx, slot);
  const run = await probe(ctx, 'post-start', slot, release?.manifest ?? null, version);
  if (!run.ok) return revert(ctx, journal, 'health-check-failed', run.results);
  const next = commitTrial(journal);
  await saveJournal(ctx.fs, ctx.layout, next);
  const info: CommittedInfo = { version, slot, previousVersion: journal.previous ? journal.slots[journal.previous].version : null };
  ctx.emit('committed', info);
  return { outcome: 'committed', version, results: run.results };
}

/** Reverts to the previous slot and marks the release bad. */
export async function revert(
  ctx: FlowContext,
  journal: Journal,
  reason: RollbackReason,
  results: readonly ProbeResult[],
): Promise<{ readonly outcome: 'rolled-back'; readonly restartRequired: true } & RolledBackInfo> {
  const next = revertTrial(journal);
  await saveJournal(ctx.fs, ctx.layout, next);
  const info: RolledBackInfo = {
    reason,
    from: journal.active,
    to: next.active,
    fromVersion: journal.slots[journal.active].version,
    toVersion: next.slots[next.active].version,
    results,
  };
  ctx.emit('rolled-back', info);
  return { outcome: 'rolled-back', restartRequired: true, ...info };
}
