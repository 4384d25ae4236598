// twinslot/electron driven with a stand-in for Electron's `app` (a plain object that
// records calls and runs `before-quit` listeners on quit(), as Electron does) against
// a real feed on loopback, real install roots and real probe processes.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ElectronUpdater } from '../../../src/electron/index.js';
import { launcherRelaunch } from '../../../src/electron/electron-updater.js';
import type { ElectronAppLike, ElectronProgressInfo, QuitEvent, RelaunchOptions } from '../../../src/electron/index.js';
import { Updater } from '../../../src/updater.js';
import { type FeedFixture, createFeedFixture } from '../../helpers/fixture.js';
import { expectCode, expectRejectCode } from '../expect-code.js';

interface FakeApp extends ElectronAppLike {
  /** Every call and event, in order, shared with the test's own listeners. */
  readonly log: string[];
  readonly relaunches: (RelaunchOptions | undefined)[];
  ready(): void;
  readonly quitListeners: ((e: QuitEvent) => void)[];
}

function fakeApp(log: string[] = [], { withExit = true } = {}): FakeApp {
  let ready!: () => void;
  const whenReady = new Promise<void>((resolve) => (ready = resolve));
  const app: FakeApp = {
    log,
    relaunches: [],
    quitListeners: [],
    ready: () => ready(),
    whenReady: () => whenReady,
    relaunch(options) {
      log.push('relaunch');
      app.relaunches.push(options);
    },
    quit() {
      // Electron: before-quit listeners run first and may veto the quit.
      let prevented = false;
      for (const listener of [...app.quitListeners]) listener({ preventDefault: () => (prevented = true) });
      log.push(prevented ? 'quit-prevented' : 'quit');
    },
    on(event, listener) {
      if (event === 'before-quit') app.quitListeners.push(listener);
      return app;
    },
    removeListener(_event, listener) {
      app.quitListeners.splice(app.quitListeners.indexOf(listener), 1);
      return app;
    },
  };
  if (withExit) app.exit = (code) => log.push(`exit ${code}`);
  return app;
}

let feed: FeedFixture;

beforeEach(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0');
});

afterEach(async () => {
  await feed.close();
});

/** A root running `version` on trial (installed and switched, not yet confirmed). */
async function rootOnTrial(version: string, selfTest: 'pass' | 'fail'): Promise<string> {
  const root = await feed.install(`root-${version}`);
  await feed.publish(version, { selfTest });
  const updater = new Updater(feed.options(root));
  await updater.downloadUpdate();
  await updater.installUpdate();
  return root;
}

describe('construction', () => {
  it('refuses an app without the members it calls, and bad options, before any I/O', () => {
    const root = join(feed.dir, 'never-created');
    expectCode(() => new ElectronUpdater({} as ElectronAppLike, feed.options(root)), 'INVALID_OPTIONS');
    expectCode(() => new ElectronUpdater({ ...fakeApp(), relaunch: 1 } as unknown as ElectronAppLike, feed.options(root)), 'INVALID_OPTIONS');
    expectCode(() => new ElectronUpdater(fakeApp(), feed.options(root), { relaunch: { args: [1] } as unknown as RelaunchOptions }), 'INVALID_OPTIONS');
    expectCode(() => new ElectronUpdater(fakeApp(), feed.options(root), { autoInstallOnAppQuit: 'yes' as unknown as boolean }), 'INVALID_OPTIONS');
    expectCode(() => new ElectronUpdater(fakeApp(), feed.options(root, { connections: 0 })), 'INVALID_OPTIONS');
    const ok = new ElectronUpdater(fakeApp(), feed.options(root));
    expect(ok.updater).toBeInstanceOf(Updater);
    return expect(access(root)).rejects.toThrow();
  });

  it('wraps a given Updater instead of making one', async () => {
    const updater = new Updater(feed.options(await feed.install()));
    expect(new ElectronUpdater(fakeApp(), updater).updater).toBe(updater);
  });
});

describe('start(): confirmStartup once the app is ready', () => {
  it('waits for whenReady, then commits the trial; no restart', async () => {
    const root = await rootOnTrial('2.0.0', 'pass');
    const app = fakeApp();
    const electron = new ElectronUpdater(app, feed.options(root));
    electron.on('committed', (c) => app.log.push(`committed ${c.version}`));
    electron.on('startup', (r) => app.log.push(`startup ${r.outcome}`));
    const started = electron.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(app.log).toEqual([]);
    expect(await electron.updater.status()).toMatchObject({ trial: true });
    app.ready();
    expect(await started).toMatchObject({ outcome: 'committed', version: '2.0.0' });
    expect(electron.start()).toBe(started);
    expect(app.log).toEqual(['committed 2.0.0', 'startup committed']);
    expect(await electron.updater.status()).toMatchObject({ active: 'b', activeVersion: '2.0.0', trial: false });
  });

  it('a failed post-start probe reverts, then relaunches into the previous slot and exits', async () => {
    const root = await rootOnTrial('2.0.0', 'fail');
    const app = fakeApp();
    const relaunch = { execPath: '/opt/app/twinslot-launcher', args: ['--root', root, '--'] };
    const electron = new ElectronUpdater(app, feed.options(root), { relaunch });
    electron.on('rolled-back', (r) => app.log.push(`rolled-back ${r.fromVersion}->${r.toVersion} ${r.reason}`));
    app.ready();
    const result = await electron.start();
    expect(result).toMatchObject({ outcome: 'rolled-back', restartRequired: true, toVersion: '1.0.0' });
    expect(app.log).toEqual(['rolled-back 2.0.0->1.0.0 health-check-failed', 'relaunch', 'exit 0']);
    expect(app.relaunches).toEqual([relaunch]);
    expect(await electron.updater.status()).toMatchObject({ active: 'a', activeVersion: '1.0.0', trial: false });
  });

  it('with relaunchOnRevert false it only reports the revert; without app.exit it quits', async () => {
    const root = await rootOnTrial('2.0.0', 'fail');
    const quiet = fakeApp();
    quiet.ready();
    expect(await new ElectronUpdater(quiet, feed.options(root), { relaunchOnRevert: false }).start()).toMatchObject({ outcome: 'rolled-back' });
    expect(quiet.log).toEqual([]);

    const root2 = await rootOnTrial('2.0.1', 'fail');
    const noExit = fakeApp([], { withExit: false });
    noExit.ready();
    await new ElectronUpdater(noExit, feed.options(root2)).start();
    expect(noExit.log).toEqual(['relaunch', 'quit']);
    expect(noExit.relaunches).toEqual([undefined]);
  });
});

describe('electron-updater events and quitAndInstall() with a real update', () => {
  it('maps every event, then installs before before-quit-for-update, relaunch and quit', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0', { payloadBytes: 1024 * 1024 });
    const app = fakeApp();
    const electron = new ElectronUpdater(app, feed.options(root), { relaunch: { args: ['--updated'] } });
    const seen: { name: string; args: unknown[] }[] = [];
    for (const name of ['checking-for-update', 'update-available', 'update-not-available', 'download-progress', 'update-downloaded'] as const) {
      electron.on(name, (...args: unknown[]) => seen.push({ name, args }));
    }
    electron.on('installed', (i) => app.log.push(`installed ${i.version}`));
    electron.on('before-quit-for-update', () => app.log.push('before-quit-for-update'));

    const check = await electron.checkForUpdates();
    expect(check.available).toBe(true);
    await electron.downloadUpdate();
    const names = seen.map((e) => e.name).filter((n, i, all) => n !== 'download-progress' || all[i - 1] !== 'download-progress');
    expect(names).toEqual(['checking-for-update', 'update-available', 'download-progress', 'update-downloaded']);

    const available = seen[1]!.args[0] as Record<string, unknown>;
    expect(available).toMatchObject({ version: '2.0.0', currentVersion: '1.0.0', channel: 'stable', critical: false });
    expect(new Date(available.releaseDate as string).toISOString()).toBe(available.releaseDate);
    expect(available.fileCount).toBe(check.release!.files);
    expect(available).not.toHaveProperty('files');

    const progress = seen.filter((e) => e.name === 'download-progress').map((e) => e.args[0] as ElectronProgressInfo);
    for (const p of progress) {
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['total', 'delta', 'transferred', 'percent', 'bytesPerSecond']));
      expect(p.delta).toBeGreaterThanOrEqual(0);
    }
    const last = progress.at(-1)!;
    expect(last.transferred).toBe(last.total);
    expect(last.percent).toBe(100);
    expect(progress.reduce((sum, p) => sum + p.delta, 0)).toBe(last.total);
    expect(seen.at(-1)!.args[0]).toMatchObject({ version: '2.0.0' });

    expect(app.log).toEqual([]);
    const result = await electron.quitAndInstall();
    expect(result).toEqual({ version: '2.0.0', slot: 'b', restartRequired: true });
    expect(app.log).toEqual(['installed 2.0.0', 'before-quit-for-update', 'relaunch', 'quit']);
    expect(app.relaunches).toEqual([{ args: ['--updated'] }]);
    expect(await electron.updater.status()).toMatchObject({ active: 'b', trial: true });

    const again = await electron.checkForUpdates();
    expect(again).toMatchObject({ available: false });
    expect(seen.at(-1)).toMatchObject({ name: 'update-not-available', args: [{ reason: 'up-to-date', version: '2.0.0', currentVersion: '2.0.0' }] });
  });

  it('a declined install rejects, emits error, and neither relaunches nor quits', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const app = fakeApp();
    const electron = new ElectronUpdater(app, feed.options(root, { confirmInstall: () => false }));
    const errors: [string, string][] = [];
    electron.on('error', (err, message) => errors.push([err.code, message]));
    electron.on('before-quit-for-update', () => app.log.push('before-quit-for-update'));
    await electron.downloadUpdate();
    await expectRejectCode(electron.quitAndInstall(), 'ABORTED');
    expect(errors).toEqual([['ABORTED', 'the install of 2.0.0 was declined']]);
    expect(app.log).toEqual([]);
    expect(await electron.updater.status()).toMatchObject({ active: 'a', trial: false, slots: { b: { status: 'staged' } } });
  });

  it('an error nobody listens to only rejects (EventEmitter would throw)', async () => {
    const root = await feed.install();
    const electron = new ElectronUpdater(fakeApp(), feed.options(root));
    await expectRejectCode(electron.downloadUpdate(), 'INVALID_STATE');
  });

  it('autoInstallOnAppQuit installs a downloaded update while quitting, then quits once', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const app = fakeApp();
    const electron = new ElectronUpdater(app, feed.options(root), { autoInstallOnAppQuit: true });
    electron.on('installed', (i) => app.log.push(`installed ${i.version}`));
    app.quit(); // nothing downloaded: quits as usual
    expect(app.log).toEqual(['quit']);
    await electron.downloadUpdate();
    app.log.length = 0;
    app.quit();
    expect(app.log).toEqual(['quit-prevented']);
    await expect.poll(() => app.log.length, { timeout: 20_000 }).toBe(3);
    expect(app.log).toEqual(['quit-prevented', 'installed 2.0.0', 'quit']);
    expect(app.relaunches).toEqual([]);
    expect(await electron.updater.status()).toMatchObject({ active: 'b', trial: true });
    electron.dispose();
    expect(app.quitListeners).toEqual([]);
  });
});

describe('launcherRelaunch (the default relaunch under a launcher)', () => {
  it('runs the command the launcher left in TWINSLOT_RELAUNCH, with the app\'s own arguments after it', () => {
    const command = JSON.stringify(['/opt/app/twinslot-launcher', '--root', '/var/lib/app root', '--']);
    expect(launcherRelaunch(command, ['--flag', 'x y'])).toEqual({ execPath: '/opt/app/twinslot-launcher', args: ['--root', '/var/lib/app root', '--', '--flag', 'x y'] });
  });

  it('falls back to Electron\'s own relaunch when the variable is absent or malformed', () => {
    for (const value of [undefined, '', 'not json', '{}', '[]', '[1]', '[""]', '"x"']) expect(launcherRelaunch(value, ['a'])).toBeUndefined();
  });
});

