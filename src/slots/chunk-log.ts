/**
 * The done-map of a download: `<root>/staging/chunks.log`, one line per pack chunk
 * whose bytes were verified and written to staging.
 *
 * It is appended without fsync, on purpose. After a kill the page cache keeps both
 * the chunk bytes and the line; after a power cut either may be lost or stale. So a
 * logged chunk is only a candidate: before it is reused, its bytes are read back from
 * staging and hashed against the manifest, and a chunk that fails is fetched again.
 * Durability here would cost one fsync per chunk and buy nothing the re-check does not.
 *
 * @module
 */
import { fromFsError } from '../errors.js';
import { type FileLike, type FileSystem, isErrno } from '../io/file-system.js';
import { constants } from 'node:fs';

const APPEND_FLAGS = constants.O_WRONLY | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);

export class ChunkLog {
  readonly #file: FileLike;
  #size: number;

  private constructor(file: FileLike, size: number) {
    this.#file = file;
    this.#size = size;
  }

  /** The chunk indexes logged so far (a torn last line is ignored). */
  static async read(fs: FileSystem, path: string): Promise<Set<number>> {
    let text: string;
    try {
      text = (await fs.readFile(path)).toString('latin1');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return new Set();
      throw fromFsError(err, `reading ${path}`);
    }
    const out = new Set<number>();
    const lines = text.split('\n');
    lines.pop(); // the part after the last newline is torn or empty
    for (const line of lines) if (/^[0-9]{1,9}$/.test(line)) out.add(Number(line));
    return out;
  }

  static async open(fs: FileSystem, path: string): Promise<ChunkLog> {
    try {
      const file = await fs.open(path, APPEND_FLAGS, 0o600);
      return new ChunkLog(file, (await file.stat()).size);
    } catch (err) {
      throw fromFsError(err, `opening ${path}`);
    }
  }

  async record(index: number): Promise<void> {
    const line = Buffer.from(`${index}\n`, 'latin1');
    // Reserve the place before the await: connections record concurrently, and two
    // writes at the same offset would overwrite each other's lines.
    const at = this.#size;
    this.#size += line.length;
    try {
      await this.#file.write(line, 0, line.length, at);
    } catch (err) {
      throw fromFsError(err, 'writing the chunk log');
    }
  }

  async close(): Promise<void> {
    await this.#file.close().catch(() => undefined);
  }
}
