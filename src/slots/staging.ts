/**
 * The staging area: builds the files of the next release in `<root>/staging/files/`
 * from verified pack chunks, copies out of the active slot and checked keeps, then
 * moves them into the inactive slot.
 *
 * Why a separate staging directory inside the root: it is on the same file system as
 * the slots, so finished files enter the slot by rename, never by a second copy, and
 * a kill leaves only staging debris that the next run resumes or discards.
 *
 * A file's SHA-256 is computed while its bytes are written when they arrive in order
 * (one stream, or one connection's range). A file whose bytes all arrived in this run
 * as chunks verified against the signed manifest, but out of order, is accepted on
 * those chunk hashes: they cover every byte, and re-reading hundreds of MiB to hash
 * them again would cost as much as the download. Only a file with bytes from before a
 * restart is hashed again from staging. Either way installUpdate re-checks the whole
 * tree against the manifest before the switch.
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { UpdateError, fromFsError } from '../errors.js';
import { type FileLike, type FileSystem, OPEN, isErrno } from '../io/file-system.js';
import type { ReleaseFile } from '../manifest/release.js';
import { hashFile } from './hash-file.js';
import { walkTree } from './verify-tree.js';

interface FileProgress {
  readonly index: number;
  readonly file: ReleaseFile;
  written: number;
  hashedTo: number;
  hash: Hash | null;
  /** Every byte so far came from a chunk verified in this run (none from an earlier run). */
  chunkVerified: boolean;
  handle: FileLike | null;
  /** The open in progress, shared by concurrent writers so one file gets one handle. */
  opening: Promise<FileLike> | null;
  /** Writes in flight on `handle`; a busy handle is never closed to make room. */
  busy: number;
  done: boolean;
}

const MAX_OPEN_FILES = 32;

export class StagingArea {
  readonly #fs: FileSystem;
  readonly #filesDir: string;
  readonly #pending = new Map<number, FileProgress>();
  readonly #files: readonly ReleaseFile[];
  #byOffset: FileProgress[] = [];
  #kept: ReadonlyMap<number, string> = new Map();
  readonly #staged = new Map<string, number>();
  #open: FileProgress[] = [];
  readonly #stagingDir: string;
  /** Identity (dev:ino) of `staging/` and `staging/files/` when first checked. */
  #identity: string | null = null;

  /**
   * @param stagingDir `<root>/staging`
   * @param files all files of the target release, in manifest order (index = position)
   */
  constructor(fs: FileSystem, stagingDir: string, files: readonly ReleaseFile[]) {
    this.#fs = fs;
    this.#files = files;
    this.#stagingDir = stagingDir;
    this.#filesDir = join(stagingDir, 'files');
  }

  /**
   * Throws `UNSAFE_PATH` unless `staging/` and `staging/files/` are still the real
   * directories first seen here: not symlinks, not swapped for other directories.
   * Called before every open of a path in staging and before the move into the slot,
   * because O_NOFOLLOW guards only the last component of a path: a staging directory
   * swapped for a symlink would otherwise carry new files outside the root. (Node has
   * no openat(); a swap between this check and the open remains possible, and the
   * re-check of the slot before the switch is what catches a file brought in that way.)
   */
  async guard(): Promise<void> {
    const ids: string[] = [];
    for (const dir of [this.#stagingDir, this.#filesDir]) {
      let stat;
      try {
        stat = await this.#fs.lstat(dir);
      } catch (err) {
        throw fromFsError(err, `checking ${dir}`);
      }
      if (!stat.isDirectory()) throw new UpdateError('UNSAFE_PATH', `${dir} is no longer a directory (a symlink?)`, { details: { path: dir } });
      ids.push(`${stat.dev}:${stat.ino}`);
    }
    const identity = ids.join('/');
    if (this.#identity === null) this.#identity = identity;
    else if (this.#identity !== identity) throw new UpdateError('UNSAFE_PATH', `${this.#stagingDir} was replaced during the update`, { details: { path: this.#stagingDir } });
  }

  /** Names the files (by index) whose bytes will come from the pack. Call once, before {@link prepare}. */
  expectFromPack(indexes: readonly number[]): void {
    for (const index of indexes) {
      const file = this.#files[index]!;
      this.#pending.set(index, { index, file, written: 0, hashedTo: 0, hash: createHash('sha256'), chunkVerified: true, handle: null, opening: null, busy: 0, done: false });
    }
    this.#byOffset = [...this.#pending.values()].sort((x, y) => x.file.offset - y.file.offset);
  }

  /** Creates the staging directories. */
  async prepare(): Promise<void> {
    for (const dir of [dirname(this.#filesDir), this.#filesDir]) {
      try {
        await this.#fs.mkdir(dir);
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw fromFsError(err, `creating ${dir}`);
        const stat = await this.#fs.lstat(dir);
        if (!stat.isDirectory()) throw new UpdateError('UNSAFE_PATH', `${dir} is not a directory`);
      }
    }
    await this.guard();
    // Empty files have no chunk to bring them into existence.
    for (const p of this.#byOffset) if (p.file.size === 0) await this.#finish(p);
  }

  tempPath(index: number): string {
    return join(this.#filesDir, String(index));
  }

  /**
   * Marks bytes of the pack as already present in staging from an earlier run (a
   * resumed download). Their files will be hashed again from disk when complete.
   */
  notePresent(offset: number, length: number): void {
    for (const p of this.#overlapping(offset, length)) {
      if (p.done) continue;
      const start = Math.max(offset, p.file.offset);
      const end = Math.min(offset + length, p.file.offset + p.file.size);
      p.written += end - start;
      p.hash = null;
      p.chunkVerified = false;
    }
  }

  /** Files kept in place in the slot: where their bytes are, by index (for re-verifying resumed chunks). */
  setKeptFiles(paths: ReadonlyMap<number, string>): void {
    this.#kept = paths;
  }

  /**
   * Reads pack bytes [offset, offset+length) back from what this run holds (fetched
   * and copied files in staging, kept files in the slot), or null when some of them
   * are nowhere yet.
   */
  async readPackRange(offset: number, length: number, into?: Buffer): Promise<Buffer | null> {
    // A resume reads back every logged chunk: one reused buffer instead of one per chunk.
    const out = into && into.length >= length ? into.subarray(0, length) : Buffer.alloc(length);
    const end = offset + length;
    // Files are in pack order: binary search for the first one ending after `offset`.
    let lo = 0;
    let hi = this.#files.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const f = this.#files[mid]!;
      if (f.offset + f.size <= offset) lo = mid + 1;
      else hi = mid;
    }
    for (let index = lo; index < this.#files.length && this.#files[index]!.offset < end; index++) {
      const file = this.#files[index]!;
      if (file.size === 0) continue;
      const source = this.#pending.has(index) || this.#staged.get(file.path) === index ? this.tempPath(index) : this.#kept.get(index);
      if (source === undefined) return null;
      const start = Math.max(offset, file.offset);
      const stop = Math.min(end, file.offset + file.size);
      try {
        const handle = await this.#fs.open(source, OPEN.read);
        try {
          const { bytesRead } = await handle.read(out, start - offset, stop - start, start - file.offset);
          if (bytesRead !== stop - start) return null;
        } finally {
          await handle.close();
        }
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return null;
        throw fromFsError(err, `reading ${source}`);
      }
    }
    return out;
  }

  /** Forgets every pack byte written so far (the blob changed on the server): files are rewritten from scratch. */
  async restartPack(): Promise<void> {
    await this.dispose();
    for (const p of this.#byOffset) {
      p.written = 0;
      p.hashedTo = 0;
      p.hash = createHash('sha256');
      p.chunkVerified = true;
      p.done = false;
      this.#staged.delete(p.file.path);
    }
    for (const p of this.#byOffset) if (p.file.size === 0) await this.#finish(p);
  }

  /** Finishes (verifies, fsyncs) every file whose bytes are all present from an earlier run. */
  async finishPresent(): Promise<void> {
    for (const p of this.#byOffset) if (!p.done && p.file.size > 0 && p.written >= p.file.size) await this.#finish(p);
  }

  /**
   * Writes pack bytes at pack position `offset` into the files they belong to. The
   * caller guarantees they were verified against the manifest's chunk hashes.
   */
  async writePackBytes(offset: number, bytes: Uint8Array): Promise<void> {
    for (const p of this.#overlapping(offset, bytes.length)) {
      if (p.done) continue;
      const start = Math.max(offset, p.file.offset);
      const end = Math.min(offset + bytes.length, p.file.offset + p.file.size);
      const slice = bytes.subarray(start - offset, end - offset);
      const position = start - p.file.offset;
      p.busy++;
      try {
        const handle = await this.#handle(p);
        let done = 0;
        while (done < slice.length) {
          const { bytesWritten } = await handle.write(slice, done, slice.length - done, position + done);
          done += bytesWritten;
        }
      } catch (err) {
        throw err instanceof UpdateError ? err : fromFsError(err, `writing ${this.tempPath(p.index)}`);
      } finally {
        p.busy--;
      }
      if (p.hash && position === p.hashedTo) {
        p.hash.update(slice);
        p.hashedTo += slice.length;
      } else {
        p.hash = null;
      }
      p.written += slice.length;
      if (p.written >= p.file.size) await this.#finish(p);
    }
  }

  /** Copies a file's bytes from `source` (the active slot), hashing as it goes. */
  async copyFrom(index: number, file: ReleaseFile, source: string): Promise<boolean> {
    const temp = this.tempPath(index);
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    let size = 0;
    await this.guard();
    try {
      // A fresh file: whatever is at `temp` (a link planted there) is unlinked, never written through.
      await this.#fs.unlink(temp).catch((err: unknown) => {
        if (!isErrno(err, 'ENOENT')) throw err;
      });
      const input = await this.#fs.open(source, OPEN.read);
      try {
        const output = await this.#fs.open(temp, OPEN.createNew, 0o600);
        try {
          for (;;) {
            const { bytesRead } = await input.read(buffer, 0, buffer.length, size);
            if (bytesRead === 0) break;
            const chunk = buffer.subarray(0, bytesRead);
            hash.update(chunk);
            let done = 0;
            while (done < bytesRead) done += (await output.write(chunk, done, bytesRead - done, size + done)).bytesWritten;
            size += bytesRead;
            if (size > file.size) break;
          }
          if (size !== file.size || hash.digest('hex') !== file.sha256) return false;
          await output.chmod(file.mode);
          await output.sync();
        } finally {
          await output.close();
        }
      } finally {
        await input.close();
      }
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ELOOP')) return false;
      throw fromFsError(err, `copying ${source}`);
    }
    this.#staged.set(file.path, index);
    return true;
  }

  /** Takes a file another step wrote to {@link tempPath} and verified (a patched file) as staged. */
  adoptFile(index: number, file: ReleaseFile): void {
    this.#staged.set(file.path, index);
  }

  /** True once every pack-fed file is complete and verified. */
  get complete(): boolean {
    return [...this.#pending.values()].every((p) => p.done);
  }

  /** Closes open files (after a failure or abort); staging stays for a resume. */
  async dispose(): Promise<void> {
    for (const p of this.#open) await p.handle?.close().catch(() => undefined);
    for (const p of this.#open) p.handle = null;
    this.#open = [];
  }

  /**
   * Moves every staged file into `slotDir`, keeping the files listed in `keep`, and
   * deletes everything else there (symlinks included, never followed). Directories
   * are fsynced so the new entries survive power loss.
   */
  async moveInto(slotDir: string, targets: readonly ReleaseFile[], keep: ReadonlySet<string>): Promise<void> {
    if (!this.complete) throw new UpdateError('INVALID_STATE', 'staging is not complete');
    const wantedDirs = new Set<string>();
    for (const f of targets) {
      const parts = f.path.split('/');
      for (let i = 1; i < parts.length; i++) wantedDirs.add(parts.slice(0, i).join('/'));
    }
    await this.#ensureDir(slotDir);
    await this.guard();
    const tree = await walkTree(this.#fs, slotDir);
    try {
      for (const path of tree.others) await this.#fs.unlink(join(slotDir, path));
      for (const path of tree.files) {
        if (!keep.has(path)) await this.#fs.unlink(join(slotDir, path));
      }
      for (const path of tree.dirs.sort().reverse()) {
        if (!wantedDirs.has(path)) await this.#fs.rmTree(join(slotDir, path));
      }
      for (const dir of [...wantedDirs].sort()) await this.#ensureDir(join(slotDir, dir));
      for (const file of targets) {
        const index = this.#staged.get(file.path);
        if (index === undefined) {
          if (!keep.has(file.path)) throw new UpdateError('INVALID_STATE', `${file.path} was neither staged nor kept`);
          continue;
        }
        await this.#fs.rename(this.tempPath(index), join(slotDir, file.path));
      }
      for (const dir of [...wantedDirs].sort().reverse()) await this.#fs.syncDir(join(slotDir, dir));
      await this.#fs.syncDir(slotDir);
      // The slot's own entry in slots/ is made durable by the next step, which writes
      // slots/<slot>.json atomically (fsyncing slots/) before the journal says staged.
      // test/chaos/power-loss shows every fsync here is needed, and this one was not.
    } catch (err) {
      throw fromFsError(err, `moving staged files into ${slotDir}`);
    }
  }

  #overlapping(offset: number, length: number): FileProgress[] {
    const end = offset + length;
    const out: FileProgress[] = [];
    // Binary search for the first file that ends after `offset`.
    let lo = 0;
    let hi = this.#byOffset.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const f = this.#byOffset[mid]!.file;
      if (f.offset + f.size <= offset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#byOffset.length; i++) {
      const p = this.#byOffset[i]!;
      if (p.file.offset >= end) break;
      if (p.file.size > 0) out.push(p);
    }
    return out;
  }

  async #handle(p: FileProgress): Promise<FileLike> {
    if (p.handle) return p.handle;
    if (p.opening) return p.opening;
    p.opening = this.#openHandle(p);
    try {
      return await p.opening;
    } finally {
      p.opening = null;
    }
  }

  async #openHandle(p: FileProgress): Promise<FileLike> {
    if (this.#open.length >= MAX_OPEN_FILES) {
      // Close the least recently opened idle file; with every file busy, go over the cap briefly.
      const idle = this.#open.findIndex((q) => q.busy === 0);
      if (idle >= 0) {
        const [oldest] = this.#open.splice(idle, 1);
        const handle = oldest!.handle;
        oldest!.handle = null;
        await handle?.close().catch(() => undefined);
      }
    }
    await this.guard();
    let handle: FileLike;
    try {
      handle = await this.#fs.open(this.tempPath(p.index), OPEN.readWriteCreate, 0o600);
    } catch (err) {
      throw fromFsError(err, `opening ${this.tempPath(p.index)}`);
    }
    // A partial file from an earlier run is written in place: it must be ours alone, not
    // a hardlink to a file elsewhere that the writes would change.
    const stat = await handle.stat().catch(async (err: unknown) => {
      await handle.close().catch(() => undefined);
      throw fromFsError(err, `checking ${this.tempPath(p.index)}`);
    });
    if (!stat.isFile() || stat.nlink !== 1) {
      await handle.close().catch(() => undefined);
      throw new UpdateError('UNSAFE_PATH', `${this.tempPath(p.index)} is not a plain file of its own (a hardlink?)`, { details: { path: this.tempPath(p.index) } });
    }
    p.handle = handle;
    this.#open.push(p);
    return handle;
  }

  async #finish(p: FileProgress): Promise<void> {
    const temp = this.tempPath(p.index);
    p.busy++;
    try {
      const handle = await this.#handle(p);
      await handle.truncate(p.file.size);
      await handle.chmod(p.file.mode);
      await handle.sync();
    } catch (err) {
      throw err instanceof UpdateError ? err : fromFsError(err, `finishing ${temp}`);
    } finally {
      p.busy--;
      const handle = p.handle;
      p.handle = null;
      this.#open = this.#open.filter((q) => q !== p);
      await handle?.close().catch(() => undefined);
    }
    let sha256: string;
    if (p.hash && p.hashedTo === p.file.size) sha256 = p.hash.digest('hex');
    else if (p.chunkVerified) sha256 = p.file.sha256;
    else sha256 = (await hashFile(this.#fs, temp, p.file.size)).sha256;
    if (sha256 !== p.file.sha256) {
      throw new UpdateError('CHECKSUM_MISMATCH', `${p.file.path} does not match its SHA-256 after download`, {
        details: { path: p.file.path, expected: p.file.sha256, actual: sha256 },
      });
    }
    p.done = true;
    this.#staged.set(p.file.path, p.index);
  }

  async #ensureDir(path: string): Promise<void> {
    try {
      const stat = await this.#fs.lstat(path);
      if (stat.isDirectory()) return;
      await this.#fs.unlink(path);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw fromFsError(err, `checking ${path}`);
    }
    try {
      await this.#fs.mkdir(path);
    } catch (err) {
      throw fromFsError(err, `creating ${path}`);
    }
  }
}
