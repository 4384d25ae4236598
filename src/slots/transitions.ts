/**
 * Pure transitions of the slot journal. Each returns the next journal (or a
 * decision); the orchestrators persist it. Nothing here does I/O, so the launcher in
 * Node, the C launcher and the tests can agree on every decision.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import { type Journal, type SlotName, type SlotRecord, otherSlot } from './state-file.js';

/** Above this many state writes without a commit, a trial is forced to revert (Mender uses 28). */
export const MAX_SAVES = 28;

const EMPTY: SlotRecord = { version: null, status: 'empty', entry: null };

function bump(j: Journal, changes: Partial<Journal>): Journal {
  return { ...j, ...changes, saves: j.saves + 1 };
}

function withSlot(j: Journal, slot: SlotName, record: SlotRecord): Readonly<Record<SlotName, SlotRecord>> {
  return { ...j.slots, [slot]: record };
}

/** The journal of a first install: `slot` holds `version`, committed. */
export function firstInstall(slot: SlotName, version: string, entry: string, maxAttempts: number): Journal {
  return {
    active: slot,
    previous: null,
    trial: false,
    attempts: 0,
    maxAttempts,
    saves: 0,
    slots: { [slot]: { version, status: 'good', entry }, [otherSlot(slot)]: EMPTY } as Record<SlotName, SlotRecord>,
    bad: [],
  };
}

/** The slot an update may write: the inactive one, and only while the active slot is committed. */
export function writableSlot(j: Journal): SlotName {
  if (j.trial) {
    throw new UpdateError('INVALID_STATE', `slot ${j.active} is on trial; confirm or revert it before staging another update`);
  }
  return otherSlot(j.active);
}

/** Before the first byte is written into the inactive slot. */
export function markInvalid(j: Journal, slot: SlotName): Journal {
  if (slot === j.active) throw new UpdateError('INVALID_STATE', 'the active slot is never written');
  if (j.previous === slot) return bump(j, { previous: null, slots: withSlot(j, slot, { version: null, status: 'invalid', entry: null }) });
  return bump(j, { slots: withSlot(j, slot, { version: null, status: 'invalid', entry: null }) });
}

/** The inactive slot now holds a complete, verified `version`. */
export function markStaged(j: Journal, slot: SlotName, version: string, entry: string): Journal {
  if (slot === j.active) throw new UpdateError('INVALID_STATE', 'the active slot is never staged into');
  return bump(j, { slots: withSlot(j, slot, { version, status: 'staged', entry }) });
}

/** The switch: the staged slot becomes active on trial; the old one stays good as the way back. */
export function switchToStaged(j: Journal, slot: SlotName): Journal {
  const staged = j.slots[slot];
  if (slot === j.active || staged.status !== 'staged') {
    throw new UpdateError('INVALID_STATE', `slot ${slot} is not staged (status ${staged.status})`);
  }
  if (j.trial) throw new UpdateError('INVALID_STATE', 'a trial is already pending');
  return {
    ...j,
    active: slot,
    previous: j.active,
    trial: true,
    attempts: 0,
    saves: 1,
    slots: withSlot(j, slot, { ...staged, status: 'trial' }),
  };
}

/** A counted start of the trial slot. */
export function countStart(j: Journal): Journal {
  return bump(j, { attempts: j.attempts + 1 });
}

/** The trial passed its probes: commit it. */
export function commitTrial(j: Journal): Journal {
  if (!j.trial) throw new UpdateError('INVALID_STATE', 'no trial is pending');
  return { ...j, trial: false, attempts: 0, saves: 0, slots: withSlot(j, j.active, { ...j.slots[j.active], status: 'good' }) };
}

/** Go back to the previous slot; the reverted-from release is marked bad. */
export function revertTrial(j: Journal): Journal {
  if (!j.previous || j.slots[j.previous].status !== 'good') {
    throw new UpdateError('INVALID_STATE', 'there is no good previous slot to go back to');
  }
  const from = j.slots[j.active];
  const bad = from.version && !j.bad.includes(from.version) ? [...j.bad, from.version] : j.bad;
  return {
    ...j,
    active: j.previous,
    previous: j.active,
    trial: false,
    attempts: 0,
    saves: 0,
    slots: withSlot(j, j.active, { ...from, status: 'bad' }),
    bad: bad.slice(-64),
  };
}

/** What a launcher does at process start. */
export type LaunchDecision =
  | { readonly action: 'run'; readonly slot: SlotName; readonly counted: boolean; readonly journal: Journal }
  | { readonly action: 'revert-then-run'; readonly slot: SlotName; readonly reason: 'max-attempts' | 'state-loop'; readonly journal: Journal };

/**
 * The launcher's rule. A start is counted only while a trial is pending, so power
 * cycles never flip a committed slot; past `max-attempts` starts (or a runaway save
 * count) the trial is reverted before anything runs.
 */
export function decideLaunch(j: Journal): LaunchDecision {
  if (!j.trial) return { action: 'run', slot: j.active, counted: false, journal: j };
  if (j.attempts >= j.maxAttempts) {
    const journal = revertTrial(j);
    return { action: 'revert-then-run', slot: journal.active, reason: 'max-attempts', journal };
  }
  if (j.saves >= MAX_SAVES) {
    const journal = revertTrial(j);
    return { action: 'revert-then-run', slot: journal.active, reason: 'state-loop', journal };
  }
  const journal = countStart(j);
  return { action: 'run', slot: journal.active, counted: true, journal };
}
