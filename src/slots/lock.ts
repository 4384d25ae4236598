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
 * The owner file costs two precautions. Creating it changes the lock directory's
 * mtime, which proper-lockfile takes for someone else's lock at its next refresh (it
 * then stops refreshing): so the mtime is put back. And proper-lockfile removes a
 * stale lock with rmdir, which fails on a directory holding a file: so a stale lock
 * (its holder hung, or died with its PID reused or its owner file half-written) is
 * moved aside and removed here, like a dead holder's.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type Stats, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, rename, rm, stat, utimes } from 'node:fs/promises';
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
    if (!(err instanceof UpdateError) || err.code !== 'LOCKED' || !(await reclaimAbandoned(layout))) throw err;
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
    // ENOTEMPTY: proper-lockfile found the lock stale but could not rmdir it (the owner file); reclaimAbandoned() removes it.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOCKED' || code === 'ENOTEMPTY') {
      throw new UpdateError('LOCKED', `another updater holds the lock on ${layout.root}`, { cause: err });
    }
    throw new UpdateError('IO', `cannot lock ${layout.root}: ${(err as Error).message}`, { cause: err });
  }
  // Synchronous, so a kill can hardly fall between taking the lock and filling in its
  // owner: a lock without a complete owner file is only reclaimed once stale.
  let taken: Stats | null = null;
  try {
    taken = statSync(layout.lock);
    writeFileSync(join(layout.lock, 'owner'), `${process.pid}\n`);
  } catch {
    // Without an owner file the lock is reclaimed when stale rather than at once.
  }
  // Put back the mtime proper-lockfile recorded, or it finds the lock "compromised" at its first refresh.
  if (taken) await utimes(layout.lock, taken.atime, taken.mtime).catch(() => undefined);
  return {
    release: async () => {
      try {
        rmSync(join(layout.lock, 'owner'), { force: true });
      } catch {
        // proper-lockfile's rmdir below reports what is wrong.
      }
      try {
        await release();
      } catch (err) {
        // Released already because it was compromised (e.g. the root was removed).
        if (!compromised) throw new UpdateError('IO', `cannot release the lock on ${layout.root}`, { cause: err });
      }
    },
  };
}

/**
 * True when the lock was abandoned (its owner PID no longer exists, or it was not
 * refreshed for {@link LOCK_STALE_MS}) and has been moved aside.
 */
async function reclaimAbandoned(layout: RootLayout): Promise<boolean> {
  const seen = await lockState(layout.lock);
  if (seen === null) return false;
  const dead = seen.pid !== null && !isAlive(seen.pid);
  if (!dead && Date.now() - seen.mtimeMs <= LOCK_STALE_MS) return false;
  const aside = `${layout.lock}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(layout.lock, aside);
  } catch {
    return false;
  }
  const moved = await lockState(aside);
  if (!moved || moved.ino !== seen.ino || moved.pid !== seen.pid || moved.mtimeMs !== seen.mtimeMs) {
    // We moved a lock someone took (or refreshed) in the meantime: give it back.
    await rename(aside, layout.lock).catch(() => undefined);
    return false;
  }
  await rm(aside, { recursive: true, force: true }).catch(() => undefined);
  return true;
}

async function lockState(lockDir: string): Promise<{ pid: number | null; ino: number; mtimeMs: number } | null> {
  const st = await stat(lockDir).catch(() => null);
  return st ? { pid: await ownerPid(lockDir), ino: st.ino, mtimeMs: st.mtimeMs } : null;
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
