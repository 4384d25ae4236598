/**
 * Reading an exact range of a patch or old file, for the applier.
 *
 * @module
 */
import { readSync } from 'node:fs';
import type { FileLike } from '../io/file-system.js';

/**
 * Fills `into` from `position` of `file`; a file that ends first throws what `short()`
 * returns. Synchronously where the file has a descriptor: a read from the page cache
 * takes microseconds, a round trip through the thread pool tens of them.
 */
export async function readFully(file: FileLike, into: Buffer, position: number, short: () => Error): Promise<void> {
  const fd = (file as { fd?: unknown }).fd;
  let got = 0;
  while (got < into.length) {
    const bytesRead = typeof fd === 'number' ? readSync(fd, into, got, into.length - got, position + got) : (await file.read(into, got, into.length - got, position + got)).bytesRead;
    if (bytesRead === 0) throw short();
    got += bytesRead;
  }
}
