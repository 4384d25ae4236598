/**
 * A build of the package for suites whose child processes import it: compiled from
 * the current sources with tsconfig.build.json into a folder of the suite's own
 * (inside the repository, so node_modules resolves) rather than dist/, so that a
 * rebuild of dist/ by someone else while the suite runs cannot swap modules under
 * its running children. (test/e2e/launcher-parity does the same for its CLI.)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..', '..');

export interface PrivateDist {
  /** The folder holding index.js, cli.js, slots/, ... */
  readonly dir: string;
  remove(): Promise<void>;
}

export async function buildPrivateDist(name: string): Promise<PrivateDist> {
  await mkdir(join(REPO, '.tmp'), { recursive: true });
  const dir = await mkdtemp(join(REPO, '.tmp', `${name}-dist-`));
  const output = await new Promise<string>((resolve) => {
    const tsc = spawn(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', dir], { cwd: REPO });
    let text = '';
    tsc.stdout.on('data', (d: Buffer) => (text += d.toString()));
    tsc.stderr.on('data', (d: Buffer) => (text += d.toString()));
    tsc.on('close', () => resolve(text));
  });
  // Type errors elsewhere in a work in progress still emit JavaScript; only a missing output is fatal.
  if (!existsSync(join(dir, 'index.js')) || !existsSync(join(dir, 'cli.js'))) throw new Error(`tsc -p tsconfig.build.json produced no index.js:\n${output}`);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
