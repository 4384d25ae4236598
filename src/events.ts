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
  readonly version: string;
  readonly channel: string;
  readonly platform: string;
  /** The channel marks it critical: consent hooks are skipped. */
  readonly critical: boolean;
  /** Total bytes of the release's files. */
  readonly size: number;
  readonly files: number;
  /** When the release was published, RFC 3339. */
  readonly releaseDate: string;
  /** Version in the active slot before this update. */
  readonly currentVersion: string | null;
}

export interface NotAvailableInfo {
  readonly reason: NotAvailableReason;
  /** The version the channel offers, if any. */
  readonly version: string | null;
  readonly currentVersion: string | null;
}

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
  readonly version: string;
  readonly bytes: Readonly<Record<PlanKind, number>>;
  readonly files: Readonly<Record<PlanKind, number>>;
  readonly downloadBytes: number;
}

/** A patch could not be used; its file is fetched whole instead. */
export interface PatchFailedInfo {
  /** The file of the target release. */
  readonly path: string;
  /** The error's code: PATCH_FAILED, CHECKSUM_MISMATCH, HTTP, ... */
  readonly code: string;
  readonly reason: string;
}

export interface InstalledInfo extends UpdateInfo {
  readonly slot: SlotName;
  /** The app must restart (through the launcher) to run the new slot. */
  readonly restartRequired: true;
}

export interface CommittedInfo {
  readonly version: string;
  readonly slot: SlotName;
  /** The version the update came from (kept in the other slot), if any. */
  readonly previousVersion: string | null;
}

export type RollbackReason = 'health-check-failed' | 'max-attempts' | 'state-loop' | 'revoked' | 'manual';

export interface RolledBackInfo {
  readonly reason: RollbackReason;
  readonly from: SlotName;
  readonly to: SlotName;
  readonly fromVersion: string | null;
  readonly toVersion: string | null;
  /** Probe results that led to it, if any. */
  readonly results: readonly ProbeResult[];
}

/** Event name -> listener arguments. */
export interface UpdaterEvents {
  'checking-for-update': [];
  'update-available': [info: UpdateInfo];
  'update-not-available': [info: NotAvailableInfo];
  /** How each file will be obtained; emitted again when a failed patch changes the plan. */
  plan: [plan: PlanSummary];
  'patch-failed': [info: PatchFailedInfo];
  'download-progress': [progress: DownloadProgress];
  'update-downloaded': [info: UpdateInfo];
  installing: [info: UpdateInfo];
  'health-check': [result: ProbeResult];
  installed: [info: InstalledInfo];
  committed: [info: CommittedInfo];
  'rolled-back': [info: RolledBackInfo];
  /** Every rejected operation is also emitted here when someone listens. */
  error: [error: UpdateError];
}

export type UpdaterEventName = keyof UpdaterEvents;
