/**
 * The file-system boundary. Slot, staging and journal code do every file operation
 * through this interface, so tests can drive the real code through a crash simulator
 * that drops writes which were never fsynced (test/chaos), or a disk that fills up.
 *
 * @module
 */
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';

/** An open file: the part of node's FileHandle twinslot uses. */
export interface FileLike {
  /** Reads up to `length` bytes at file position `position` into `buffer` at `offset`. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{
    /** Bytes read; 0 at the end of the file. */
    bytesRead: number;
  }>;
  /** Writes `length` bytes of `buffer` from `offset` at file position `position`. */
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{
    /** Bytes written. */
    bytesWritten: number;
  }>;
  /** fsync: the file's data and metadata reach the disk. */
  sync(): Promise<void>;
  /** The open file's metadata. */
  stat(): Promise<StatLike>;
  /** Cuts or extends the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  /** Sets the permission bits. */
  chmod(mode: number): Promise<void>;
  /** Closes the handle. */
  close(): Promise<void>;
}

/** The part of fs.Stats twinslot uses. */
export interface StatLike {
  /** Size in bytes. */
  size: number;
  /** File type and permission bits. */
  mode: number;
  /** Inode number (with `dev`, tells whether two paths are the same file). */
  ino: number;
  /** Device id. */
  dev: number;
  /** Number of hard links. */
  nlink: number;
  /** True for a regular file. */
  isFile(): boolean;
  /** True for a directory. */
  isDirectory(): boolean;
  /** True for a symbolic link (only `lstat` reports one). */
  isSymbolicLink(): boolean;
}

/** A directory entry. */
export interface DirEntryLike {
  /** The entry's name (not a path). */
  name: string;
  /** True for a regular file. */
  isFile(): boolean;
  /** True for a directory. */
  isDirectory(): boolean;
  /** True for a symbolic link. */
  isSymbolicLink(): boolean;
}

/** File operations, all async, all with node's semantics. */
export interface FileSystem {
  /** `flags` as in fs.open; twinslot adds O_NOFOLLOW where the platform has it. */
  open(path: string, flags: number, mode?: number): Promise<FileLike>;
  /** Reads a whole file. */
  readFile(path: string): Promise<Buffer>;
  /** Atomically replaces `to` with `from`. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or link. */
  unlink(path: string): Promise<void>;
  /** Creates one directory (not its parents). */
  mkdir(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Recursive delete that never follows symlinks; no error when absent. */
  rmTree(path: string): Promise<void>;
  /** A directory's entries. */
  readdir(path: string): Promise<DirEntryLike[]>;
  /** Metadata of the path itself, links not followed. */
  lstat(path: string): Promise<StatLike>;
  /** Metadata of what the path points to. */
  stat(path: string): Promise<StatLike>;
  /** Sets permission bits. */
  chmod(path: string, mode: number): Promise<void>;
  /** Makes a directory's entries (creates, renames, unlinks) durable. */
  syncDir(path: string): Promise<void>;
  /** Copies a file; may share blocks (reflink) where the file system can. */
  copyFile(from: string, to: string): Promise<void>;
}

/** Open flags twinslot uses; O_NOFOLLOW is 0 where the platform has none. */
export const OPEN = {
  read: constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0),
  create: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0),
  readWriteCreate: constants.O_RDWR | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0),
  /** A new file only: fails if anything (a planted link included) is already there. */
  createNew: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
} as const;

/** The real file system (node:fs/promises). */
export const nodeFileSystem: FileSystem = {
  open: (path, flags, mode) => fsp.open(path, flags, mode) as Promise<FileLike>,
  readFile: (path) => fsp.readFile(path),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  mkdir: async (path) => {
    await fsp.mkdir(path);
  },
  rmdir: (path) => fsp.rmdir(path),
  rmTree: (path) => fsp.rm(path, { recursive: true, force: true }),
  readdir: (path) => fsp.readdir(path, { withFileTypes: true }),
  lstat: (path) => fsp.lstat(path),
  stat: (path) => fsp.stat(path),
  chmod: (path, mode) => fsp.chmod(path, mode),
  syncDir: async (path) => {
    // Windows cannot open a directory for fsync; its renames are journaled by NTFS.
    if (process.platform === 'win32') return;
    const handle = await fsp.open(path, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  copyFile: (from, to) => fsp.copyFile(from, to, constants.COPYFILE_FICLONE),
};

/** True when `err` is a node error with errno code `code`. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
