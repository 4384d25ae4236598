// The examples stay correct: examples/electron type-checks against Electron's
// published type definitions (installed with `npm ci --ignore-scripts --prefix
// examples/electron`, no Electron binary), examples/prompts type-checks, and the
// prompts example runs a scripted session against the demo feed server.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const electronTypes = join(repo, 'examples', 'electron', 'node_modules', 'electron', 'electron.d.ts');
const hasElectronTypes = existsSync(electronTypes);
if (!hasElectronTypes && process.env.TWINSLOT_REQUIRE_EXAMPLES) {
  throw new Error('examples/electron/node_modules is missing (TWINSLOT_REQUIRE_EXAMPLES is set): run npm ci --ignore-scripts --prefix examples/electron');
}

/** Runs tsc on a project; resolves its output, rejects with it shown when it reports errors. */
async function typecheck(project: string): Promise<void> {
  const result = await run(process.execPath, [tsc, '--noEmit', '-p', join(repo, project)], { cwd: repo }).then(
    () => null,
    (err: { stdout?: string; stderr?: string; message: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message,
  );
  expect(result, `tsc -p ${project}`).toBeNull();
}

describe('examples type-check', () => {
  it.skipIf(!hasElectronTypes)("examples/electron against Electron's type definitions", async () => {
    await typecheck('examples/electron/tsconfig.json');
  });

  it('examples/prompts (JSDoc-checked JavaScript)', async () => {
    await typecheck('examples/prompts/tsconfig.json');
  });
});

describe('examples/prompts runs', () => {
  it('asks before download and install, switches channels from settings, and asks nothing for a critical fix', async () => {
    // Answers, in order: decline the download; accept download and install; move to
    // beta and update; back to stable without, then with, allowDowngrade; ship a
    // critical fix and check; quit.
    const answers = ['c', 'n', 'c', 'y', 'y', 's', 'beta', 'n', 'c', 'y', 'y', 's', 'stable', 'n', 'c', 's', 'stable', 'y', 'c', 'y', 'y', 'p', 'c', 'q'];
    const child = execFile(process.execPath, [join(repo, 'examples', 'prompts', 'prompts.mjs')], { cwd: repo, timeout: 50_000 });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin!.end(answers.map((a) => `${a}\n`).join(''));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out).toBe(0);

    const blocks = out.split('\n[').map((b) => b.trim());
    const block = (start: string): string[] => blocks.filter((b) => b.includes(start));
    expect(out).toContain('Installed 1.0.0 from http://127.0.0.1:');
    // Declined: nothing downloaded, the version stays.
    expect(blocks[1]).toContain('Download 1.1.0 (64 KiB, 4 files)? [y/N] n');
    expect(blocks[1]).toContain('Not now: the download of 1.1.0 was declined.');
    expect(blocks[2]).toMatch(/^1\.0\.0 on stable\]/);
    expect(blocks[2]).toContain('Install 1.1.0 now? The app restarts. [y/N] y');
    expect(blocks[2]).toContain('> sample app 1.1.0 running from slot b');
    expect(block('Now running 2.0.0-beta.1.')[0]).toMatch(/^1\.1\.0 on beta\]/);
    expect(block('No update (downgrade).')).toHaveLength(1);
    expect(block('1.1.0 is available (you have 2.0.0-beta.1).')[0]).toContain('Now running 1.1.0.');
    // The critical fix: no question at all.
    const critical = block('1.1.1 is available (you have 1.1.0): critical, installing without asking.');
    expect(critical).toHaveLength(1);
    expect(critical[0]).not.toContain('[y/N]');
    expect(critical[0]).toContain('Now running 1.1.1.');
    expect(blocks.at(-1)).toMatch(/^1\.1\.1 on stable\]/);
  });
});
