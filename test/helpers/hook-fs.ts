/**
 * The real file system (node:fs/promises through twinslot's own boundary) with a hook
 * called before every operation: a test can do a real rename or symlink at a precise
 * moment of an update (between "verified" and "used"), to show that twinslot notices.
 * Nothing is simulated; every operation still hits the disk.
 */
import { type FileLike, type FileSystem, nodeFileSystem } from '../../src/io/file-system.js';

export type FsOp = 'open' | 'write' | 'rename' | 'unlink' | 'mkdir' | 'readdir' | 'lstat' | 'readFile' | 'rmTree';
export type FsHook = (op: FsOp, path: string) => void | Promise<void>;

export function hookedFileSystem(hook: FsHook, base: FileSystem = nodeFileSystem): FileSystem {
  const wrap = (handle: FileLike, path: string): FileLike => ({
    read: (b, o, l, p) => handle.read(b, o, l, p),
    write: async (b, o, l, p) => {
      await hook('write', path);
      return handle.write(b, o, l, p);
    },
    sync: () => handle.sync(),
    stat: () => handle.stat(),
    truncate: (n) => handle.truncate(n),
    chmod: (m) => handle.chmod(m),
    close: () => handle.close(),
  });
  return {
    ...base,
    open: async (path, flags, mode) => {
      await hook('open', path);
      return wrap(await base.open(path, flags, mode), path);
    },
    readFile: async (path) => {
      await hook('readFile', path);
      return base.readFile(path);
    },
    rename: async (from, to) => {
      await hook('rename', from);
      return base.rename(from, to);
    },
    unlink: async (path) => {
      await hook('unlink', path);
      return base.unlink(path);
    },
    mkdir: async (path) => {
      await hook('mkdir', path);
      return base.mkdir(path);
    },
    readdir: async (path) => {
      await hook('readdir', path);
      return base.readdir(path);
    },
    lstat: async (path) => {
      await hook('lstat', path);
      return base.lstat(path);
    },
    rmTree: async (path) => {
      await hook('rmTree', path);
      return base.rmTree(path);
    },
  };
}
