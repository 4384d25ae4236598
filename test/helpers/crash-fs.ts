/**
 * A power-loss simulator behind twinslot's FileSystem boundary: an in-memory tree
 * under one mount path that keeps, for every file, the bytes written and the bytes
 * made durable by fsync, and for every directory, its entries and the entries made
 * durable by an fsync of the directory.
 *
 * `crashAt(n)` makes the n-th mutating operation fail and every later operation too
 * (the process is dead). `reboot(mode)` returns the tree as a power cut would leave it:
 *
 *   lose   nothing that was not fsynced survives (file data and directory entries)
 *   meta   directory entries survive (renames, creates, unlinks), file data only as
 *          far as it was fsynced: the "empty file after rename" of ext4 without
 *          auto_da_alloc, and what a missing fsync before a rename costs
 *   torn   as `lose`, but the file written last keeps the first half of its
 *          unsynced bytes (a torn write)
 *   all    everything survives (a process kill, not a power cut)
 *
 * A mutation can be injected: `skipSyncFrom(site)` turns every fsync issued from a
 * source location containing `site` into a no-op, to show that the fsync is needed.
 * `capacity` bounds the bytes all files may hold (ENOSPC beyond it).
 */
import { dirname } from 'node:path';
import type { DirEntryLike, FileLike, FileSystem, StatLike } from '../../src/io/file-system.js';

export type RebootMode = 'lose' | 'meta' | 'torn' | 'all';

interface FileNode {
  readonly kind: 'file';
  readonly id: number;
  data: Buffer;
  durable: Buffer;
  mode: number;
  durableMode: number;
}

interface DirNode {
  readonly kind: 'dir';
  readonly id: number;
  entries: Map<string, Node>;
  durable: Map<string, Node>;
}

type Node = FileNode | DirNode;

export class CrashError extends Error {
  constructor() {
    super('simulated power loss');
  }
}

function errno(code: string, what: string): Error {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}

export class CrashFs implements FileSystem {
  readonly mount: string;
  #root: DirNode;
  #nextId = 1;
  #ops = 0;
  #crashAt = Infinity;
  #crashed = false;
  #lastWritten: FileNode | null = null;
  #skipSites: string[] = [];
  /** Call sites (file:line) of every fsync seen. */
  readonly syncSites = new Set<string>();
  capacity = Infinity;

  constructor(mount: string, root?: DirNode, nextId = 1) {
    this.mount = mount.replace(/\/+$/, '');
    this.#nextId = nextId;
    this.#root = root ?? this.#dir();
  }

  /** Mutating operations so far. */
  get ops(): number {
    return this.#ops;
  }

  get crashed(): boolean {
    return this.#crashed;
  }

  crashAt(op: number): void {
    this.#crashAt = op;
  }

  skipSyncFrom(site: string | null): void {
    this.#skipSites = site ? [site] : [];
  }

  /** The tree after a power cut in `mode`, as a new file system (crash points cleared). */
  reboot(mode: RebootMode): CrashFs {
    const copies = new Map<number, Node>();
    const copy = (node: Node): Node => {
      const seen = copies.get(node.id);
      if (seen) return seen;
      if (node.kind === 'file') {
        let data: Buffer;
        if (mode === 'all') data = Buffer.from(node.data);
        else if (mode === 'torn' && node === this.#lastWritten && !node.data.equals(node.durable)) {
          data = Buffer.from(node.data.subarray(0, Math.max(node.durable.length, Math.floor(node.data.length / 2))));
          node.durable.copy(data, 0, 0, Math.min(node.durable.length, data.length));
        } else data = Buffer.from(node.durable);
        const mode_ = mode === 'all' ? node.mode : node.durableMode;
        const out: FileNode = { kind: 'file', id: node.id, data, durable: Buffer.from(data), mode: mode_, durableMode: mode_ };
        copies.set(node.id, out);
        return out;
      }
      const out: DirNode = { kind: 'dir', id: node.id, entries: new Map(), durable: new Map() };
      copies.set(node.id, out);
      const source = mode === 'all' || mode === 'meta' ? node.entries : node.durable;
      for (const [name, child] of source) {
        const c = copy(child);
        out.entries.set(name, c);
        out.durable.set(name, c);
      }
      return out;
    };
    return new CrashFs(this.mount, copy(this.#root) as DirNode, this.#nextId);
  }

  /** path -> bytes of every file (for assertions). */
  files(): Map<string, { data: Buffer; mode: number }> {
    const out = new Map<string, { data: Buffer; mode: number }>();
    const walk = (dir: DirNode, prefix: string): void => {
      for (const [name, node] of dir.entries) {
        const path = prefix ? `${prefix}/${name}` : name;
        if (node.kind === 'dir') walk(node, path);
        else out.set(path, { data: node.data, mode: node.mode });
      }
    };
    walk(this.#root, '');
    return out;
  }

  // FileSystem

  async open(path: string, flags: number, mode = 0o644): Promise<FileLike> {
    const creating = (flags & 0o100) !== 0; // O_CREAT
    const truncating = (flags & 0o1000) !== 0; // O_TRUNC
    const writing = (flags & 3) !== 0;
    if (creating || truncating) this.#tick();
    else this.#alive();
    const [parent, name] = this.#parent(path);
    let node = parent.entries.get(name);
    if (!node) {
      if (!creating) throw errno('ENOENT', path);
      node = { kind: 'file', id: this.#nextId++, data: Buffer.alloc(0), durable: Buffer.alloc(0), mode: mode & 0o777, durableMode: mode & 0o777 };
      parent.entries.set(name, node);
    } else if (node.kind === 'dir') {
      if (writing) throw errno('EISDIR', path);
    } else if (truncating) {
      node.data = Buffer.alloc(0);
    }
    return this.#handle(node);
  }

  async readFile(path: string): Promise<Buffer> {
    this.#alive();
    const node = this.#lookup(path);
    if (node.kind === 'dir') throw errno('EISDIR', path);
    return Buffer.from(node.data);
  }

  async rename(from: string, to: string): Promise<void> {
    this.#tick();
    const [fromParent, fromName] = this.#parent(from);
    const node = fromParent.entries.get(fromName);
    if (!node) throw errno('ENOENT', from);
    const [toParent, toName] = this.#parent(to);
    const target = toParent.entries.get(toName);
    if (target?.kind === 'dir' && target.entries.size > 0) throw errno('ENOTEMPTY', to);
    fromParent.entries.delete(fromName);
    toParent.entries.set(toName, node);
  }

  async unlink(path: string): Promise<void> {
    this.#tick();
    const [parent, name] = this.#parent(path);
    const node = parent.entries.get(name);
    if (!node) throw errno('ENOENT', path);
    if (node.kind === 'dir') throw errno('EISDIR', path);
    parent.entries.delete(name);
  }

  async mkdir(path: string): Promise<void> {
    this.#tick();
    const [parent, name] = this.#parent(path);
    if (parent.entries.has(name)) throw errno('EEXIST', path);
    parent.entries.set(name, this.#dir());
  }

  async rmdir(path: string): Promise<void> {
    this.#tick();
    const [parent, name] = this.#parent(path);
    const node = parent.entries.get(name);
    if (!node) throw errno('ENOENT', path);
    if (node.kind !== 'dir') throw errno('ENOTDIR', path);
    if (node.entries.size > 0) throw errno('ENOTEMPTY', path);
    parent.entries.delete(name);
  }

  async rmTree(path: string): Promise<void> {
    this.#tick();
    let parent: DirNode;
    let name: string;
    try {
      [parent, name] = this.#parent(path);
    } catch {
      return;
    }
    parent.entries.delete(name);
  }

  async readdir(path: string): Promise<DirEntryLike[]> {
    this.#alive();
    const node = this.#lookup(path);
    if (node.kind !== 'dir') throw errno('ENOTDIR', path);
    return [...node.entries].map(([name, child]) => ({
      name,
      isFile: () => child.kind === 'file',
      isDirectory: () => child.kind === 'dir',
      isSymbolicLink: () => false,
    }));
  }

  async lstat(path: string): Promise<StatLike> {
    this.#alive();
    return this.#stat(this.#lookup(path));
  }

  async stat(path: string): Promise<StatLike> {
    return this.lstat(path);
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.#tick();
    const node = this.#lookup(path);
    if (node.kind === 'file') node.mode = mode & 0o777;
  }

  async syncDir(path: string): Promise<void> {
    this.#tick();
    const node = this.#lookup(path);
    if (node.kind !== 'dir') throw errno('ENOTDIR', path);
    if (this.#skipped()) return;
    node.durable = new Map(node.entries);
  }

  async copyFile(from: string, to: string): Promise<void> {
    this.#tick();
    const source = this.#lookup(from);
    if (source.kind !== 'file') throw errno('EISDIR', from);
    const [parent, name] = this.#parent(to);
    this.#reserve(source.data.length);
    const node: FileNode = { kind: 'file', id: this.#nextId++, data: Buffer.from(source.data), durable: Buffer.alloc(0), mode: source.mode, durableMode: source.mode };
    parent.entries.set(name, node);
    this.#lastWritten = node;
  }

  // internals

  #handle(node: Node): FileLike {
    const self = this;
    const file = (): FileNode => {
      if (node.kind !== 'file') throw errno('EISDIR', 'directory handle');
      return node;
    };
    return {
      async read(buffer, offset, length, position) {
        self.#alive();
        const f = file();
        const n = Math.max(0, Math.min(length, f.data.length - position));
        f.data.copy(buffer, offset, position, position + n);
        return { bytesRead: n };
      },
      async write(buffer, offset, length, position) {
        self.#tick();
        const f = file();
        const end = position + length;
        if (end > f.data.length) {
          self.#reserve(end - f.data.length);
          const grown = Buffer.alloc(end);
          f.data.copy(grown);
          f.data = grown;
        }
        Buffer.from(buffer.buffer, buffer.byteOffset + offset, length).copy(f.data, position);
        self.#lastWritten = f;
        return { bytesWritten: length };
      },
      async sync() {
        self.#tick();
        if (node.kind !== 'file' || self.#skipped()) return;
        node.durable = Buffer.from(node.data);
        node.durableMode = node.mode;
      },
      async stat() {
        self.#alive();
        return self.#stat(node);
      },
      async truncate(length) {
        self.#tick();
        const f = file();
        if (length > f.data.length) self.#reserve(length - f.data.length);
        const next = Buffer.alloc(length);
        f.data.copy(next, 0, 0, Math.min(length, f.data.length));
        f.data = next;
      },
      async chmod(mode) {
        self.#tick();
        file().mode = mode & 0o777;
      },
      async close() {
        // Closing changes nothing durable; a dead process closes nothing either.
      },
    };
  }

  #stat(node: Node): StatLike {
    const size = node.kind === 'file' ? node.data.length : 4096;
    const mode = node.kind === 'file' ? 0o100000 | node.mode : 0o40755;
    return { size, mode, ino: node.id, dev: 1, nlink: 1, isFile: () => node.kind === 'file', isDirectory: () => node.kind === 'dir', isSymbolicLink: () => false };
  }

  #dir(): DirNode {
    return { kind: 'dir', id: this.#nextId++, entries: new Map(), durable: new Map() };
  }

  #parts(path: string): string[] {
    if (path !== this.mount && !path.startsWith(this.mount + '/')) throw new Error(`CrashFs: ${path} is outside ${this.mount}`);
    return path
      .slice(this.mount.length)
      .split('/')
      .filter((p) => p !== '' && p !== '.');
  }

  #lookup(path: string): Node {
    let node: Node = this.#root;
    for (const part of this.#parts(path)) {
      if (node.kind !== 'dir') throw errno('ENOTDIR', path);
      const next: Node | undefined = node.entries.get(part);
      if (!next) throw errno('ENOENT', path);
      node = next;
    }
    return node;
  }

  #parent(path: string): [DirNode, string] {
    const parts = this.#parts(path);
    const name = parts.pop();
    if (name === undefined) throw errno('EBUSY', path);
    const parent = this.#lookup(parts.length ? `${this.mount}/${parts.join('/')}` : this.mount);
    if (parent.kind !== 'dir') throw errno('ENOTDIR', dirname(path));
    return [parent, name];
  }

  #reserve(bytes: number): void {
    if (this.capacity === Infinity) return;
    let used = 0;
    for (const f of this.files().values()) used += f.data.length;
    if (used + bytes > this.capacity) throw errno('ENOSPC', 'no space left on device');
  }

  #skipped(): boolean {
    const stack = new Error().stack ?? '';
    const frame = stack.split('\n').find((line) => line.includes('/src/') && !line.includes('/io/file-system'));
    const site = frame ? (/\/src\/[^):]+:\d+/.exec(frame)?.[0] ?? 'unknown') : 'unknown';
    this.syncSites.add(site);
    return this.#skipSites.some((s) => site.includes(s));
  }

  #alive(): void {
    if (this.#crashed) throw new CrashError();
  }

  #tick(): void {
    this.#alive();
    this.#ops++;
    if (this.#ops >= this.#crashAt) {
      this.#crashed = true;
      throw new CrashError();
    }
  }
}
