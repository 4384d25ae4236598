// The trial after a switch, with apps that misbehave. Everything runs as on a device:
// `twinslot install` and `twinslot update` (the CLI, built by this suite) put the new release on
// trial, then a supervisor starts the app through the Node launcher (`twinslot
// launch`), as a service manager would, again and again. The app is a real
// executable in the slot; it embeds twinslot and calls confirmStartup() at every
// start, which runs the release's signed post-start probe (`bin/app --self-test`).
// Each new release misbehaves in one way: it crashes at start, its probe hangs or
// fails, it crashes during confirmation every time, or the power (every process)
// goes at a bad moment. (The C launcher in native/ has its own parity tests.)
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishRelease } from '../../src/publish/release.js';
import { parseJournal } from '../../src/slots/state-file.js';
import { APP, type FeedFixture, PLATFORM, createFeedFixture } from '../helpers/fixture.js';
import { type PrivateDist, buildPrivateDist } from '../helpers/private-dist.js';
import { type CliRun, cliRunner } from '../helpers/run-cli.js';

const exec = promisify(execFile);
/** This suite's own build of the package: the CLI and what the apps import. */
let dist: PrivateDist;
let CLI: string;

/**
 * What a release's app does:
 *  ok           starts, confirms, exits 0
 *  crash        exits 3 at start, before confirmStartup()
 *  crash-loop   starts confirming, then dies of an uncaught exception while its probe runs
 *  probe-hangs  its self-test never answers
 *  probe-fails  its self-test exits 1
 * Every start and self-test appends a line to $APP_LOG; SELFTEST_DELAY_MS slows the
 * self-test down; APP_STAY=1 keeps the app running after it confirmed.
 */
type Behaviour = 'ok' | 'crash' | 'crash-loop' | 'probe-hangs' | 'probe-fails';

function appSource(version: string, behaviour: Behaviour): string {
  const TWINSLOT = pathToFileURL(join(dist.dir, 'index.js')).href;
  return `#!/usr/bin/env node
'use strict';
// trial app ${version} (${behaviour})
const fs = require('node:fs');
const VERSION = ${JSON.stringify(version)};
const BEHAVIOUR = ${JSON.stringify(behaviour)};
const log = (line) => process.env.APP_LOG && fs.appendFileSync(process.env.APP_LOG, line + '\\n');
if (process.argv.includes('--self-test')) {
  log('self-test ' + VERSION + ' pid ' + process.pid);
  if (BEHAVIOUR === 'probe-fails') {
    console.error('self-test: database schema 6, expected 7');
    process.exit(1);
  }
  if (BEHAVIOUR === 'probe-hangs') setInterval(() => {}, 60000);
  else setTimeout(() => process.exit(0), Number(process.env.SELFTEST_DELAY_MS || 0));
} else {
  import(${JSON.stringify(TWINSLOT)}).then(async ({ Updater }) => {
    const updater = new Updater({ installRoot: process.env.TWINSLOT_ROOT });
    const status = await updater.status();
    log('start ' + VERSION + ' slot ' + process.env.TWINSLOT_SLOT + ' trial ' + (status.trial ? 1 : 0) + ' attempts ' + status.attempts);
    if (BEHAVIOUR === 'crash') {
      console.error('fatal: cannot read the configuration');
      process.exit(3);
    }
    if (BEHAVIOUR === 'crash-loop') setTimeout(() => { throw new Error('native module crashed'); }, 150);
    const result = await updater.confirmStartup();
    log('confirmed ' + VERSION + ' ' + result.outcome + (result.reason ? ' ' + result.reason : ''));
    if (result.outcome === 'rolled-back') process.exit(10);
    if (process.env.APP_STAY === '1') setInterval(() => {}, 60000);
  });
}
`;
}

let feed: FeedFixture;
/** The signed timeout of the hanging release's self-test. */
const HANG_TIMEOUT_MS = 2_500;

/** Publishes `version` of the trial app into `channel`, with its self-test as signed post-start probe. */
async function publishApp(version: string, behaviour: Behaviour, channel: string, probeTimeoutMs = 20_000): Promise<void> {
  const build = join(feed.dir, `trial-build-${version}`);
  await mkdir(join(build, 'bin'), { recursive: true });
  await writeFile(join(build, 'bin', 'app'), appSource(version, behaviour));
  await chmod(join(build, 'bin', 'app'), 0o755);
  await writeFile(join(build, 'VERSION'), `${version}\n`);
  await publishRelease({
    buildDir: build,
    feedDir: feed.feed,
    app: APP,
    version,
    channel,
    platform: PLATFORM,
    entry: 'bin/app',
    keys: [feed.key],
    probes: [{ when: 'post-start', command: ['bin/app', '--self-test'], timeoutMs: probeTimeoutMs }],
  });
}

type Run = CliRun;
const twinslot = cliRunner(() => CLI);

interface Device {
  readonly root: string;
  readonly log: string;
  /** `twinslot launch --root`: one start of the app, as a service manager does it. */
  launch(env?: Record<string, string>): Promise<Run>;
  /** A start that is SIGKILLed (launcher, app and its probe: the whole process group) once `until` appears in the app log. */
  launchAndCut(until: RegExp, env?: Record<string, string>): Promise<void>;
  /** The journal as the launcher reads it. */
  state(): Promise<ReturnType<typeof parseJournal>>;
  appLog(): Promise<string[]>;
}

/**
 * A device with 1.0.0 installed by `twinslot install` from channel base, then pointed
 * at `channel` and updated by `twinslot update`: the channel's release is on trial.
 */
async function device(name: string, channel: string, maxAttempts = 3): Promise<Device> {
  const root = join(feed.dir, name);
  const log = join(feed.dir, `${name}.log`);
  const installed = await twinslot('install', '--feed', feed.url, '--root', root, '--app', APP, '--pub', feed.publicKey, '--channel', 'base', '--platform', PLATFORM, '--max-attempts', String(maxAttempts));
  expect(installed.code, installed.stderr).toBe(0);
  const configPath = join(root, 'twinslot.json');
  await writeFile(configPath, JSON.stringify({ ...JSON.parse(await readFile(configPath, 'utf8')), channel }));
  const updated = await twinslot('update', '--root', root);
  expect(updated.code, updated.stderr).toBe(0);
  expect(updated.stdout).toMatch(/^switched to \S+ \(slot b, on trial\)/);
  const env = (extra: Record<string, string>) => ({ ...process.env, APP_LOG: log, ...extra });
  const dev: Device = {
    root,
    log,
    launch: async (extra = {}) => {
      try {
        const { stdout, stderr } = await exec(process.execPath, [CLI, 'launch', '--root', root], { env: env(extra) });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
    launchAndCut: async (until, extra = {}) => {
      const child: ChildProcess = spawn(process.execPath, [CLI, 'launch', '--root', root], { env: env(extra), detached: true, stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      const deadline = Date.now() + 20_000;
      while (!until.test((await dev.appLog()).join('\n'))) {
        if (Date.now() > deadline) throw new Error(`${until} never appeared in the app log`);
        await new Promise((r) => setTimeout(r, 5));
      }
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
    state: async () => parseJournal(await readFile(join(root, 'state'), 'utf8')),
    appLog: async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean),
  };
  return dev;
}

/** True while a process with this pid runs (a zombie waiting to be reaped by init does not count). */
async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat === null || stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

beforeAll(async () => {
  // TWINSLOT_CHAOS_DIST=<dir>: run on that build (to check that the suite catches a broken one).
  dist = process.env.TWINSLOT_CHAOS_DIST ? { dir: process.env.TWINSLOT_CHAOS_DIST, remove: async () => undefined } : await buildPrivateDist('trial');
  CLI = join(dist.dir, 'cli.js');
  feed = await createFeedFixture();
  await publishApp('1.0.0', 'ok', 'base');
  await publishApp('2.1.0', 'crash', 'crash');
  // Long enough for a loaded machine to start the self-test (which logs its pid), short for a test.
  await publishApp('2.2.0', 'probe-hangs', 'hang', HANG_TIMEOUT_MS);
  await publishApp('2.3.0', 'probe-fails', 'fail');
  await publishApp('2.4.0', 'crash-loop', 'crash-loop');
  await publishApp('2.5.0', 'ok', 'power-cut');
  await publishApp('2.6.0', 'ok', 'commit-kill');
});

afterAll(async () => {
  await feed?.close();
  await dist?.remove();
});

describe.concurrent('a release on trial that misbehaves', () => {
  it('crashes on start: the launcher counts each start and reverts before the fourth', async () => {
    const dev = await device('crash', 'crash');
    for (let start = 1; start <= 3; start++) {
      const run = await dev.launch();
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toContain('fatal: cannot read the configuration');
      expect(await dev.state()).toMatchObject({ active: 'b', trial: true, attempts: start, slots: { b: { version: '2.1.0', status: 'trial' } } });
    }
    const fourth = await dev.launch();
    expect(fourth.code, fourth.stderr).toBe(0);
    expect(fourth.stderr).toContain('twinslot: reverted to 1.0.0 (slot a): max-attempts');
    expect(await dev.state()).toMatchObject({ active: 'a', previous: 'b', trial: false, attempts: 0, bad: ['2.1.0'], slots: { a: { version: '1.0.0', status: 'good' }, b: { status: 'bad' } } });
    expect(await dev.appLog()).toEqual([
      'start 2.1.0 slot b trial 1 attempts 1',
      'start 2.1.0 slot b trial 1 attempts 2',
      'start 2.1.0 slot b trial 1 attempts 3',
      'start 1.0.0 slot a trial 0 attempts 0',
      'confirmed 1.0.0 no-trial',
    ]);
    const update = await twinslot('update', '--root', dev.root);
    expect(update.stdout).toContain('no update: known-bad');
  });

  it('hangs: its post-start probe times out, the trial is reverted and the hung probe killed', async () => {
    const dev = await device('hang', 'hang');
    const started = Date.now();
    const first = await dev.launch();
    expect(first.code, first.stderr).toBe(10);
    // It waited for the timeout, no more.
    expect(Date.now() - started).toBeGreaterThanOrEqual(HANG_TIMEOUT_MS);
    expect(Date.now() - started).toBeLessThan(HANG_TIMEOUT_MS + 15_000);
    const log = await dev.appLog();
    expect(log).toEqual([expect.stringMatching(/^start 2\.2\.0 slot b trial 1 attempts 1$/), expect.stringMatching(/^self-test 2\.2\.0 pid \d+$/), 'confirmed 2.2.0 rolled-back health-check-failed']);
    const pid = Number(/pid (\d+)/.exec(log[1]!)![1]);
    // (Killed with SIGKILL when it timed out; init may take a moment to reap it.)
    for (let i = 0; i < 40 && (await alive(pid)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await alive(pid), 'the hung self-test is still running').toBe(false);
    expect(await dev.state()).toMatchObject({ active: 'a', trial: false, bad: ['2.2.0'], slots: { b: { version: '2.2.0', status: 'bad' } } });
    // The supervisor starts it again: the old release, not counted.
    const second = await dev.launch();
    expect(second.code, second.stderr).toBe(0);
    expect((await dev.appLog()).slice(3)).toEqual(['start 1.0.0 slot a trial 0 attempts 0', 'confirmed 1.0.0 no-trial']);
  });

  it('fails its probe: reverted at the first start, marked bad, not offered again', async () => {
    const dev = await device('fail', 'fail');
    const first = await dev.launch();
    expect(first.code, first.stderr).toBe(10);
    expect(await dev.appLog()).toEqual([
      'start 2.3.0 slot b trial 1 attempts 1',
      expect.stringMatching(/^self-test 2\.3\.0 pid \d+$/),
      'confirmed 2.3.0 rolled-back health-check-failed',
    ]);
    const reverted = await dev.state();
    expect(reverted).toMatchObject({ active: 'a', previous: 'b', trial: false, attempts: 0, bad: ['2.3.0'], slots: { a: { version: '1.0.0', status: 'good' }, b: { version: '2.3.0', status: 'bad' } } });
    const second = await dev.launch();
    expect(second.code, second.stderr).toBe(0);
    // Checking again finds the channel still offering 2.3.0, and refuses it: nothing is written.
    const stateBefore = await readFile(join(dev.root, 'state'));
    const update = await twinslot('update', '--root', dev.root, '--json');
    expect(update.code, update.stderr).toBe(0);
    expect(JSON.parse(update.stdout)).toEqual({ updated: false, reason: 'known-bad' });
    expect(await readFile(join(dev.root, 'state'))).toEqual(stateBefore);
    expect((await dev.appLog()).slice(3)).toEqual(['start 1.0.0 slot a trial 0 attempts 0', 'confirmed 1.0.0 no-trial']);
  });

  it('crash loop: dies during confirmation at every start; after max-attempts (2 here) the launcher reverts', async () => {
    const dev = await device('crash-loop', 'crash-loop', 2);
    // A supervisor restarting the app whenever it exits, until it stays up cleanly.
    const exits: number[] = [];
    for (let start = 0; start < 6; start++) {
      const run = await dev.launch({ SELFTEST_DELAY_MS: '2000' });
      exits.push(run.code);
      if (run.code === 0) break;
      expect(run.stderr).toContain('native module crashed');
    }
    expect(exits).toEqual([1, 1, 0]);
    const log = (await dev.appLog()).filter((l) => !l.startsWith('self-test'));
    expect(log).toEqual(['start 2.4.0 slot b trial 1 attempts 1', 'start 2.4.0 slot b trial 1 attempts 2', 'start 1.0.0 slot a trial 0 attempts 0', 'confirmed 1.0.0 no-trial']);
    expect(await dev.state()).toMatchObject({ active: 'a', trial: false, maxAttempts: 2, bad: ['2.4.0'], slots: { b: { status: 'bad' } } });
  });

  it('power cut during the trial (every process killed between switch and confirm): the next start counts an attempt and commits', async () => {
    const dev = await device('power-cut', 'power-cut');
    // The first start is cut while the app's post-start probe runs (it holds the root lock then).
    await dev.launchAndCut(/^self-test 2\.5\.0/m, { SELFTEST_DELAY_MS: '30000' });
    const cut = await dev.state();
    expect(cut).toMatchObject({ active: 'b', trial: true, attempts: 1, slots: { b: { version: '2.5.0', status: 'trial' }, a: { status: 'good' } } });
    const started = Date.now();
    const next = await dev.launch();
    expect(next.code, next.stderr).toBe(0);
    // The dead app's lock is reclaimed at once, not after it goes stale.
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((await dev.appLog()).filter((l) => !l.startsWith('self-test'))).toEqual([
      'start 2.5.0 slot b trial 1 attempts 1',
      'start 2.5.0 slot b trial 1 attempts 2',
      'confirmed 2.5.0 committed',
    ]);
    expect(await dev.state()).toMatchObject({ active: 'b', previous: 'a', trial: false, attempts: 0, bad: [], slots: { b: { version: '2.5.0', status: 'good' } } });
  });

  it('killed right after the commit: the committed slot stays active and starts are no longer counted', async () => {
    const dev = await device('commit-kill', 'commit-kill');
    await dev.launchAndCut(/^confirmed 2\.6\.0 committed$/m, { APP_STAY: '1' });
    const committed = await readFile(join(dev.root, 'state'));
    expect(parseJournal(committed.toString('utf8'))).toMatchObject({ active: 'b', trial: false, attempts: 0, slots: { b: { version: '2.6.0', status: 'good' } } });
    // More starts than max-attempts: each runs 2.6.0, none is counted, the state file is never rewritten.
    for (let start = 0; start < 4; start++) {
      const run = await dev.launch();
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toBe('');
      expect(await readFile(join(dev.root, 'state'))).toEqual(committed);
    }
    expect((await dev.appLog()).filter((l) => !l.startsWith('self-test'))).toEqual([
      'start 2.6.0 slot b trial 1 attempts 1',
      'confirmed 2.6.0 committed',
      ...Array.from({ length: 4 }, () => ['start 2.6.0 slot b trial 0 attempts 0', 'confirmed 2.6.0 no-trial']).flat(),
    ]);
  });
});
