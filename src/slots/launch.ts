/**
 * The launcher's job in Node (`twinslot launch`; native/launcher.c does the same in
 * C): settle leftovers, read the journal, count a trial start or revert a crash loop,
 * persist that decision before anything runs, and say what to execute.
 *
 * @module
 */
import { join } from 'node:path';
import { UpdateError } from '../errors.js';
import type { FileSystem } from '../io/file-system.js';
import { loadJournal, peekJournal, saveJournal } from './journal-store.js';
import type { RootLayout } from './layout.js';
import { type RootLock, lockRoot } from './lock.js';
import type { SlotName } from './state-file.js';
import { type LaunchDecision, decideLaunch } from './transitions.js';

export interface LaunchPlan {
  readonly decision: LaunchDecision;
  readonly slot: SlotName;
  readonly version: string;
  /** Absolute path of the entry to execute. */
  readonly entry: string;
  readonly slotDir: string;
}

/** Decides and persists; throws `STATE_CORRUPT` or `INVALID_STATE` with one clear line when the root cannot start. */
export async function prepareLaunch(fs: FileSystem, layout: RootLayout, sleep: (ms: number) => Promise<void>): Promise<LaunchPlan> {
  // Without the lock a state.tmp may be an updater's save in progress: read, do not settle.
  const journal = await peekJournal(fs, layout);
  if (!journal) throw new UpdateError('INVALID_STATE', `nothing is installed in ${layout.root}`);
  let decision = decideLaunch(journal);
  if (decision.journal !== journal) {
    // Only a trial start writes; take the lock so no updater writes the journal at the same time.
    const lock = await lockWithPatience(layout, sleep);
    try {
      const fresh = await loadJournal(fs, layout);
      if (!fresh) throw new UpdateError('STATE_CORRUPT', `the state file of ${layout.root} vanished`);
      decision = decideLaunch(fresh);
      if (decision.journal !== fresh) await saveJournal(fs, layout, decision.journal);
    } finally {
      await lock.release();
    }
  }
  const record = decision.journal.slots[decision.slot];
  if (!record.entry || !record.version) throw new UpdateError('STATE_CORRUPT', `slot ${decision.slot} has no entry point`);
  const slotDir = layout.slotDir(decision.slot);
  return { decision, slot: decision.slot, version: record.version, entry: join(slotDir, record.entry), slotDir };
}

async function lockWithPatience(layout: RootLayout, sleep: (ms: number) => Promise<void>): Promise<RootLock> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await lockRoot(layout);
    } catch (err) {
      if (!(err instanceof UpdateError) || err.code !== 'LOCKED' || attempt >= 50) throw err;
      await sleep(100);
    }
  }
}
