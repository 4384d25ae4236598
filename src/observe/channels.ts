/**
 * `node:diagnostics_channel` events, the way undici publishes its own: tools (APM
 * agents, tracing, a debug console) subscribe by name without the app wiring
 * anything. Messages are plain objects built only when someone subscribes, and
 * hold no secrets: URLs lose their user, password, query and fragment.
 *
 * | channel | when | message |
 * |---|---|---|
 * | `twinslot:phase` | the in-process lifecycle phase changes | {@link PhaseMessage} |
 * | `twinslot:step:start` | a step (check, download, install, confirm, rollback) starts | {@link StepStartMessage} |
 * | `twinslot:step:end` | that step ends, in any outcome | {@link StepEndMessage} |
 * | `twinslot:retry` | a download request failed and is tried again (maybe on the next mirror) | {@link RetryMessage} |
 * | `twinslot:patch:fallback` | a patch could not be used; its file is fetched whole | {@link PatchFallbackMessage} |
 * | `twinslot:revert` | the install went back to the previous slot | {@link RevertMessage} |
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * import { DIAGNOSTICS_CHANNELS } from 'twinslot';
 * diagnostics_channel.subscribe(DIAGNOSTICS_CHANNELS.phase, (m) => console.log(m));
 * ```
 *
 * @module
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { PatchFailedInfo, RolledBackInfo } from '../events.js';
import type { Phase, PhaseEvent } from '../lifecycle.js';
import type { AttemptKind, UpdateReport } from './report.js';

/** The names twinslot publishes on. */
export const DIAGNOSTICS_CHANNELS = {
  /** Lifecycle phase changes ({@link PhaseMessage}). */
  phase: 'twinslot:phase',
  /** A step starts ({@link StepStartMessage}). */
  stepStart: 'twinslot:step:start',
  /** A step ends ({@link StepEndMessage}). */
  stepEnd: 'twinslot:step:end',
  /** A download request is retried ({@link RetryMessage}). */
  retry: 'twinslot:retry',
  /** A patch fell back to a whole-file fetch ({@link PatchFallbackMessage}). */
  patchFallback: 'twinslot:patch:fallback',
  /** A revert to the previous slot ({@link RevertMessage}). */
  revert: 'twinslot:revert',
} as const;

/** `twinslot:phase`: one transition of the lifecycle table (src/lifecycle.ts). */
export interface PhaseMessage {
  /** The install root of the updater that published it. */
  readonly installRoot: string;
  /** The phase before. */
  readonly from: Phase;
  /** The phase after. */
  readonly to: Phase;
  /** The lifecycle event that moved it: `check`, `found`, `download`, `fail`, ... */
  readonly event: PhaseEvent;
}

/** `twinslot:step:start`. */
export interface StepStartMessage {
  /** The install root of the updater that published it. */
  readonly installRoot: string;
  /** Pairs this start with its `twinslot:step:end`; counts up per process. */
  readonly id: number;
  /** Which step. */
  readonly step: AttemptKind;
}

/** `twinslot:step:end`: the same report the `report` option receives. */
export interface StepEndMessage {
  /** The install root of the updater that published it. */
  readonly installRoot: string;
  /** The id of the matching `twinslot:step:start`. */
  readonly id: number;
  /** The attempt's outcome. */
  readonly report: UpdateReport;
}

/** `twinslot:retry`. */
export interface RetryMessage {
  /** The install root of the updater that published it. */
  readonly installRoot: string;
  /** The URL that failed, without credentials or query. */
  readonly url: string;
  /** The failure's code (`NETWORK`, `CHECKSUM_MISMATCH`, `TOO_LARGE`, ...). */
  readonly code: string;
  /** Tries so far on the mirror tried next (0 after a failover). */
  readonly attempt: number;
  /** Index of the mirror tried next (0 = the feed itself). */
  readonly mirror: number;
  /** True when the next try moves to another mirror. */
  readonly failover: boolean;
  /** Wait before the next try, ms. */
  readonly waitMs: number;
}

/** `twinslot:patch:fallback`. */
export interface PatchFallbackMessage extends PatchFailedInfo {
  /** The install root of the updater that published it. */
  readonly installRoot: string;
}

/** `twinslot:revert`: the rolled-back event's data, without probe output. */
export interface RevertMessage extends Omit<RolledBackInfo, 'results'> {
  /** The install root of the updater that published it. */
  readonly installRoot: string;
}

/** Message type by channel name. */
export interface DiagnosticsMessages {
  /** See {@link PhaseMessage}. */
  'twinslot:phase': PhaseMessage;
  /** See {@link StepStartMessage}. */
  'twinslot:step:start': StepStartMessage;
  /** See {@link StepEndMessage}. */
  'twinslot:step:end': StepEndMessage;
  /** See {@link RetryMessage}. */
  'twinslot:retry': RetryMessage;
  /** See {@link PatchFallbackMessage}. */
  'twinslot:patch:fallback': PatchFallbackMessage;
  /** See {@link RevertMessage}. */
  'twinslot:revert': RevertMessage;
}

type ChannelName = keyof DiagnosticsMessages;

const channels = new Map<ChannelName, diagnosticsChannel.Channel>(
  Object.values(DIAGNOSTICS_CHANNELS).map((name) => [name, diagnosticsChannel.channel(name)]),
);

/** Publishes on `name` only when someone listens; `message` is built only then. */
export function publish<N extends ChannelName>(name: N, message: () => DiagnosticsMessages[N]): void {
  const channel = channels.get(name)!;
  if (!channel.hasSubscribers) return;
  // A subscriber that throws does not interrupt us: Node reports it on the next tick
  // as an uncaught exception (diagnostics_channel's own rule), as it does for undici.
  channel.publish(message());
}

/** A URL fit for logs: scheme, host and path only. */
export function redactUrl(url: URL | string): string {
  try {
    const u = new URL(String(url));
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}
