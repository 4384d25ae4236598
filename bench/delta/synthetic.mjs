// The synthetic pair of the delta benchmark, generated deterministically into
// bench/.cache/synthetic/{old,new}/data.bin (ignored by git):
//
//   old: 256 MiB of pseudo-random bytes (AES-256-CTR keystream under a fixed key).
//   new: old with edits scattered through it, about 2% of the bytes: every edit is a run
//        of 1-64 bytes at a gap drawn uniformly from 0-3200 bytes after the previous one;
//        70% overwrite the run with other random bytes, 15% insert a run, 15% delete one.
//
// Incompressible data: whatever a tool saves comes from matching old bytes, nothing
// else. The same code always gives the same bytes; params.json records what was made,
// and a change to PARAMS regenerates. Usage: node bench/delta/synthetic.mjs
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const SYNTHETIC_DIR = join(HERE, '..', '.cache', 'synthetic');

export const PARAMS = {
  version: 1,
  size: 256 * 1024 * 1024,
  seed: 0x7357_2026,
  maxGap: 3200,
  maxRun: 64,
  overwrite: 0.7,
  insert: 0.15, // the rest delete
};

/** A small deterministic PRNG (mulberry32): uniform floats in [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function keystream(label, bytes) {
  const key = createHash('sha256').update(`twinslot-bench-delta-synthetic:${label}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return cipher.update(Buffer.alloc(bytes));
}

/** Builds the two files in memory; returns them with a tally of the edits. */
export function generate(p = PARAMS) {
  const old = keystream('old', p.size);
  const fresh = keystream('edits', p.size >> 4); // bytes for overwrites and insertions
  let freshAt = 0;
  const take = (n) => {
    if (freshAt + n > fresh.length) freshAt = 0;
    const b = fresh.subarray(freshAt, freshAt + n);
    freshAt += n;
    return b;
  };
  const next = Buffer.allocUnsafe(p.size + (p.size >> 4));
  const rand = prng(p.seed);
  const tally = { overwrites: 0, inserts: 0, deletes: 0, overwrittenBytes: 0, insertedBytes: 0, deletedBytes: 0 };
  let o = 0;
  let n = 0;
  while (o < p.size) {
    const gap = Math.min(Math.floor(rand() * (p.maxGap + 1)), p.size - o);
    old.copy(next, n, o, o + gap);
    o += gap;
    n += gap;
    if (o >= p.size) break;
    const run = 1 + Math.floor(rand() * p.maxRun);
    const kind = rand();
    if (kind < p.overwrite) {
      const len = Math.min(run, p.size - o);
      take(len).copy(next, n);
      o += len;
      n += len;
      tally.overwrites++;
      tally.overwrittenBytes += len;
    } else if (kind < p.overwrite + p.insert) {
      take(run).copy(next, n);
      n += run;
      tally.inserts++;
      tally.insertedBytes += run;
    } else {
      const len = Math.min(run, p.size - o);
      o += len;
      tally.deletes++;
      tally.deletedBytes += len;
    }
  }
  return { old, next: next.subarray(0, n), tally };
}

async function writeAtomically(path, bytes) {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const f = await open(tmp, 'w');
  try {
    for (let at = 0; at < bytes.length; at += 16 << 20) await f.write(bytes, at, Math.min(16 << 20, bytes.length - at));
  } finally {
    await f.close();
  }
  await rename(tmp, path);
}

/** Makes sure the pair exists for the current PARAMS; returns { old, new, params, tally }. */
export async function ensureSynthetic(log = (line) => process.stderr.write(line + '\n')) {
  const paths = { old: join(SYNTHETIC_DIR, 'old', 'data.bin'), new: join(SYNTHETIC_DIR, 'new', 'data.bin') };
  const marker = join(SYNTHETIC_DIR, 'params.json');
  if (existsSync(marker) && existsSync(paths.old) && existsSync(paths.new)) {
    const saved = JSON.parse(await readFile(marker, 'utf8'));
    const [o, n] = await Promise.all([stat(paths.old), stat(paths.new)]);
    if (JSON.stringify(saved.params) === JSON.stringify(PARAMS) && o.size === saved.oldSize && n.size === saved.newSize) return { ...paths, ...saved };
  }
  log(`generating the synthetic pair (${PARAMS.size / 2 ** 20} MiB, ~2% scattered edits) in ${SYNTHETIC_DIR}`);
  await rm(marker, { force: true });
  const { old, next, tally } = generate();
  await writeAtomically(paths.old, old);
  await writeAtomically(paths.new, next);
  const saved = { params: PARAMS, oldSize: old.length, newSize: next.length, tally };
  await writeFile(marker, JSON.stringify(saved, null, 2) + '\n');
  return { ...paths, ...saved };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await ensureSynthetic();
  process.stdout.write(JSON.stringify(s, null, 2) + '\n');
}
