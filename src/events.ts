/**
 * The events an {@link Updater} emits, typed. Names follow electron-updater where one
 * exists, so UI code written for it keeps working.
 *
 * @module
 */
import type { UpdateError } from './errors.js';
import type { ProbeResult } from './health/probes.js';
import type { NotAvailableReason } from './policy/eligibility.js';
import type { PlanKind } from './plan/plan.js';
import type { SlotName } from './slots/state-file.js';

/** A release on offer. */
export interface UpdateInfo {
  /** The offered version. */
  readonly version: string;
  /** The channel that offers it. */
  readonly channel: string;
  /** This install's platform, `<os>-<arch>`. */
  readonly platform: string;
  /** The channel marks it critical: consent hooks are skipped. */
  readonly critical: boolean;
  /** Total bytes of the release's files. */
  readonly size: number;
  /** Number of files in the release. */
  readonly files: number;
  /** When the release was published, RFC 3339. */
  readonly releaseDate: string;
  /** Version in the active slot before this update. */
  readonly currentVersion: string | null;
}

/** Why a check found nothing to install (the `update-not-available` event). */
export interface NotAvailableInfo {
  /** The reason, as a stable string. */
  readonly reason: NotAvailableReason;
  /** The version the channel offers, if any. */
  readonly version: string | null;
  /** The version in the active slot, null before the first install. */
  readonly currentVersion: string | null;
}

/** Download progress (the `download-progress` event), at most a few times a second. */
export interface DownloadProgress {
  /** Bytes to download in all. */
  readonly total: number;
  /** Bytes received so far (electron-updater's name). */
  readonly transferred: number;
  /** 0..100 */
  readonly percent: number;
  /** Smoothed rate. */
  readonly bytesPerSecond: number;
  /** Seconds left at the current rate, null when unknown. */
  readonly etaSeconds: number | null;
}

/** How the update will get each file, in bytes of the target tree. */
export interface PlanSummary {
  /** The version being staged. */
  readonly version: string;
  /** Bytes of the target tree per way of getting them (keep, copy, patch, fetch). */
  readonly bytes: Readonly<Record<PlanKind, number>>;
  /** Files per way of getting them. */
  readonly files: Readonly<Record<PlanKind, number>>;
  /** Bytes that will cross the network: patches plus fetched ranges. */
  readonly downloadBytes: number;
}

/** A patch could not be used; its file is fetched whole instead. */
export interface PatchFailedInfo {
  /** The file of the target release. */
  readonly path: string;
  /** The error's code: PATCH_FAILED, CHECKSUM_MISMATCH, HTTP, ... */
  readonly code: string;
  /** The error's message. */
  readonly reason: string;
}

/** A release switched to, on trial (the `installed` event). */
export interface InstalledInfo extends UpdateInfo {
  /** The slot that now holds it and is active. */
  readonly slot: SlotName;
  /** The app must restart (through the launcher) to run the new slot. */
  readonly restartRequired: true;
}

/** A trial that passed its post-start probes (the `committed` event). */
export interface CommittedInfo {
  /** The committed version. */
  readonly version: string;
  /** Its slot. */
  readonly slot: SlotName;
  /** The version the update came from (kept in the other slot), if any. */
  readonly previousVersion: string | null;
}

/**
 * Why a slot was reverted: `health-check-failed` (a post-start probe failed),
 * `max-attempts` (the trial crashed or hung through every allowed start),
 * `state-loop` (the state file was rewritten too often without progress), `revoked`
 * (the channel revoked the running version), `manual` (`rollback()` or `twinslot rollback`).
 */
export type RollbackReason = 'health-check-failed' | 'max-attempts' | 'state-loop' | 'revoked' | 'manual';

/** A revert to the previous slot (the `rolled-back` event). Restart the app after it. */
export interface RolledBackInfo {
  /** Why. */
  readonly reason: RollbackReason;
  /** The slot reverted from (now marked bad). */
  readonly from: SlotName;
  /** The slot now active. */
  readonly to: SlotName;
  /** The version reverted from; it is not offered again. */
  readonly fromVersion: string | null;
  /** The version now active. */
  readonly toVersion: string | null;
  /** Probe results that led to it, if any. */
  readonly results: readonly ProbeResult[];
}

/** Event name -> listener arguments. */
export interface UpdaterEvents {
  /** A check started. */
  'checking-for-update': [];
  /** A check found a release this install may take. */
  'update-available': [info: UpdateInfo];
  /** A check found nothing to take, and why. */
  'update-not-available': [info: NotAvailableInfo];
  /** How each file will be obtained; emitted again when a failed patch changes the plan. */
  plan: [plan: PlanSummary];
  /** A patch could not be used; that file is fetched whole instead. */
  'patch-failed': [info: PatchFailedInfo];
  /** Bytes arrived. */
  'download-progress': [progress: DownloadProgress];
  /** The release is staged and verified in the inactive slot; `installUpdate()` may switch to it. */
  'update-downloaded': [info: UpdateInfo];
  /** `installUpdate()` started: re-verifying the slot and running pre-switch probes. */
  installing: [info: UpdateInfo];
  /** One probe finished (pre-switch or post-start). */
  'health-check': [result: ProbeResult];
  /** Switched to the new slot on trial; restart the app to run it. */
  installed: [info: InstalledInfo];
  /** The trial passed its post-start probes and is now the good slot. */
  committed: [info: CommittedInfo];
  /** Reverted to the previous slot; restart the app. */
  'rolled-back': [info: RolledBackInfo];
  /** Every rejected operation is also emitted here when someone listens. */
  error: [error: UpdateError];
}

/** The name of an event {@link Updater} emits. */
export type UpdaterEventName = keyof UpdaterEvents;
