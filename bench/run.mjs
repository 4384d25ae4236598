// `npm run bench -- <name>`: runs bench/<name>/run.mjs after making sure dist/ is
// built. Without a name it lists the benchmarks.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDist } from './lib/dist.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(here, e.name, 'run.mjs')))
  .map((e) => e.name)
  .sort();

const [name, ...rest] = process.argv.slice(2);
if (!name) {
  process.stdout.write(`usage: npm run bench -- <name>\navailable: ${names.join(', ')}\n`);
  process.exit(0);
}
if (!names.includes(name)) {
  process.stderr.write(`bench: unknown benchmark "${name}" (available: ${names.join(', ')})\n`);
  process.exit(2);
}

try {
  ensureDist();
} catch (err) {
  process.stderr.write(`bench: building dist/ failed: ${err.message}\n`);
  process.exit(1);
}

const child = spawn(process.execPath, [join(here, name, 'run.mjs'), ...rest], { stdio: 'inherit' });
// Ctrl-C reaches the whole process group; the benchmark cleans up and exits on its own.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
