/**
 * The slot journal `<root>/state` (DESIGN.md §3): line-based `key value` text so the
 * C launcher can read it without a parser library. This file only formats and
 * parses; transitions live in transitions.ts, durable writes in journal-store.ts.
 *
 *     twinslot-state 1
 *     active b
 *     previous a
 *     trial 1
 *     attempts 0
 *     max-attempts 3
 *     saves 2
 *     a 1.4.2 good
 *     b 2.0.0 trial
 *     entry-a bin/app
 *     entry-b bin/app
 *     bad 3.0.0
 *
 * Unknown keys are ignored (room for later versions); a repeated key, a missing one,
 * or values that contradict each other make the root `STATE_CORRUPT`.
 *
 * @module
 */
import semver from 'semver';
import { UpdateError } from '../errors.js';
import { checkSlotPath } from '../manifest/paths.js';

/** The two slot directories of an install root, `slots/a` and `slots/b`. */
export type SlotName = 'a' | 'b';
export const SLOT_NAMES: readonly SlotName[] = ['a', 'b'];

/**
 * - `empty`: never written. `invalid`: being written (never started from).
 * - `staged`: complete and verified, not yet switched to. `trial`: switched to, not committed.
 * - `good`: committed. `bad`: reverted from; its release is not retried.
 */
export type SlotStatus = 'empty' | 'invalid' | 'staged' | 'trial' | 'good' | 'bad';
const STATUSES: readonly SlotStatus[] = ['empty', 'invalid', 'staged', 'trial', 'good', 'bad'];

export interface SlotRecord {
  readonly version: string | null;
  readonly status: SlotStatus;
  /** Entry point relative to the slot, from the release manifest. */
  readonly entry: string | null;
}

/** The parsed journal. */
export interface Journal {
  readonly active: SlotName;
  readonly previous: SlotName | null;
  readonly trial: boolean;
  /** Starts of the trial slot so far (the launcher counts them). */
  readonly attempts: number;
  readonly maxAttempts: number;
  /** State writes since the last commit; a runaway count breaks a crash loop. */
  readonly saves: number;
  readonly slots: Readonly<Record<SlotName, SlotRecord>>;
  /** Versions reverted from; not offered again until a newer release appears. */
  readonly bad: readonly string[];
}

export const STATE_MAGIC = 'twinslot-state 1';
export const MAX_STATE_BYTES = 64 * 1024;

export function otherSlot(slot: SlotName): SlotName {
  return slot === 'a' ? 'b' : 'a';
}

export function formatJournal(j: Journal): string {
  const lines = [
    STATE_MAGIC,
    `active ${j.active}`,
    ...(j.previous ? [`previous ${j.previous}`] : []),
    `trial ${j.trial ? 1 : 0}`,
    `attempts ${j.attempts}`,
    `max-attempts ${j.maxAttempts}`,
    `saves ${j.saves}`,
  ];
  for (const name of SLOT_NAMES) {
    const s = j.slots[name];
    lines.push(`${name} ${s.version ?? '-'} ${s.status}`);
  }
  for (const name of SLOT_NAMES) {
    const entry = j.slots[name].entry;
    if (entry) lines.push(`entry-${name} ${entry}`);
  }
  for (const version of j.bad) lines.push(`bad ${version}`);
  return lines.join('\n') + '\n';
}

export function parseJournal(text: string): Journal {
  if (text.length > MAX_STATE_BYTES) throw corrupt('is larger than 64 KiB');
  const lines = text.split('\n');
  if (lines[0] !== STATE_MAGIC) throw corrupt(`does not start with "${STATE_MAGIC}"`);
  if (lines.at(-1) !== '') throw corrupt('is truncated (no final newline)');
  const values = new Map<string, string>();
  const bad: string[] = [];
  for (const line of lines.slice(1, -1)) {
    const space = line.indexOf(' ');
    if (space <= 0) throw corrupt(`has a malformed line ${JSON.stringify(line.slice(0, 60))}`);
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (key === 'bad') {
      bad.push(versionOf(value, 'bad'));
      continue;
    }
    if (values.has(key)) throw corrupt(`repeats "${key}"`);
    values.set(key, value);
  }
  const need = (key: string): string => {
    const v = values.get(key);
    if (v === undefined) throw corrupt(`has no "${key}" line`);
    return v;
  };
  const active = slotName(need('active'), 'active');
  const previousText = values.get('previous');
  const previous = previousText === undefined ? null : slotName(previousText, 'previous');
  const trial = flag(need('trial'), 'trial');
  const attempts = count(need('attempts'), 'attempts');
  const maxAttempts = count(need('max-attempts'), 'max-attempts');
  const saves = values.has('saves') ? count(need('saves'), 'saves') : 0;
  const slots = {} as Record<SlotName, SlotRecord>;
  for (const name of SLOT_NAMES) {
    const parts = need(name).split(' ');
    if (parts.length !== 2) throw corrupt(`has a malformed "${name}" line`);
    const [versionText, statusText] = parts as [string, string];
    if (!STATUSES.includes(statusText as SlotStatus)) throw corrupt(`has an unknown status "${statusText}" for slot ${name}`);
    const version = versionText === '-' ? null : versionOf(versionText, name);
    const entryText = values.get(`entry-${name}`);
    let entry: string | null = null;
    if (entryText !== undefined) {
      try {
        entry = checkSlotPath(entryText, `entry-${name}`);
      } catch (err) {
        throw corrupt(`has an unsafe entry for slot ${name}`, err);
      }
    }
    slots[name] = { version, status: statusText as SlotStatus, entry };
  }
  const journal: Journal = { active, previous, trial, attempts, maxAttempts, saves, slots, bad };
  checkConsistent(journal);
  return journal;
}

/** The invariants every written journal holds; a violation means the root was tampered with or damaged. */
export function checkConsistent(j: Journal): void {
  const active = j.slots[j.active];
  if (active.status !== (j.trial ? 'trial' : 'good')) {
    throw corrupt(`says slot ${j.active} is active with status "${active.status}" while trial is ${j.trial ? 1 : 0}`);
  }
  if (!active.version || !active.entry) throw corrupt(`has no version or entry for the active slot ${j.active}`);
  if (j.trial) {
    if (j.previous !== otherSlot(j.active)) throw corrupt('has a trial without a previous slot to revert to');
    const prev = j.slots[j.previous];
    // A revert makes the previous slot active, so it must hold all an active slot needs.
    if (prev.status !== 'good' || !prev.entry || !prev.version) throw corrupt(`has a trial whose previous slot ${j.previous} is not good`);
  }
  if (j.previous === j.active) throw corrupt('names the same slot as active and previous');
  if (j.maxAttempts < 1) throw corrupt('has max-attempts below 1');
}

function corrupt(why: string, cause?: unknown): UpdateError {
  return new UpdateError('STATE_CORRUPT', `state file ${why}`, cause === undefined ? {} : { cause });
}

function slotName(v: string, key: string): SlotName {
  if (v !== 'a' && v !== 'b') throw corrupt(`has "${key} ${v}"; a slot is a or b`);
  return v;
}

function flag(v: string, key: string): boolean {
  if (v !== '0' && v !== '1') throw corrupt(`has "${key} ${v}"; expected 0 or 1`);
  return v === '1';
}

function count(v: string, key: string): number {
  if (!/^[0-9]{1,9}$/.test(v)) throw corrupt(`has "${key} ${v}"; expected a small number`);
  return Number(v);
}

function versionOf(v: string, key: string): string {
  if (semver.valid(v) !== v) throw corrupt(`has an invalid version "${v}" for ${key}`);
  return v;
}
