/**
 * The re-check before a switch: the slot's tree must be exactly the manifest's, every
 * regular file with its size, mode and SHA-256, no symlink, no file the manifest does
 * not list. Anything else and the switch does not happen.
 *
 * @module
 */
import { join } from 'node:path';
import { UpdateError, fromFsError } from '../errors.js';
import type { FileSystem } from '../io/file-system.js';
import type { ReleaseManifest } from '../manifest/release.js';
import { hashFile } from './hash-file.js';

/** Lists every entry under `dir` (relative POSIX paths), without following symlinks. */
export async function walkTree(fs: FileSystem, dir: string): Promise<{ files: string[]; dirs: string[]; others: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  const others: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(rel ? join(dir, rel) : dir);
    } catch (err) {
      throw fromFsError(err, `listing ${join(dir, rel)}`);
    }
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) others.push(path);
      else if (entry.isDirectory()) {
        dirs.push(path);
        await visit(path);
      } else if (entry.isFile()) files.push(path);
      else others.push(path);
    }
  };
  await visit('');
  return { files, dirs, others };
}

/** Throws `CHECKSUM_MISMATCH` or `UNSAFE_PATH` unless `slotDir` holds exactly `manifest`. */
export async function verifyTree(fs: FileSystem, slotDir: string, manifest: ReleaseManifest): Promise<void> {
  // The slot itself must be a directory in the root, not a symlink to a lookalike tree
  // elsewhere (which could change after this check, out of twinslot's reach).
  const top = await fs.lstat(slotDir).catch((err: unknown) => {
    throw fromFsError(err, `checking ${slotDir}`);
  });
  if (!top.isDirectory()) throw new UpdateError('UNSAFE_PATH', `slot ${slotDir} is not a directory (a symlink?)`, { details: { path: slotDir } });
  const tree = await walkTree(fs, slotDir);
  if (tree.others.length > 0) {
    throw new UpdateError('UNSAFE_PATH', `slot ${slotDir} contains a symlink or special file: ${tree.others[0]}`, { details: { path: tree.others[0] } });
  }
  const expected = new Map(manifest.files.map((f) => [f.path, f]));
  const extra = tree.files.find((p) => !expected.has(p));
  if (extra !== undefined) {
    throw new UpdateError('CHECKSUM_MISMATCH', `slot ${slotDir} contains ${extra}, which the release does not list`, { details: { path: extra } });
  }
  for (const file of manifest.files) {
    const path = join(slotDir, file.path);
    let stat;
    try {
      stat = await fs.lstat(path);
    } catch (err) {
      throw new UpdateError('CHECKSUM_MISMATCH', `slot ${slotDir} is missing ${file.path}`, { cause: err, details: { path: file.path } });
    }
    if (!stat.isFile() || stat.nlink > 1) {
      throw new UpdateError('UNSAFE_PATH', `${file.path} in ${slotDir} is not a plain file`, { details: { path: file.path } });
    }
    if (process.platform !== 'win32' && (stat.mode & 0o777) !== file.mode) {
      throw new UpdateError('CHECKSUM_MISMATCH', `${file.path} has mode ${(stat.mode & 0o777).toString(8)}, expected ${file.mode.toString(8)}`, {
        details: { path: file.path },
      });
    }
    const digest = await hashFile(fs, path, file.size);
    if (digest.size !== file.size || digest.sha256 !== file.sha256) {
      throw new UpdateError('CHECKSUM_MISMATCH', `${file.path} in ${slotDir} does not match the release manifest`, {
        details: { path: file.path, expected: file.sha256, actual: digest.sha256, size: digest.size },
      });
    }
  }
}
