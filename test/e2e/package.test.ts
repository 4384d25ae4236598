// The package as a user gets it: `npm pack` the repo, install the tarball into a fresh
// project outside the repo, and use it from ESM, from CommonJS (require(esm)) and
// through its bin. A client-only install must not pull in (let alone build) the
// publisher's native diff engine.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSampleApp } from '../../examples/demo/sample-app.mjs';

const exec = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');
const REQUIRED = process.env.TWINSLOT_REQUIRE_PACKAGE === '1';

// The npm that runs `npm test` exports its own config as npm_* variables (prefix,
// lifecycle, package.json path); the consumer's npm must see its own project instead.
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.toLowerCase().startsWith('npm_') || /^npm_config_(cache|registry|userconfig)$/i.test(k)) env[k] = v;
  }
  // Belt and braces: nothing in this test may fetch an Electron binary.
  env.ELECTRON_SKIP_BINARY_DOWNLOAD = '1';
  env.NO_UPDATE_NOTIFIER = '1';
  return env;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], cwd: string, timeout = 60_000): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { cwd, env: npmEnv(), timeout, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NO_NETWORK = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED|network|offline/i;

let work: string;
let consumer: string;
let files: string[] = [];
let skipReason: string | null = null;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'twinslot-package-'));
  // dist/ is fresh: test/global-setup.ts ran tsc, so the prepare script is not needed here.
  const packed = await run(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], REPO);
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  files = info!.files.map((f) => f.path);
  const tarball = join(work, info!.filename);

  consumer = join(work, 'consumer');
  await mkdir(consumer);
  await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // The repo's `npm ci` filled the npm cache with every runtime dependency; the
  // registry is only the fallback.
  const flags = ['install', tarball, '--no-audit', '--no-fund', '--no-package-lock'];
  let installed = await run(NPM, [...flags, '--offline'], consumer, 120_000);
  if (installed.code !== 0) installed = await run(NPM, [...flags, '--prefer-offline'], consumer, 120_000);
  if (installed.code !== 0) {
    const why = `npm install of the packed tarball failed (registry unreachable and cache incomplete?): ${installed.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    if (REQUIRED || !NO_NETWORK.test(installed.stderr)) throw new Error(why);
    skipReason = `${why}; set TWINSLOT_REQUIRE_PACKAGE=1 to make this a failure`;
  }
}, 240_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the built JavaScript and its types, and no sources, tests, benches or fixtures', async () => {
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/cli.js');
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
    // Every public entry point resolves to a file in the tarball, with its declarations.
    for (const [entry, target] of Object.entries(pkg.exports)) {
      const targets = typeof target === 'string' ? [target] : Object.values(target);
      for (const t of targets) expect(files, `${entry} -> ${t}`).toContain(t.replace(/^\.\//, ''));
      if (typeof target !== 'string') expect(target.types, `${entry} has types`).toMatch(/\.d\.ts$/);
    }
    const offending = files.filter(
      (f) => /^(test|bench|examples|src|scripts|\.ci)\//.test(f) || /fixture/i.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.tgz'),
    );
    expect(offending).toEqual([]);
  });
});

describe('installed into a fresh project', () => {
  it('installs no native module and neither optional publisher dependency', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const modules = join(consumer, 'node_modules');
    const names = await readdir(modules);
    expect(names).toContain('twinslot');
    for (const absent of ['bsdiff-node', 'seek-bzip', 'nan']) expect(names).not.toContain(absent);
    // No compiled addon anywhere in the tree: nothing was built by node-gyp.
    const addons = (await readdir(modules, { recursive: true })).filter((p) => p.endsWith('.node') || p.endsWith('binding.gyp'));
    expect(addons).toEqual([]);
  });

  it('imports from ESM, including twinslot/publisher', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const script = `
      const m = await import('twinslot');
      const p = await import('twinslot/publisher');
      const err = new m.UpdateError('NETWORK', 'x');
      console.log(JSON.stringify({
        Updater: typeof m.Updater, UpdateError: typeof m.UpdateError, codes: Object.keys(m.ERROR_CODES).length,
        isUpdateError: m.isUpdateError(err), publishRelease: typeof p.publishRelease, generateKeyPair: typeof p.generateKeyPair,
        sameCodes: p.ERROR_CODES === m.ERROR_CODES,
      }));`;
    const r = await run(process.execPath, ['--input-type=module', '-e', script], consumer);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      Updater: 'function', UpdateError: 'function', codes: expect.any(Number), isUpdateError: true,
      publishRelease: 'function', generateKeyPair: 'function', sameCodes: true,
    });
    expect(JSON.parse(r.stdout).codes).toBeGreaterThan(10);
  });

  it('imports twinslot/electron without Electron installed, when the package exports it', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    if (!pkg.exports['./electron']) ctx.skip('package.json does not export ./electron');
    const r = await run(process.execPath, ['--input-type=module', '-e', `const e = await import('twinslot/electron'); console.log(typeof e.ElectronUpdater);`], consumer);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function');
    expect(await readdir(join(consumer, 'node_modules'))).not.toContain('electron');
  });

  it('loads with require() from CommonJS (require(esm), unflagged since Node 20.19)', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const script = `
      const m = require('twinslot');
      const p = require('twinslot/publisher');
      console.log(JSON.stringify({ Updater: typeof m.Updater, UpdateError: typeof m.UpdateError, hasNetwork: 'NETWORK' in m.ERROR_CODES, verifyFeed: typeof p.verifyFeed }));`;
    const r = await run(process.execPath, ['-e', script], consumer);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ Updater: 'function', UpdateError: 'function', hasNetwork: true, verifyFeed: 'function' });
  });

  it('runs the bin through npx', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const r = await run(NPM, ['exec', '--offline', '--', 'twinslot', '--help'], consumer);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('twinslot release <build-dir>');
    expect(r.stdout).toContain('twinslot install --feed <url>');
  });

  it('publishes without deltas, and names the packages to install when --deltas-from needs them', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const bin = join(consumer, 'node_modules', '.bin', 'twinslot');
    const keygen = await run(bin, ['keygen', '--out', 'keys'], consumer);
    expect(keygen.code, keygen.stderr).toBe(0);
    const release = async (version: string, extra: string[]) => {
      const build = join(work, `build-${version}`);
      await writeSampleApp(build, { version, payloadBytes: 64 * 1024, edit: version === '1.0.0' ? undefined : version });
      return run(
        bin,
        ['release', build, '--feed', 'feed', '--app', 'com.example.pkg', '--version', version, '--channel', 'stable',
          '--platform', 'linux-x64', '--entry', 'bin/app', '--key', join('keys', 'twinslot.key'), ...extra],
        consumer,
      );
    };
    const v1 = await release('1.0.0', []);
    expect(v1.code, v1.stderr).toBe(0);
    const v2 = await release('1.1.0', ['--deltas-from', '1']);
    expect(v2.code).toBe(1);
    expect(v2.stderr).toMatch(/^twinslot: INVALID_OPTIONS: .*npm install bsdiff-node seek-bzip/);
    expect(v2.stderr.trim().split('\n')).toHaveLength(1);
  });
});
