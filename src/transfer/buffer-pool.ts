/**
 * Chunk buffers reused across the runs of one download, so a connection streams a
 * whole pack through the same memory instead of allocating a chunk-sized buffer per
 * chunk (which the garbage collector only gives back in large, late batches).
 *
 * @module
 */
export class BufferPool {
  readonly #size: number;
  readonly #max: number;
  readonly #free: Buffer[] = [];

  /** Buffers of `size` bytes; at most `max` idle ones are kept. */
  constructor(size: number, max: number) {
    this.#size = size;
    this.#max = max;
  }

  /** A buffer of the pool's size (contents undefined). */
  acquire(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#size);
  }

  release(buffer: Buffer): void {
    if (buffer.length === this.#size && this.#free.length < this.#max && !this.#free.includes(buffer)) this.#free.push(buffer);
  }
}
