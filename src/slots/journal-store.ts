/**
 * Loads and saves the slot journal and trust.json durably, settling leftovers of a
 * crash first. The only code that writes `state` and `trust.json`.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import type { FileSystem } from '../io/file-system.js';
import { type TrustState, parseTrustState, serializeTrustState } from '../manifest/trust-state.js';
import { readIfExists, settleLeftover, writeFileAtomic } from './atomic-file.js';
import type { RootLayout } from './layout.js';
import { type Journal, formatJournal, parseJournal } from './state-file.js';

/** The journal, or null when nothing was ever installed in this root. */
export async function loadJournal(fs: FileSystem, layout: RootLayout): Promise<Journal | null> {
  const bytes = await settleLeftover(fs, layout.state, (b) => parsesAs(() => parseJournal(b.toString('utf8'))));
  return bytes === null ? null : parseJournal(bytes.toString('utf8'));
}

/**
 * The journal as it stands, for readers that do not hold the root lock (`status()`,
 * `twinslot status`). Unlike {@link loadJournal} it never settles a leftover: without
 * the lock a `state.tmp` may be another process's save in progress, and deleting it
 * would make that save fail. `state` itself is only ever replaced by a rename, so it
 * is always whole. A complete leftover with no `state` beside it (a first install cut
 * short) is what the next locked load renames into place, so that is what is shown.
 */
export async function peekJournal(fs: FileSystem, layout: RootLayout): Promise<Journal | null> {
  const current = await readIfExists(fs, layout.state);
  if (current !== null) return parseJournal(current.toString('utf8'));
  const leftover = await readIfExists(fs, `${layout.state}.tmp`);
  return leftover !== null && parsesAs(() => parseJournal(leftover.toString('utf8'))) ? parseJournal(leftover.toString('utf8')) : null;
}

/** Like {@link loadJournal} but an absent journal is an error. */
export async function requireJournal(fs: FileSystem, layout: RootLayout): Promise<Journal> {
  const journal = await loadJournal(fs, layout);
  if (!journal) throw new UpdateError('INVALID_STATE', `nothing is installed in ${layout.root} (no state file); run "twinslot install" first`);
  return journal;
}

export async function saveJournal(fs: FileSystem, layout: RootLayout, journal: Journal): Promise<void> {
  await writeFileAtomic(fs, layout.state, formatJournal(journal));
}

export async function loadTrust(fs: FileSystem, layout: RootLayout): Promise<TrustState | null> {
  const bytes = await settleLeftover(fs, layout.trust, (b) => parsesAs(() => parseTrustState(b.toString('utf8'))));
  return bytes === null ? null : parseTrustState(bytes.toString('utf8'));
}

export async function saveTrust(fs: FileSystem, layout: RootLayout, trust: TrustState): Promise<void> {
  await writeFileAtomic(fs, layout.trust, serializeTrustState(trust), 0o600);
}

/** The verified manifest bytes stored next to a slot, if any. */
export async function readSlotManifest(fs: FileSystem, path: string): Promise<Buffer | null> {
  return settleLeftover(fs, path, () => false).then(() => readIfExists(fs, path));
}

function parsesAs(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}
