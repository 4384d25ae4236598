// Fetches the real release pairs of the delta benchmark with `npm pack` into
// bench/.cache/pairs (ignored by git): for each pair, old/ and new/ hold the unpacked
// package trees. Already-fetched pairs are left alone. Usage:
//   node bench/delta/fetch-pairs.mjs [name...]
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
export const PAIRS_DIR = join(HERE, '..', '.cache', 'pairs');

/** The pairs: a package and two adjacent versions. `file` is the binary inside the package, for single-file pairs. */
export const PAIRS = [
  { name: 'esbuild', pkg: '@esbuild/linux-x64', from: '0.24.0', to: '0.24.2', file: 'bin/esbuild' },
  { name: 'biome', pkg: '@biomejs/cli-linux-x64', from: '1.8.3', to: '1.9.0', file: 'biome' },
  { name: 'swc', pkg: '@next/swc-linux-x64-gnu', from: '15.0.2', to: '15.0.3', file: 'next-swc.linux-x64-gnu.node' },
  { name: 'typescript', pkg: 'typescript', from: '5.6.2', to: '5.6.3', file: null },
];

async function fetchVersion(pkg, version, into) {
  const tmp = await mkdtemp(join(PAIRS_DIR, '.fetch-'));
  try {
    const { stdout } = await run('npm', ['pack', `${pkg}@${version}`, '--silent', '--pack-destination', tmp], { maxBuffer: 1 << 20 });
    const tgz = join(tmp, stdout.trim().split('\n').pop());
    await run('tar', ['-xzf', tgz, '-C', tmp]);
    await rm(into, { recursive: true, force: true });
    await rename(join(tmp, 'package'), into);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function fetchPairs(names = PAIRS.map((p) => p.name), log = (line) => process.stderr.write(line + '\n')) {
  await mkdir(PAIRS_DIR, { recursive: true });
  for (const pair of PAIRS.filter((p) => names.includes(p.name))) {
    for (const [side, version] of [['old', pair.from], ['new', pair.to]]) {
      const into = join(PAIRS_DIR, pair.name, side);
      if (existsSync(into) && (await readdir(into)).length > 0) continue;
      log(`fetching ${pair.pkg}@${version} (${pair.name}/${side})`);
      await mkdir(dirname(into), { recursive: true });
      await fetchVersion(pair.pkg, version, into);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  await fetchPairs(names.length ? names : undefined);
}
