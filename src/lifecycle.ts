/**
 * The in-process lifecycle of an Updater as data: phases, events, and the table of
 * legal transitions. The orchestrator asks {@link nextPhase} before every step, so an
 * illegal call (install before download, two downloads at once) is refused with
 * `INVALID_STATE` instead of racing. What survives a restart lives in the slot
 * journal (slots/transitions.ts); this table only sequences one process.
 *
 * @module
 */
import { UpdateError } from './errors.js';

/**
 * What an Updater is doing in this process: `idle`, `checking`, `available` (a check
 * found a release), `downloading`, `downloaded` (staged), `installing`, `installed`
 * (switched, restart pending), `confirming` (post-start probes), `rolling-back`.
 */
export type Phase = 'idle' | 'checking' | 'available' | 'downloading' | 'downloaded' | 'installing' | 'installed' | 'confirming' | 'rolling-back';

/** A step that moves an Updater from one {@link Phase} to the next (the lifecycle table's events). */
export type PhaseEvent =
  | 'check'
  | 'found'
  | 'found-staged'
  | 'none'
  | 'download'
  | 'downloaded'
  | 'install'
  | 'installed'
  | 'confirm'
  | 'confirmed'
  | 'rollback'
  | 'rolled-back'
  /** What a check found no longer applies (the channel changed). */
  | 'forget'
  | 'fail';

/** [from, event, to]. `*` matches every phase not busy with a step. */
export const TRANSITIONS: readonly (readonly [Phase | '*', PhaseEvent, Phase])[] = [
  ['idle', 'check', 'checking'],
  ['available', 'check', 'checking'],
  ['downloaded', 'check', 'checking'],
  ['installed', 'check', 'checking'],
  ['checking', 'found', 'available'],
  ['checking', 'found-staged', 'downloaded'],
  ['checking', 'none', 'idle'],
  ['checking', 'fail', 'idle'],
  ['available', 'download', 'downloading'],
  ['downloading', 'downloaded', 'downloaded'],
  ['downloading', 'fail', 'available'],
  ['downloaded', 'install', 'installing'],
  ['installing', 'installed', 'installed'],
  ['installing', 'fail', 'downloaded'],
  ['idle', 'confirm', 'confirming'],
  ['available', 'confirm', 'confirming'],
  ['downloaded', 'confirm', 'confirming'],
  ['installed', 'confirm', 'confirming'],
  ['confirming', 'confirmed', 'idle'],
  ['confirming', 'fail', 'idle'],
  ['idle', 'rollback', 'rolling-back'],
  ['available', 'rollback', 'rolling-back'],
  ['downloaded', 'rollback', 'rolling-back'],
  ['installed', 'rollback', 'rolling-back'],
  ['rolling-back', 'rolled-back', 'idle'],
  ['rolling-back', 'fail', 'idle'],
  ['idle', 'forget', 'idle'],
  ['available', 'forget', 'idle'],
  ['downloaded', 'forget', 'idle'],
  ['installed', 'forget', 'installed'],
];

/** Phases in which a step is running; nothing else may start. */
export const BUSY: ReadonlySet<Phase> = new Set(['checking', 'downloading', 'installing', 'confirming', 'rolling-back']);

export function nextPhase(phase: Phase, event: PhaseEvent): Phase {
  for (const [from, on, to] of TRANSITIONS) {
    if (on === event && (from === phase || (from === '*' && !BUSY.has(phase)))) return to;
  }
  const why = BUSY.has(phase) ? `the updater is busy (${phase})` : `"${event}" is not possible while ${phase}`;
  throw new UpdateError('INVALID_STATE', why, { details: { phase, event } });
}
