// The root lock on a real directory: held locks stay fresh, abandoned ones are taken
// over, live ones never. (Found by test/chaos/kill-cycle: a holder killed while
// writing its owner file left a lock no process could ever take again.)
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rootLayout } from '../../../src/slots/layout.js';
import { LOCK_STALE_MS, lockRoot } from '../../../src/slots/lock.js';
import { expectRejectCode } from '../expect-code.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'twinslot-lock-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A `.lock` as another process would have left it, `ageMs` since its last refresh. */
async function leftLock(owner: string | null, ageMs: number): Promise<void> {
  const lock = join(root, '.lock');
  await mkdir(lock);
  if (owner !== null) await writeFile(join(lock, 'owner'), owner);
  const when = new Date(Date.now() - ageMs);
  await utimes(lock, when, when);
}

/** The PID of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('the root lock', () => {
  it('is refreshed while held: its owner file does not make proper-lockfile give it up', async () => {
    const lock = await lockRoot(rootLayout(root));
    try {
      // proper-lockfile refreshes every LOCK_STALE_MS / 2; a lock it no longer refreshes ages past that.
      await new Promise((r) => setTimeout(r, LOCK_STALE_MS / 2 + 1_500));
      const age = Date.now() - (await stat(join(root, '.lock'))).mtimeMs;
      expect(age).toBeLessThan(LOCK_STALE_MS / 2);
    } finally {
      await lock.release();
    }
  }, 20_000);

  it('a live holder keeps it: LOCKED', async () => {
    await leftLock(`${process.ppid}\n`, 0);
    await expectRejectCode(lockRoot(rootLayout(root)), 'LOCKED');
  });

  it('a dead holder (its PID is gone) loses it at once', async () => {
    await leftLock(`${await deadPid()}\n`, 0);
    const lock = await lockRoot(rootLayout(root));
    await lock.release();
  });

  for (const [name, owner] of [
    ['its owner file names a live process (a PID reused after a reboot, or a hung holder)', `${process.ppid}\n`],
    ['its owner file is empty (the holder was killed while writing it)', ''],
    ['it has no owner file (the holder was killed right after mkdir)', null],
  ] as const) {
    it(`a stale lock is taken over when ${name}`, async () => {
      await leftLock(owner, LOCK_STALE_MS + 5_000);
      const lock = await lockRoot(rootLayout(root));
      await lock.release();
      await expect(stat(join(root, '.lock'))).rejects.toThrow();
    });
  }
});
