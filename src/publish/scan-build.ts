/**
 * Reads a build folder into the file list of a release: every regular file, sorted
 * by path, with its mode reduced to 0644 or 0755. Symlinks and special files are
 * refused (a slot holds plain files only), as are paths that are unsafe on any OS.
 *
 * @module
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UpdateError } from '../errors.js';
import { checkPathSet } from '../manifest/paths.js';

export interface BuildFile {
  readonly path: string;
  readonly absolute: string;
  readonly size: number;
  readonly mode: 0o644 | 0o755;
}

export async function scanBuild(dir: string): Promise<BuildFile[]> {
  let top;
  try {
    top = await lstat(dir);
  } catch (err) {
    throw new UpdateError('INVALID_OPTIONS', `build folder ${dir} does not exist`, { cause: err });
  }
  if (!top.isDirectory()) throw new UpdateError('INVALID_OPTIONS', `${dir} is not a folder`);
  const files: BuildFile[] = [];
  const visit = async (rel: string): Promise<void> => {
    const entries = await readdir(rel ? join(dir, rel) : dir, { withFileTypes: true });
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const absolute = join(dir, path);
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile()) {
        const stat = await lstat(absolute);
        files.push({ path, absolute, size: stat.size, mode: stat.mode & 0o111 ? 0o755 : 0o644 });
      } else {
        throw new UpdateError('UNSAFE_PATH', `${absolute} is a symlink or special file; a release holds plain files only`, { details: { path } });
      }
    }
  };
  await visit('');
  if (files.length === 0) throw new UpdateError('INVALID_OPTIONS', `build folder ${dir} holds no files`);
  files.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  checkPathSet(files.map((f) => f.path), 'build folder');
  return files;
}
