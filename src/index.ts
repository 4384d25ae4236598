/**
 * twinslot: self-updates that never brick. Signed manifests, verified downloads,
 * A/B slots, health probes, automatic revert.
 *
 * The publisher side lives in `twinslot/publisher`.
 *
 * @module
 */
export { Updater, type AutoUpdateOptions, type CheckResult, type ConfirmResult, type InstallResult, type UpdaterStatus } from './updater.js';
export type { UpdaterOptions } from './options.js';
export type { RetryPolicy } from './transfer/retry.js';
export type { Phase, PhaseEvent } from './lifecycle.js';
export type { LogFields, Logger } from './observe/logger.js';
export type { AttemptKind, AttemptOutcome, ReportHook, UpdateReport } from './observe/report.js';
export {
  DIAGNOSTICS_CHANNELS,
  type DiagnosticsMessages,
  type PatchFallbackMessage,
  type PhaseMessage,
  type RetryMessage,
  type RevertMessage,
  type StepEndMessage,
  type StepStartMessage,
} from './observe/channels.js';
export type {
  CommittedInfo,
  DownloadProgress,
  InstalledInfo,
  NotAvailableInfo,
  PatchFailedInfo,
  PlanSummary,
  RollbackReason,
  RolledBackInfo,
  UpdateInfo,
  UpdaterEventName,
  UpdaterEvents,
} from './events.js';
export { ERROR_CODES, UpdateError, type UpdateErrorCode, type UpdateErrorOptions, isUpdateError } from './errors.js';
export type { CommandProbe, FunctionProbe, HttpProbe, Probe, ProbeContext, ProbePhase, ProbeResult, Spawner } from './health/probes.js';
export type { NotAvailableReason } from './policy/eligibility.js';
export type { PlanKind } from './plan/plan.js';
export type { SlotName, SlotStatus } from './slots/state-file.js';
export type { Clock, RandomSource } from './io/clock.js';
export type { DirEntryLike, FileLike, FileSystem, StatLike } from './io/file-system.js';
