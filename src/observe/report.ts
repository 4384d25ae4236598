/**
 * The structured outcome of every update attempt, for fleet dashboards and
 * telemetry: what was tried, how it ended, which versions, how many bytes by which
 * route, how long. The app receives it through the `report` option (and it is the
 * message of the `twinslot:step:end` diagnostics channel).
 *
 * @module
 */
import type { UpdateErrorCode } from '../errors.js';
import type { RollbackReason } from '../events.js';
import type { PlanKind } from '../plan/plan.js';

/** Which Updater step an attempt was: the method that ran it. */
export type AttemptKind = 'check' | 'download' | 'install' | 'confirm' | 'rollback';

/**
 * How an attempt ended:
 * - `success`: the step did what it was asked (a check that found nothing is a success);
 * - `failure`: it rejected, see `errorCode`;
 * - `reverted`: the install went back to the previous slot (a failed trial, too many
 *   starts, a revoked release, a manual rollback), see `revertReason`; restart the app.
 */
export type AttemptOutcome = 'success' | 'failure' | 'reverted';

/**
 * One update attempt, as plain JSON-safe data (no URLs, paths or keys).
 *
 * @example
 * ```ts
 * new Updater({ installRoot, report: (r) => telemetry.send('update', r) });
 * // { attempt: 'download', outcome: 'success', fromVersion: '1.0.0', toVersion: '1.1.0',
 * //   bytesDownloaded: 182311, bytesByKind: { keep: 0, copy: 40960, patch: 917504, fetch: 4096 }, ... }
 * ```
 */
export interface UpdateReport {
  /** Which step this was. */
  readonly attempt: AttemptKind;
  /** How it ended. */
  readonly outcome: AttemptOutcome;
  /**
   * What the step found or did, when it says more than the outcome: for `check`
   * `available` or the not-available reason (`up-to-date`, `halted`, ...); for
   * `confirm` `committed`, `no-trial` or `rolled-back`; otherwise null.
   */
  readonly detail: string | null;
  /** The version running before the attempt (for a revert: the version reverted from). */
  readonly fromVersion: string | null;
  /** The version the attempt offered, staged, switched to, committed, or reverted to. */
  readonly toVersion: string | null;
  /** Blob bytes (pack chunks and patches) received over the network during the attempt. */
  readonly bytesDownloaded: number;
  /** Bytes of the target release by how they were obtained (the final plan), for a download; else null. */
  readonly bytesByKind: Readonly<Record<PlanKind, number>> | null;
  /** Files whose patch failed and were fetched whole instead. */
  readonly patchFallbacks: number;
  /** Download requests tried again (on the same or the next mirror). */
  readonly retries: number;
  /** When the attempt started, RFC 3339. */
  readonly startedAt: string;
  /** How long it took, ms. */
  readonly durationMs: number;
  /** The error's code when `outcome` is `failure`. */
  readonly errorCode: UpdateErrorCode | null;
  /** Why the install went back, when `outcome` is `reverted`. */
  readonly revertReason: RollbackReason | null;
  /** The app must restart through the launcher (after an install or a revert). */
  readonly restartRequired: boolean;
}

/** The `report` option: called once per attempt; may be async. What it throws or rejects is logged, never rethrown. */
export type ReportHook = (report: UpdateReport) => void | Promise<void>;
