/**
 * One updater per install root, across processes: proper-lockfile's mkdir lock on
 * `<root>/.lock`, refreshed while held, so a crashed holder's lock goes stale and is
 * reclaimed instead of blocking the device forever.
 *
 * @module
 */
import lockfile from 'proper-lockfile';
import { UpdateError } from '../errors.js';
import type { RootLayout } from './layout.js';

export interface RootLock {
  release(): Promise<void>;
}

/** A lock untouched for this long belongs to a dead process. */
export const LOCK_STALE_MS = 10_000;

export async function lockRoot(layout: RootLayout): Promise<RootLock> {
  let compromised: unknown = null;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(layout.root, {
      lockfilePath: layout.lock,
      stale: LOCK_STALE_MS,
      update: LOCK_STALE_MS / 2,
      retries: 0,
      realpath: false,
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new UpdateError('LOCKED', `another updater holds the lock on ${layout.root}`, { cause: err });
    }
    throw new UpdateError('IO', `cannot lock ${layout.root}: ${(err as Error).message}`, { cause: err });
  }
  return {
    release: async () => {
      try {
        await release();
      } catch (err) {
        // Released already because it was compromised (e.g. the root was removed).
        if (!compromised) throw new UpdateError('IO', `cannot release the lock on ${layout.root}`, { cause: err });
      }
    },
  };
}
