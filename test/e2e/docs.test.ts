// `npm run docs` must build the API site with zero warnings: every exported symbol,
// option, event and error documented, every link resolving, every guide included.
// Runs the repo's own typedoc.json into a temp folder (typedoc takes ~7 s idle, more
// on a loaded machine).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');
const TYPEDOC = join(REPO, 'node_modules', 'typedoc', 'bin', 'typedoc');

interface Run {
  code: number;
  output: string;
}

async function typedoc(args: string[], cwd: string): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [TYPEDOC, ...args], { cwd, timeout: 150_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: (e.stdout ?? '') + (e.stderr ?? String(err)) };
  }
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'twinslot-docs-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('API docs (typedoc.json)', () => {
  it('build with no warning and include every guide', async () => {
    const out = join(work, 'site');
    const run = await typedoc(['--out', out], REPO);
    const warnings = run.output.split('\n').filter((l) => /\[(warning|error)\]/.test(l));
    expect(warnings).toEqual([]);
    expect(run.code).toBe(0);
    const pages = await readdir(join(out, 'documents'));
    const guides = (await readdir(join(REPO, 'docs', 'guides'))).filter((f) => f.endsWith('.md'));
    expect(pages.length).toBeGreaterThanOrEqual(guides.length + 3); // + error codes, migration, formats
    expect(pages).toContain('Error_codes.html');
    const codes = await readFile(join(out, 'documents', 'Error_codes.html'), 'utf8');
    expect(codes).toContain('ROLLBACK_REJECTED');
  }, 180_000);

  it('are configured so that an undocumented export fails the build', async () => {
    // The same validation settings on a one-file project with one undocumented export.
    const config = JSON.parse(await readFile(join(REPO, 'typedoc.json'), 'utf8')) as Record<string, unknown>;
    const dir = join(work, 'probe');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'index.ts'), '/** @module */\n/** Documented. */\nexport const a = 1;\nexport function undocumented(): void {}\n');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'probe', version: '1.0.0', type: 'module' }));
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: [] }, files: ['index.ts'] }));
    await writeFile(
      join(dir, 'typedoc.json'),
      JSON.stringify({ name: 'probe', entryPoints: ['index.ts'], tsconfig: 'tsconfig.json', validation: config.validation, treatWarningsAsErrors: config.treatWarningsAsErrors, emit: 'none', readme: 'none', disableSources: true }),
    );
    const run = await typedoc([], dir);
    expect(run.output).toMatch(/undocumented .*does not have any documentation/);
    expect(run.code).not.toBe(0);
  }, 60_000);
});
