/**
 * Builds the pack blob: the files of a build concatenated in list order, hashed in one
 * pass per file, per chunk and whole, and stored content-addressed under
 * `<feed>/blobs/sha256/<hex>`.
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UpdateError } from '../errors.js';
import type { Pack, ReleaseFile } from '../manifest/release.js';
import type { BuildFile } from './scan-build.js';

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export interface BuiltPack {
  readonly pack: Pack;
  readonly files: ReleaseFile[];
}

export async function buildPack(
  feedDir: string,
  build: readonly BuildFile[],
  chunkSize = DEFAULT_CHUNK_SIZE,
  onProgress?: (done: number, total: number) => void,
): Promise<BuiltPack> {
  const blobsDir = join(feedDir, 'blobs', 'sha256');
  await mkdir(blobsDir, { recursive: true });
  const temp = join(blobsDir, `.pack-${process.pid}-${Date.now()}.tmp`);
  const out = await open(temp, 'w', 0o644);
  const total = build.reduce((sum, f) => sum + f.size, 0);
  const whole = createHash('sha256');
  const chunks: string[] = [];
  let chunkHash: Hash = createHash('sha256');
  let chunkFill = 0;
  let offset = 0;
  const files: ReleaseFile[] = [];
  try {
    for (const file of build) {
      const fileHash = createHash('sha256');
      let size = 0;
      for await (const piece of createReadStream(file.absolute, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        fileHash.update(piece);
        whole.update(piece);
        let pos = 0;
        while (pos < piece.length) {
          const take = Math.min(piece.length - pos, chunkSize - chunkFill);
          chunkHash.update(piece.subarray(pos, pos + take));
          chunkFill += take;
          pos += take;
          if (chunkFill === chunkSize) {
            chunks.push(chunkHash.digest('hex'));
            chunkHash = createHash('sha256');
            chunkFill = 0;
          }
        }
        await out.write(piece, 0, piece.length, offset + size);
        size += piece.length;
        onProgress?.(offset + size, total);
      }
      if (size !== file.size) throw new UpdateError('IO', `${file.absolute} changed size while it was packed`);
      files.push({ path: file.path, size, mode: file.mode, sha256: fileHash.digest('hex'), offset });
      offset += size;
    }
    if (chunkFill > 0) chunks.push(chunkHash.digest('hex'));
    await out.sync();
  } catch (err) {
    await out.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await out.close();
  const sha256 = whole.digest('hex');
  const final = join(blobsDir, sha256);
  const existing = await stat(final).catch(() => null);
  if (existing?.size === offset) await rm(temp, { force: true });
  else await rename(temp, final);
  return { pack: { sha256, size: offset, chunkSize, chunks }, files };
}
