/**
 * slots/: the install root on disk: the slot journal and its transitions, trust.json,
 * durable writes, the root lock, staging into the inactive slot and the re-check.
 * @module
 */
export { readIfExists, settleLeftover, writeFileAtomic } from './atomic-file.js';
export { type FileDigest, hashFile } from './hash-file.js';
export { loadJournal, loadTrust, readSlotManifest, requireJournal, saveJournal, saveTrust } from './journal-store.js';
export { type RootLayout, rootLayout } from './layout.js';
export { LOCK_STALE_MS, type RootLock, lockRoot } from './lock.js';
export { StagingArea } from './staging.js';
export {
  type Journal,
  MAX_STATE_BYTES,
  SLOT_NAMES,
  STATE_MAGIC,
  type SlotName,
  type SlotRecord,
  type SlotStatus,
  checkConsistent,
  formatJournal,
  otherSlot,
  parseJournal,
} from './state-file.js';
export {
  type LaunchDecision,
  MAX_SAVES,
  commitTrial,
  countStart,
  decideLaunch,
  firstInstall,
  markInvalid,
  markStaged,
  revertTrial,
  switchToStaged,
  writableSlot,
} from './transitions.js';
export { verifyTree, walkTree } from './verify-tree.js';
