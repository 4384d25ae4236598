/**
 * SHA-256 of a file read through the file-system boundary, without following a
 * symlink at the last component (O_NOFOLLOW), in bounded memory.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { fromFsError } from '../errors.js';
import { type FileSystem, OPEN } from '../io/file-system.js';

const BLOCK = 1024 * 1024;

export interface FileDigest {
  readonly sha256: string;
  readonly size: number;
}

/** Hashes `path`; refuses to read past `maxBytes` (the size the manifest expects). */
export async function hashFile(fs: FileSystem, path: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<FileDigest> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(BLOCK);
  let size = 0;
  try {
    const file = await fs.open(path, OPEN.read);
    try {
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, BLOCK, size);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        size += bytesRead;
        if (size > maxBytes) break;
      }
    } finally {
      await file.close();
    }
  } catch (err) {
    throw fromFsError(err, `hashing ${path}`);
  }
  return { sha256: hash.digest('hex'), size };
}
