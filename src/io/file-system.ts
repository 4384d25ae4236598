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
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  stat(): Promise<StatLike>;
  truncate(length: number): Promise<void>;
  chmod(mode: number): Promise<void>;
  close(): Promise<void>;
}

/** The part of fs.Stats twinslot uses. */
export interface StatLike {
  size: number;
  mode: number;
  ino: number;
  dev: number;
  nlink: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** A directory entry. */
export interface DirEntryLike {
  name: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** File operations, all async, all with node's semantics. */
export interface FileSystem {
  /** `flags` as in fs.open; twinslot adds O_NOFOLLOW where the platform has it. */
  open(path: string, flags: number, mode?: number): Promise<FileLike>;
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** Recursive delete that never follows symlinks; no error when absent. */
  rmTree(path: string): Promise<void>;
  readdir(path: string): Promise<DirEntryLike[]>;
  lstat(path: string): Promise<StatLike>;
  stat(path: string): Promise<StatLike>;
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
