/**
 * ElectronUpdater: an {@link Updater} wired to Electron's `app`, speaking
 * electron-updater's dialect (event names and payloads, `quitAndInstall()`), so UI code
 * written for electron-updater keeps working while twinslot does the updating.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { UpdateError } from '../errors.js';
import type { UpdaterEvents } from '../events.js';
import type { UpdaterOptions } from '../options.js';
import { type CheckResult, type ConfirmResult, type InstallResult, Updater } from '../updater.js';
import { type ElectronAppLike, type QuitEvent, type RelaunchOptions, checkApp, checkRelaunch } from './app.js';
import { type ElectronUpdaterEvents, progressTracker, toElectronInfo } from './events.js';

/** Options of {@link ElectronUpdater}. */
export interface ElectronUpdaterOptions {
  /**
   * Passed to `app.relaunch()`. An app started by the twinslot launcher must restart
   * through it, or it would run the old slot's executable again and skip the trial
   * count. Default: under a launcher (C or `twinslot launch`), the command it leaves in
   * `TWINSLOT_RELAUNCH` followed by this process's arguments; otherwise none
   * (Electron restarts `process.execPath`). Explicitly, for example:
   * `{ execPath: '/opt/myapp/twinslot-launcher', args: ['--root', root, '--', ...process.argv.slice(1)] }`.
   */
  readonly relaunch?: RelaunchOptions;
  /**
   * When `start()` (or a check that finds the running release revoked) reverted to the
   * previous slot, relaunch into it at once: `app.relaunch()` then `app.exit(0)` (or
   * `app.quit()` when `exit` is absent). Default true. Set false to decide yourself
   * from the `rolled-back` event or the result.
   */
  readonly relaunchOnRevert?: boolean;
  /** Install a downloaded update while the app quits, to run it at the next start (default false). */
  readonly autoInstallOnAppQuit?: boolean;
}

/**
 * Electron's updater facade over twinslot.
 *
 * @example
 * ```ts
 * import { app } from 'electron';
 * import { ElectronUpdater } from 'twinslot/electron';
 *
 * const updates = new ElectronUpdater(app, { installRoot: process.env.TWINSLOT_ROOT! });
 * updates.on('download-progress', (p) => win.setProgressBar(p.percent / 100));
 * updates.on('update-downloaded', () => void updates.quitAndInstall());
 * await updates.start();                 // commits a fresh update, or reverts and relaunches
 * await updates.checkForUpdates();
 * await updates.downloadUpdate();
 * ```
 */
export class ElectronUpdater extends EventEmitter<ElectronUpdaterEvents> {
  /** The underlying updater, for everything else (`setChannel`, `setThrottle`, `status`, ...). */
  readonly updater: Updater;
  readonly #app: ElectronAppLike;
  readonly #relaunch: RelaunchOptions | undefined;
  readonly #relaunchOnRevert: boolean;
  #startup: Promise<ConfirmResult> | null = null;
  /** An update is staged and not installed yet (for `autoInstallOnAppQuit`). */
  #downloaded = false;
  /** We are quitting on purpose: `before-quit` must let it through. */
  #quitting = false;
  readonly #detach: (() => void)[] = [];

  /**
   * Does no I/O. `updater` is an {@link Updater} or its options. With
   * `autoInstallOnAppQuit` it listens to `app`'s `before-quit`.
   */
  constructor(app: ElectronAppLike, updater: Updater | UpdaterOptions, options: ElectronUpdaterOptions = {}) {
    super();
    checkApp(app);
    if (typeof options !== 'object' || options === null) throw new UpdateError('INVALID_OPTIONS', 'new ElectronUpdater(): options must be an object');
    checkRelaunch(options.relaunch);
    for (const key of ['relaunchOnRevert', 'autoInstallOnAppQuit'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new UpdateError('INVALID_OPTIONS', `new ElectronUpdater(): ${key} must be a boolean`);
    }
    this.#app = app;
    this.updater = updater instanceof Updater ? updater : new Updater(updater);
    this.#relaunch = options.relaunch ? { ...options.relaunch } : undefined;
    this.#relaunchOnRevert = options.relaunchOnRevert ?? true;
    this.#forwardEvents();
    if (options.autoInstallOnAppQuit) {
      const onQuit = (event: QuitEvent): void => this.#installOnQuit(event);
      app.on('before-quit', onQuit);
      this.#detach.push(() => app.removeListener?.('before-quit', onQuit));
    }
  }

  /**
   * Call once at every start: waits for `app.whenReady()`, then runs
   * `confirmStartup()` (post-start probes, commit or revert). After a revert it
   * relaunches into the previous slot unless `relaunchOnRevert` is false. Calling it
   * again returns the same promise. Rejects (INVALID_STATE) when nothing is installed
   * in the root, e.g. in development: call it only in an installed app.
   */
  start(): Promise<ConfirmResult> {
    this.#startup ??= (async () => {
      await this.#app.whenReady();
      const result = await this.updater.confirmStartup();
      this.emit('startup', result);
      if (result.outcome === 'rolled-back' && this.#relaunchOnRevert) this.#restartAfterRevert();
      return result;
    })();
    return this.#startup;
  }

  /** `Updater.checkForUpdates()`; a revoked running release reverts and relaunches as in {@link start}. */
  async checkForUpdates(options: { signal?: AbortSignal; ignoreRollout?: boolean } = {}): Promise<CheckResult> {
    const result = await this.updater.checkForUpdates(options);
    if (result.restartRequired && this.#relaunchOnRevert) this.#restartAfterRevert();
    return result;
  }

  /** `Updater.downloadUpdate()`: asks `confirmDownload`, stages into the inactive slot. */
  async downloadUpdate(options: { signal?: AbortSignal } = {}) {
    return this.updater.downloadUpdate(options);
  }

  /**
   * Installs the downloaded update (`installUpdate()`: `confirmInstall`, re-check,
   * pre-switch probes, switch on trial), then emits `before-quit-for-update`, then
   * `app.relaunch()` and `app.quit()`. When the install fails or is declined it
   * rejects and the app keeps running.
   */
  async quitAndInstall(): Promise<InstallResult> {
    const result = await this.updater.installUpdate();
    this.#quitting = true;
    this.emit('before-quit-for-update');
    this.#app.relaunch(this.#relaunchArgs());
    this.#app.quit();
    return result;
  }

  /** Stops listening to the updater and to `app`. */
  dispose(): void {
    for (const detach of this.#detach.splice(0)) detach();
  }

  #relaunchArgs(): RelaunchOptions | undefined {
    if (this.#relaunch) return { ...this.#relaunch, ...(this.#relaunch.args ? { args: [...this.#relaunch.args] } : {}) };
    return launcherRelaunch(process.env.TWINSLOT_RELAUNCH, process.argv.slice(1));
  }

  #restartAfterRevert(): void {
    // The reverted release failed its health check: nothing of it should keep
    // running, and no before-quit listener may veto that.
    this.#quitting = true;
    this.#app.relaunch(this.#relaunchArgs());
    if (this.#app.exit) this.#app.exit(0);
    else this.#app.quit();
  }

  #installOnQuit(event: QuitEvent): void {
    if (this.#quitting || !this.#downloaded) return;
    this.#quitting = true;
    event.preventDefault();
    // Failures were already emitted as `error` by the updater; quit regardless.
    this.updater.installUpdate().then(
      () => this.#app.quit(),
      () => this.#app.quit(),
    );
  }

  #forwardEvents(): void {
    const progress = progressTracker();
    const on = <K extends keyof UpdaterEvents>(name: K, listener: (...args: UpdaterEvents[K]) => void): void => {
      this.updater.on(name, listener);
      this.#detach.push(() => this.updater.off(name, listener));
    };
    on('checking-for-update', () => this.emit('checking-for-update'));
    on('update-available', (info) => {
      progress.reset();
      this.emit('update-available', toElectronInfo(info));
    });
    on('update-not-available', (info) => this.emit('update-not-available', info));
    on('download-progress', (p) => this.emit('download-progress', progress.next(p)));
    on('update-downloaded', (info) => {
      this.#downloaded = true;
      this.emit('update-downloaded', toElectronInfo(info));
    });
    on('plan', (plan) => this.emit('plan', plan));
    on('patch-failed', (info) => this.emit('patch-failed', info));
    on('installing', (info) => this.emit('installing', info));
    on('health-check', (result) => this.emit('health-check', result));
    on('installed', (info) => {
      this.#downloaded = false;
      this.emit('installed', info);
    });
    on('committed', (info) => this.emit('committed', info));
    on('rolled-back', (info) => this.emit('rolled-back', info));
    // EventEmitter throws on an unheard `error`; electron-updater logs instead. Here
    // the rejected promise already reports it, so an unheard error is dropped.
    on('error', (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error, error.message);
    });
  }
}

/**
 * The relaunch through the launcher that started this process: `TWINSLOT_RELAUNCH` is
 * a JSON array (the launcher's command for this root); the app's own arguments follow.
 * Undefined when absent or malformed (then Electron restarts itself as usual).
 */
export function launcherRelaunch(value: string | undefined, appArgs: readonly string[]): RelaunchOptions | undefined {
  if (!value) return undefined;
  let command: unknown;
  try {
    command = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string' && part !== '')) return undefined;
  const [execPath, ...rest] = command as string[];
  return { execPath: execPath!, args: [...rest, ...appArgs] };
}

