/**
 * twinslot's events in electron-updater's shapes. Names already match (src/events.ts
 * chose them); this adds the payload fields electron-updater UI code reads
 * (`delta` in progress) and drops the one whose meaning differs (`files`: a count
 * here, a list of file entries in electron-updater). Events electron-updater does not
 * have pass through with twinslot's names and payloads.
 *
 * @module
 */
import type { UpdateError } from '../errors.js';
import type { ConfirmResult } from '../flow/switch.js';
import type {
  CommittedInfo,
  DownloadProgress,
  InstalledInfo,
  NotAvailableInfo,
  PatchFailedInfo,
  PlanSummary,
  RolledBackInfo,
  UpdateInfo,
} from '../events.js';
import type { ProbeResult } from '../health/probes.js';

/**
 * electron-updater's `UpdateInfo` where twinslot has the data (`version`,
 * `releaseDate`; twinslot releases carry no notes or names), plus twinslot's own
 * fields. electron-updater's `files` (a list) has no counterpart: the file count is
 * `fileCount`.
 */
export interface ElectronUpdateInfo extends Omit<UpdateInfo, 'files'> {
  /** Number of files in the release (twinslot's `UpdateInfo.files`). */
  readonly fileCount: number;
}

/** electron-updater's `ProgressInfo`: `total`, `delta`, `transferred`, `percent`, `bytesPerSecond`. */
export interface ElectronProgressInfo extends DownloadProgress {
  /** Bytes received since the previous `download-progress` event. */
  readonly delta: number;
}

/** Event name -> listener arguments of {@link ElectronUpdater}. */
export interface ElectronUpdaterEvents {
  /** A check started. */
  'checking-for-update': [];
  /** The channel offers a release this install may take. */
  'update-available': [info: ElectronUpdateInfo];
  /** Nothing to take; `reason` says why (`up-to-date`, `halted`, `rollout`, ...). */
  'update-not-available': [info: NotAvailableInfo];
  /** Bytes of the download so far. */
  'download-progress': [progress: ElectronProgressInfo];
  /** The release is verified and staged in the inactive slot. */
  'update-downloaded': [info: ElectronUpdateInfo];
  /** `quitAndInstall()` installed the update and is about to relaunch and quit. */
  'before-quit-for-update': [];
  /** Emitted only while someone listens; the rejected promise carries it as well. */
  error: [error: UpdateError, message: string];
  /** twinslot's own: how each file will be obtained. */
  plan: [plan: PlanSummary];
  /** twinslot's own: a patch failed, its file is fetched whole. */
  'patch-failed': [info: PatchFailedInfo];
  /** twinslot's own: the install started (before `confirmInstall`). */
  installing: [info: UpdateInfo];
  /** twinslot's own: one probe finished. */
  'health-check': [result: ProbeResult];
  /** twinslot's own: switched to the new slot on trial; restart to run it. */
  installed: [info: InstalledInfo];
  /** twinslot's own: the trial passed its probes and is kept. */
  committed: [info: CommittedInfo];
  /** twinslot's own: went back to the previous slot. */
  'rolled-back': [info: RolledBackInfo];
  /** `start()` confirmed (or reverted) this start. */
  startup: [result: ConfirmResult];
}

/** twinslot's `UpdateInfo` in electron-updater's shape. */
export function toElectronInfo(info: UpdateInfo): ElectronUpdateInfo {
  const { files, ...rest } = info;
  return { ...rest, fileCount: files };
}

/** Adds `delta` to each progress event; a new download (or a restart of one) starts from 0. */
export function progressTracker(): { next(p: DownloadProgress): ElectronProgressInfo; reset(): void } {
  let last = 0;
  return {
    next(p) {
      if (p.transferred < last) last = 0;
      const delta = p.transferred - last;
      last = p.transferred;
      return { ...p, delta };
    },
    reset() {
      last = 0;
    },
  };
}
