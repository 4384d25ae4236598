/**
 * bsdiff's matches, for the publisher. bsdiff-node (a native module, loaded only here,
 * only when a release makes patches) writes a classic BSDIFF40 patch; we keep only its
 * control block, decoded with seek-bzip (pure JavaScript), and rebuild the delta and
 * extra bytes from the two files ourselves (see encode.ts).
 *
 * BSDIFF40: "BSDIFF40", then three 8-byte sign-magnitude little-endian integers (the
 * bzip2'd control block's length, the bzip2'd diff block's length, the new size), then
 * the control block: triples of those integers.
 *
 * @module
 */
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { UpdateError } from '../errors.js';
import type { ControlTriple } from './encode.js';

interface BsdiffModule {
  diff(oldFile: string, newFile: string, patchFile: string, progress?: (percent: number) => void): Promise<void>;
  diffSync?(oldFile: string, newFile: string, patchFile: string): void;
}
interface SeekBzip {
  decode(input: Buffer, output?: number): Buffer;
}

let modules: Promise<{ bsdiff: BsdiffModule; bzip: SeekBzip }> | null = null;

/** Loads bsdiff-node and seek-bzip once; a clear error when they are not installed. */
function loadModules(): Promise<{ bsdiff: BsdiffModule; bzip: SeekBzip }> {
  modules ??= (async () => {
    try {
      // Specifiers in variables: neither TypeScript nor a bundler should pull these into a client build.
      const names = ['bsdiff-node', 'seek-bzip'];
      const [bsdiff, bzip] = (await Promise.all(names.map((name) => import(name)))) as { default?: unknown }[];
      return { bsdiff: (bsdiff!.default ?? bsdiff) as BsdiffModule, bzip: (bzip!.default ?? bzip) as SeekBzip };
    } catch (err) {
      modules = null;
      throw new UpdateError('INVALID_OPTIONS', 'making patches needs the optional packages bsdiff-node and seek-bzip (npm install bsdiff-node seek-bzip)', { cause: err });
    }
  })();
  return modules;
}

/** Runs bsdiff on two files and returns its operations; `scratch` is a directory for the temporary patch. */
export async function bsdiffControls(oldPath: string, newPath: string, scratch: string, name: string): Promise<ControlTriple[]> {
  const { bsdiff, bzip } = await loadModules();
  const patchPath = join(scratch, `${name}.bsdiff`);
  try {
    if (typeof bsdiff.diffSync === 'function') await diffInWorker(oldPath, newPath, patchPath);
    else await bsdiff.diff(oldPath, newPath, patchPath);
    return parseControls(await readFile(patchPath), bzip);
  } finally {
    await rm(patchPath, { force: true });
  }
}

/**
 * Runs bsdiff-node's diffSync in a worker thread. Its asynchronous diff() reports
 * progress from the diff loop on every outer iteration (a mutex, an allocation and a
 * wake-up of the main thread each time, hundreds of thousands of times on a large
 * binary): measured 17% more CPU than diffSync for the same work on esbuild, which is
 * most of why it ran 1.25-1.3x Debian's bsdiff. diffSync reports nothing; in a worker it
 * blocks no one, and several files still diff on all cores at once.
 */
function diffInWorker(oldPath: string, newPath: string, patchPath: string): Promise<void> {
  const modulePath = createRequire(import.meta.url).resolve('bsdiff-node');
  const source = "const { workerData } = require('node:worker_threads'); require(workerData.modulePath).diffSync(workerData.oldPath, workerData.newPath, workerData.patchPath);";
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: { modulePath, oldPath, newPath, patchPath } });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bsdiff worker exited with code ${code}`))));
  });
}

function offtin(b: Buffer, at: number): number {
  const magnitude = b.readUInt32LE(at) + (b.readUInt32LE(at + 4) & 0x7fffffff) * 2 ** 32;
  if (!Number.isSafeInteger(magnitude)) throw new RangeError('bsdiff number beyond 2^53');
  return b[at + 7]! & 0x80 ? -magnitude : magnitude;
}

function parseControls(patch: Buffer, bzip: SeekBzip): ControlTriple[] {
  if (patch.length < 32 || patch.toString('latin1', 0, 8) !== 'BSDIFF40') throw new RangeError('bsdiff-node wrote something other than a BSDIFF40 patch');
  const controlLength = offtin(patch, 8);
  if (controlLength < 0 || 32 + controlLength > patch.length) throw new RangeError('bsdiff control block length out of range');
  const raw = bzip.decode(patch.subarray(32, 32 + controlLength));
  if (raw.length % 24 !== 0) throw new RangeError('bsdiff control block is not whole triples');
  const out: ControlTriple[] = [];
  for (let at = 0; at < raw.length; at += 24) out.push({ add: offtin(raw, at), insert: offtin(raw, at + 8), seek: offtin(raw, at + 16) });
  return out;
}
