/**
 * One updater per install root, across processes: proper-lockfile's mkdir lock on
 * `<root>/.lock`, refreshed while held, so a hung holder's lock goes stale after
 * {@link LOCK_STALE_MS}.
 *
 * A killed holder's lock is reclaimed at once instead: the holder writes its PID into
 * `<root>/.lock/owner`, and a process that finds the lock held by a PID that no longer
 * exists on this host moves the lock aside and takes it. The move is a rename to a
 * unique name; if what was moved turns out to be a live lock (someone re-locked in
 * between), it is put back, so a live lock is never stolen.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { UpdateError } from '../errors.js';
import type { RootLayout } from './layout.js';

export interface RootLock {
  release(): Promise<void>;
}

/** A lock untouched for this long belongs to a hung or dead process. */
export const LOCK_STALE_MS = 10_000;

export async function lockRoot(layout: RootLayout): Promise<RootLock> {
  try {
    return await acquire(layout);
  } catch (err) {
    if (!(err instanceof UpdateError) || err.code !== 'LOCKED' || !(await reclaimDeadOwner(layout))) throw err;
    return acquire(layout);
  }
}

async function acquire(layout: RootLayout): Promise<RootLock> {
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
  await writeFile(join(layout.lock, 'owner'), `${process.pid}\n`).catch(() => undefined);
  return {
    release: async () => {
      await rm(join(layout.lock, 'owner'), { force: true }).catch(() => undefined);
      try {
        await release();
      } catch (err) {
        // Released already because it was compromised (e.g. the root was removed).
        if (!compromised) throw new UpdateError('IO', `cannot release the lock on ${layout.root}`, { cause: err });
      }
    },
  };
}

/** True when the lock belonged to a process that no longer exists and has been moved aside. */
async function reclaimDeadOwner(layout: RootLayout): Promise<boolean> {
  const dead = await ownerPid(layout.lock);
  if (dead === null || isAlive(dead)) return false;
  const aside = `${layout.lock}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(layout.lock, aside);
  } catch {
    return false;
  }
  if ((await ownerPid(aside)) !== dead) {
    // We moved a lock someone took in the meantime: give it back.
    await rename(aside, layout.lock).catch(() => undefined);
    return false;
  }
  await rm(aside, { recursive: true, force: true }).catch(() => undefined);
  return true;
}

async function ownerPid(lockDir: string): Promise<number | null> {
  const text = await readFile(join(lockDir, 'owner'), 'utf8').catch(() => null);
  const pid = text === null ? NaN : Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
