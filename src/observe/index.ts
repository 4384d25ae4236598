/**
 * observe/: what an app or an operator can see of an Updater at work: an injected
 * logger, `node:diagnostics_channel` messages, and one structured report per attempt.
 * @module
 */
export { type LogFields, type Logger, checkLogger, safeLogger, silentLogger } from './logger.js';
export {
  DIAGNOSTICS_CHANNELS,
  type DiagnosticsMessages,
  type PatchFallbackMessage,
  type PhaseMessage,
  type RetryMessage,
  type RevertMessage,
  type StepEndMessage,
  type StepStartMessage,
  publish,
  redactUrl,
} from './channels.js';
export type { AttemptKind, AttemptOutcome, ReportHook, UpdateReport } from './report.js';
export { type FlowObserver, Observer, type RetryNotice, quietFlowObserver } from './observer.js';
