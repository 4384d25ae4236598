// Re-encodes the delta benchmark's cached patches with the current dist/ encoder, without
// running bsdiff: the operations come from the control stream of the patch the last
// `npm run bench -- delta` cached for the pair. For measuring an encoder or applier
// change in a minute instead of the ~20 minutes a full run spends re-diffing when the
// encoder's source (and so the cache key) changes. Not a benchmark of its own.
//
//   node bench/delta/reencode.mjs <esbuild|biome|swc|synthetic> [segmentBytes]
//   node bench/delta/child.mjs apply bench/.cache/reencode/<name>.json   # time + peak RSS
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import { encodePatch } from '../../dist/delta/encode.js';
import { CONTROL, parseHeader, unzigzag } from '../../dist/delta/format.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CACHE = join(HERE, '..', '.cache');
const [name, segment] = process.argv.slice(2);
if (!['esbuild', 'biome', 'swc', 'synthetic'].includes(name ?? '')) {
  process.stderr.write('usage: node bench/delta/reencode.mjs <esbuild|biome|swc|synthetic> [segmentBytes]\n');
  process.exit(2);
}

/** The operations in a cached twinslot patch (version 1 or 2) for `old` -> `next`: its control stream, decoded. */
function controlsOf(patch, old, next) {
  const header = parseHeader(patch, patch.length, old.length, next.length);
  const raw = Buffer.concat(header.streams[CONTROL].map((seg) => brotliDecompressSync(patch.subarray(seg.offset, seg.offset + seg.compressed))));
  const out = [];
  let p = 0;
  const varint = () => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      const b = raw[p++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
    }
  };
  while (p < raw.length) out.push({ add: varint(), insert: varint(), seek: unzigzag(varint()) });
  return out;
}

function largestFile(dir) {
  let best = null;
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else if (!best || s.size > best.size) best = { p, size: s.size };
    }
  };
  walk(dir);
  return best.p;
}

const pairDir = join(CACHE, 'delta', name);
const keyDir = join(pairDir, readdirSync(pairDir).find((n) => !n.startsWith('feed')));
const cached = readdirSync(keyDir).find((n) => n.startsWith('twinslot-') && n.endsWith('.patch'));
const [oldPath, newPath] =
  name === 'synthetic'
    ? ['old', 'new'].map((side) => join(CACHE, 'synthetic', side, 'data.bin'))
    : ['old', 'new'].map((side) => largestFile(join(CACHE, 'pairs', name, side)));
const old = readFileSync(oldPath);
const next = readFileSync(newPath);
const t0 = performance.now();
const patch = await encodePatch(old, next, controlsOf(readFileSync(join(keyDir, cached)), old, next), segment ? { segmentBytes: Number(segment) } : {});
const encodeMs = performance.now() - t0;
const out = join(CACHE, 'reencode');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, `${name}.patch`), patch);
const job = [{ old: oldPath, patch: join(out, `${name}.patch`), out: join(out, `${name}.new`), oldSize: old.length, newSize: next.length, sha256: createHash('sha256').update(next).digest('hex') }];
writeFileSync(join(out, `${name}.json`), JSON.stringify(job));
console.log(JSON.stringify({ name, version: patch[7], bytes: patch.length, encodeMs: Math.round(encodeMs), job: join(out, `${name}.json`) }));
