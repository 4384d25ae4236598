/**
 * Durable replacement of a small file: write `<file>.tmp` -> fsync -> rename over
 * `<file>` -> fsync the directory. After a crash at any instant the file holds either
 * the old or the new bytes; a leftover `.tmp` is settled by {@link settleLeftover}.
 *
 * @module
 */
import { dirname } from 'node:path';
import { fromFsError } from '../errors.js';
import { type FileSystem, OPEN, isErrno } from '../io/file-system.js';

export async function writeFileAtomic(fs: FileSystem, path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = `${path}.tmp`;
  try {
    const file = await fs.open(tmp, OPEN.create, mode);
    try {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await file.write(bytes, done, bytes.length - done, done);
        done += bytesWritten;
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(tmp, path);
    await fs.syncDir(dirname(path));
  } catch (err) {
    throw fromFsError(err, `writing ${path}`);
  }
}

/**
 * Settles `<file>.tmp` left by a crash. If `<file>` exists, the rename never happened:
 * the old content stands and the leftover is discarded. If only the leftover exists
 * and `isComplete` accepts it, the write is finished (roll forward); otherwise it is
 * discarded. Returns the file's bytes afterwards, or null when there is none.
 *
 * No fsync here: settling is idempotent. If power is lost before the rename or unlink
 * reaches the disk, the next start finds the same leftover and settles it the same
 * way; the next durable write of the file fsyncs the directory anyway.
 */
export async function settleLeftover(fs: FileSystem, path: string, isComplete: (bytes: Buffer) => boolean): Promise<Buffer | null> {
  const tmp = `${path}.tmp`;
  const current = await readIfExists(fs, path);
  const leftover = await readIfExists(fs, tmp);
  if (leftover === null) return current;
  try {
    if (current === null && isComplete(leftover)) {
      await fs.rename(tmp, path);
      return leftover;
    }
    await fs.unlink(tmp);
  } catch (err) {
    throw fromFsError(err, `settling ${tmp}`);
  }
  return current;
}

export async function readIfExists(fs: FileSystem, path: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw fromFsError(err, `reading ${path}`);
  }
}
