/**
 * examples/edge-device end to end, on loopback: the example service (copied verbatim
 * into each release) runs under the native launcher the way its systemd unit says
 * (ExecStart, Restart=always, Environment= are read from twinslot-edge.service), with
 * a small supervisor standing in for systemd. It updates itself from a real feed:
 *
 *   1.0.0 installed by `twinslot install`, serving /healthz;
 *   2.0.0 published: found, downloaded at a capped rate, installed, the service exits,
 *         the launcher starts 2.0.0 on trial, its /healthz probe passes, committed;
 *   3.0.0 published with a broken settings file: it starts but /healthz says 503, the
 *         probe fails, confirmStartup() reverts, and 2.0.0 serves again, refusing 3.0.0;
 *   3.0.1 published without its node_modules: it crashes at every start; the launcher
 *         counts the starts and reverts to 2.0.0 after max-attempts.
 *
 * Without a C compiler the Node launcher (`twinslot launch`) takes the native one's place.
 */
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFile, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishRelease } from '../../src/publish/release.js';
import { Updater, type UpdaterStatus } from '../../src/updater.js';
import { APP, type FeedFixture, PLATFORM, createFeedFixture } from '../helpers/fixture.js';
import { type PrivateDist, buildPrivateDist } from '../helpers/private-dist.js';

const exec = promisify(execFile);
const REPO = resolve(fileURLToPath(import.meta.url), '../../..');
const EXAMPLE = join(REPO, 'examples/edge-device');

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}
const NATIVE = process.platform !== 'win32' && hasCommand('cc') && hasCommand('make');
const SUITE = NATIVE ? 'edge device: the example service under the native launcher' : 'edge device: the example service under `twinslot launch` (no C compiler)';

let dist: PrivateDist;
let feed: FeedFixture;
/** The launcher this suite built (native), in its own folder so parallel builds cannot race. */
let launcher: string;

/** What a published release of the service is like. */
type Kind = 'ok' | 'broken-settings' | 'missing-dependency';

/** A release build: the example's files, a payload that changes every version, and twinslot as a dependency. */
async function publishService(version: string, kind: Kind): Promise<void> {
  const build = join(feed.dir, `edge-build-${version}`);
  await mkdir(join(build, 'assets'), { recursive: true });
  await copyFile(join(EXAMPLE, 'service.mjs'), join(build, 'service.mjs'));
  await chmod(join(build, 'service.mjs'), 0o755);
  if (kind === 'broken-settings') await writeFile(join(build, 'service.json'), '{ "greeting": "hello from the ed'); // cut short
  else await copyFile(join(EXAMPLE, 'service.json'), join(build, 'service.json'));
  // A real release bundles node_modules/twinslot; here a one-file package hands on to this suite's build.
  if (kind !== 'missing-dependency') {
    const pkg = join(build, 'node_modules', 'twinslot');
    await mkdir(pkg, { recursive: true });
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'twinslot', type: 'module', exports: './index.js' }));
    await writeFile(join(pkg, 'index.js'), `export * from ${JSON.stringify(pathToFileURL(join(dist.dir, 'index.js')).href)};\n`);
  }
  await writeFile(join(build, 'assets', 'model.bin'), Buffer.alloc(96 * 1024, `model ${version} `));
  await publishRelease({ buildDir: build, feedDir: feed.feed, app: APP, version, channel: 'stable', platform: PLATFORM, entry: 'service.mjs', keys: [feed.key], probes: [] });
}

/** The unit's ExecStart argv and Environment= settings. */
async function readUnit(): Promise<{ execStart: string[]; env: Record<string, string>; restart: string | undefined }> {
  const text = await readFile(join(EXAMPLE, 'twinslot-edge.service'), 'utf8');
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const value = (key: string) => lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1).trim());
  const env = Object.fromEntries(value('Environment').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { execStart: value('ExecStart')[0]!.split(/\s+/), env, restart: value('Restart')[0] };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** HH:MM of local time `minutes` from now. */
function localClock(minutes: number): string {
  const d = new Date(Date.now() + minutes * 60_000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** systemd's part: run the command, and whenever it exits, run it again (Restart=always). */
class Supervisor {
  readonly exits: (number | string)[] = [];
  starts = 0;
  output = '';
  #child: ChildProcess | null = null;
  #stopped = false;
  #exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly argv: string[],
    private readonly options: { cwd: string; env: NodeJS.ProcessEnv; restartMs: number },
  ) {}

  start(): void {
    if (this.#stopped) return;
    this.starts++;
    const child = spawn(this.argv[0]!, this.argv.slice(1), { cwd: this.options.cwd, env: this.options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.#exited = new Promise((resolveExit) => {
      child.on('close', (code, signal) => {
        this.exits.push(code ?? signal ?? 'unknown');
        this.#child = null;
        resolveExit();
        if (!this.#stopped) setTimeout(() => this.start(), this.options.restartMs);
      });
    });
  }

  /** `systemctl stop`: SIGTERM, then SIGKILL after a while. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const child = this.#child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

async function health(port: number): Promise<{ status: number; body: { ok: boolean; version: string; slot: string; problem?: string } } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: (await res.json()) as { ok: boolean; version: string; slot: string } };
  } catch {
    return null;
  }
}

/** Polls until `probe` returns something truthy; fails with `what` and the service's output at the deadline. */
async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, supervisor: Supervisor, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; service output:\n${supervisor.output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dist = await buildPrivateDist('edge');
  if (NATIVE) {
    const build = join(dist.dir, 'launcher');
    execFileSync('make', ['-C', join(REPO, 'native'), `BUILD=${build}`], { stdio: 'pipe' });
    launcher = join(build, 'twinslot-launcher');
  }
  feed = await createFeedFixture();
}, 180_000);

afterAll(async () => {
  await feed?.close();
  await dist?.remove();
});

describe(SUITE, () => {
  it('updates itself, commits a healthy release, and reverts an unhealthy one and a crashing one', async () => {
    const unit = await readUnit();
    expect(unit.restart).toBe('always');
    expect(unit.execStart[0]).toMatch(/\/twinslot-launcher$/);
    expect(unit.execStart.slice(1, 2)).toEqual(['--root']);

    await publishService('1.0.0', 'ok');
    const root = join(feed.dir, 'device');
    const installed = await exec(process.execPath, [join(dist.dir, 'cli.js'), 'install', '--feed', feed.url, '--root', root, '--app', APP, '--pub', feed.publicKey, '--channel', 'stable', '--platform', PLATFORM, '--max-attempts', '2']);
    expect(installed.stdout).toContain('1.0.0');

    // The unit's command and environment, with the paths of this machine and intervals for a test.
    const argv = NATIVE ? [launcher, '--root', root, ...unit.execStart.slice(3)] : [process.execPath, join(dist.dir, 'cli.js'), 'launch', '--root', root];
    const port = await freePort();
    const env = {
      ...unit.env,
      EDGE_HOST: '127.0.0.1',
      EDGE_PORT: String(port),
      EDGE_CHECK_INTERVAL_MS: '1000',
      EDGE_PROBE_TIMEOUT_MS: '1500',
      EDGE_MAX_BYTES_PER_SECOND: String(512 * 1024),
      // Quiet hours that do not cover the next hour: checks go on.
      EDGE_QUIET_HOURS: `${localClock(120)}-${localClock(180)}`,
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    };
    const service = new Supervisor(argv, { cwd: root, env, restartMs: 100 });
    const status = (): Promise<UpdaterStatus> => new Updater({ installRoot: root }).status();
    service.start();
    try {
      const first = await until('1.0.0 to serve', async () => (await health(port))?.body.version === '1.0.0' && health(port), service);
      expect(first).toMatchObject({ status: 200, body: { ok: true, version: '1.0.0', slot: 'a' } });

      // A healthy update: found, downloaded, installed; the service restarts into it and commits it.
      await publishService('2.0.0', 'ok');
      await until('2.0.0 to be committed', async () => {
        const s = await status();
        return s.activeVersion === '2.0.0' && !s.trial && s.slots[s.active!].status === 'good' && service.output.includes('edge 2.0.0 (slot b): trial passed, 2.0.0 committed');
      }, service);
      expect(await health(port)).toMatchObject({ status: 200, body: { ok: true, version: '2.0.0', slot: 'b' } });
      expect(service.output).toContain('update 2.0.0 available');
      expect(service.output).toMatch(/edge 1\.0\.0 \(slot a\): installed 2\.0\.0 into slot b; restarting into it/);
      expect(service.exits).toEqual([0]);

      // An update that starts but is unhealthy: its /healthz probe fails, confirmStartup() reverts.
      await publishService('3.0.0', 'broken-settings');
      await until('3.0.0 to be reverted', async () => (await status()).bad.includes('3.0.0'), service);
      const afterBadHealth = await until('2.0.0 to serve again', async () => {
        const h = await health(port);
        return h?.body.version === '2.0.0' && service.starts === 4 && h;
      }, service);
      expect(afterBadHealth).toMatchObject({ status: 200, body: { ok: true, version: '2.0.0', slot: 'b' } });
      expect(await status()).toMatchObject({ active: 'b', activeVersion: '2.0.0', trial: false, bad: ['3.0.0'], slots: { a: { version: '3.0.0', status: 'bad' }, b: { version: '2.0.0', status: 'good' } } });
      expect(service.output).toMatch(/edge 3\.0\.0 \(slot a\): unhealthy: service\.json: /);
      expect(service.output).toContain('edge 3.0.0 (slot a): 3.0.0 failed its trial (health-check-failed); reverted to 2.0.0, restarting into it');
      expect(service.exits).toEqual([0, 0, 1]);
      // The reverted release stays refused at the next checks.
      await until('2.0.0 to refuse 3.0.0', async () => service.output.includes('edge 2.0.0 (slot b): not taking 3.0.0: known-bad'), service);

      // An update that crashes at every start (its dependency is missing): the launcher counts and reverts.
      await publishService('3.0.1', 'missing-dependency');
      await until('3.0.1 to be reverted', async () => (await status()).bad.includes('3.0.1'), service);
      const afterCrash = await until('2.0.0 to serve after the crash loop', async () => {
        const h = await health(port);
        return h?.body.version === '2.0.0' && service.starts === 7 && h;
      }, service);
      expect(afterCrash).toMatchObject({ status: 200, body: { ok: true, version: '2.0.0', slot: 'b' } });
      expect(await status()).toMatchObject({ active: 'b', activeVersion: '2.0.0', trial: false, attempts: 0, bad: ['3.0.0', '3.0.1'], slots: { a: { version: '3.0.1', status: 'bad' } } });
      // Two crashed starts of 3.0.1 (max-attempts 2), then the launcher's revert.
      expect(service.exits).toEqual([0, 0, 1, 0, 1, 1]);
      expect(service.output).toContain("Cannot find package 'twinslot'");
      expect(service.output).toMatch(/reverted to 2\.0\.0 \(slot b\): max-attempts/);
    } finally {
      await service.stop();
    }
    // Nothing went wrong along the way (the test's own status() reads included).
    expect(service.output).not.toContain('update problem');
    // systemctl stop: the service shuts down cleanly.
    expect(service.exits.at(-1)).toBe(0);
    expect(service.output).toContain('edge 2.0.0 (slot b): stopping (SIGTERM)');
  }, 90_000);

  it.runIf(hasCommand('systemd-analyze'))('the unit file passes systemd-analyze verify', async () => {
    // With ExecStart pointing at a launcher that exists, the unit must verify without a word.
    const unitDir = join(feed.dir, 'unit');
    await mkdir(unitDir, { recursive: true });
    const text = (await readFile(join(EXAMPLE, 'twinslot-edge.service'), 'utf8')).replace(/^ExecStart=\S+/m, `ExecStart=${NATIVE ? launcher : process.execPath}`);
    await writeFile(join(unitDir, 'twinslot-edge.service'), text);
    const run = spawnSync('systemd-analyze', ['verify', join(unitDir, 'twinslot-edge.service')], { encoding: 'utf8' });
    const ours = `${run.stdout}${run.stderr}`.split('\n').filter((l) => l.includes('twinslot-edge.service'));
    expect(ours).toEqual([]);
  });
});
