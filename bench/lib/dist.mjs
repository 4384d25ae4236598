// Makes sure dist/ (what the benchmarks import, like an app would) is built and not
// older than src/. Builds with the repo's own TypeScript when needed.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.isFile()) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export function ensureDist({ log = (line) => process.stderr.write(line + '\n') } = {}) {
  const index = join(REPO, 'dist', 'index.js');
  const stale = !existsSync(index) || statSync(index).mtimeMs < newestMtime(join(REPO, 'src'));
  if (!stale) return false;
  log('bench: dist/ is missing or older than src/; building it (tsc -p tsconfig.build.json)');
  execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: REPO,
    stdio: 'inherit',
  });
  return true;
}
