// Generates the demo's sample app: a real executable entry (a Node script) with a
// --self-test that the release's health probe runs, plus some data files.
import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes version `version` of the sample app into `dir`.
 * `selfTest`: 'pass' | 'fail' decides what `bin/app --self-test` does.
 * `payloadBytes`: size of a pseudo-random asset, so downloads have something to show.
 * `seed`: makes the asset deterministic per seed, so unchanged assets stay identical between versions.
 * `edit`: when set, the asset is the seed's bytes with a few small edits keyed by this
 * string (changed bytes, an insertion, a deletion): a new version that a patch turns
 * into a fraction of the file's size. `insertBytes` (default 100) sets the size of the insertion.
 */
export async function writeSampleApp(dir, { version, selfTest = 'pass', payloadBytes = 256 * 1024, seed = 'assets-1', edit, insertBytes = 100 }) {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'assets'), { recursive: true });
  const entry = `#!/usr/bin/env node
// sample app ${version}
const version = ${JSON.stringify(version)};
if (process.argv.includes('--self-test')) {
  ${
    selfTest === 'pass'
      ? `console.log('self-test ' + version + ': ok');\n  process.exit(0);`
      : `console.error('self-test ' + version + ': cannot open the database (schema 7 expected, found 6)');\n  process.exit(1);`
  }
}
console.log('sample app ' + version + ' running from slot ' + (process.env.TWINSLOT_SLOT ?? '?') + (process.argv.length > 2 ? ' with ' + process.argv.slice(2).join(' ') : ''));
`;
  await writeFile(join(dir, 'bin', 'app'), entry);
  await chmod(join(dir, 'bin', 'app'), 0o755);
  await writeFile(join(dir, 'VERSION'), version + '\n');
  const asset = deterministicBytes(seed, payloadBytes);
  await writeFile(join(dir, 'assets', 'blob.bin'), edit ? editBytes(asset, edit, insertBytes) : asset);
  await writeFile(join(dir, 'assets', 'readme.txt'), 'static asset shared by every version\n');
}

/** The bytes with edits keyed by `key`: 32 changed bytes, `insert` bytes inserted, 50 removed. */
function editBytes(bytes, key, insert) {
  const out = Buffer.from(bytes);
  const noise = deterministicBytes(`edit:${key}`, 32 * 4 + insert);
  for (let i = 0; i < 32; i++) out[noise.readUInt32LE(i * 4) % out.length] ^= 0x5a;
  const at = Math.floor(out.length / 3);
  const cut = Math.floor((out.length * 2) / 3);
  return Buffer.concat([out.subarray(0, at), noise.subarray(128), out.subarray(at, cut), out.subarray(cut + 50)]);
}

function deterministicBytes(seed, size) {
  // Counter-mode SHA-512 of the seed: stable across runs, incompressible like real binaries.
  const out = Buffer.allocUnsafe(size);
  let filled = 0;
  for (let counter = 0; filled < size; counter++) {
    filled += createHash('sha512').update(`${seed}:${counter}`).digest().copy(out, filled);
  }
  return out;
}
