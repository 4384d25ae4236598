/**
 * A {@link FileLike} over memory: the publisher checks every patch it makes by applying
 * it with the client's own applier, without a round trip through the disk.
 *
 * @module
 */
import type { FileLike, StatLike } from '../io/file-system.js';

export class MemoryFile implements FileLike {
  #bytes: Buffer;
  #length: number;

  /** A file holding `bytes` (shared, not copied), or an empty one that grows as it is written. */
  constructor(bytes?: Uint8Array) {
    this.#bytes = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.alloc(0);
    this.#length = this.#bytes.length;
  }

  /** The bytes written so far. */
  get contents(): Buffer {
    return this.#bytes.subarray(0, this.#length);
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const n = Math.max(0, Math.min(length, this.#length - position));
    buffer.set(this.#bytes.subarray(position, position + n), offset);
    return { bytesRead: n };
  }

  async write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    const end = position + length;
    if (end > this.#bytes.length) {
      const grown = Buffer.alloc(Math.max(end, this.#bytes.length * 2));
      this.#bytes.copy(grown, 0, 0, this.#length);
      this.#bytes = grown;
    }
    this.#bytes.set(buffer.subarray(offset, offset + length), position);
    this.#length = Math.max(this.#length, end);
    return { bytesWritten: length };
  }

  async stat(): Promise<StatLike> {
    const size = this.#length;
    return { size, mode: 0o100644, ino: 0, dev: 0, nlink: 1, isFile: () => true, isDirectory: () => false, isSymbolicLink: () => false };
  }

  async truncate(length: number): Promise<void> {
    this.#length = Math.min(this.#length, length);
  }

  async sync(): Promise<void> {}
  async chmod(): Promise<void> {}
  async close(): Promise<void> {}
}
