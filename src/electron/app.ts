/**
 * The slice of Electron's `app` that twinslot/electron uses, typed by shape so the
 * package never depends on electron: Electron's own `app` satisfies it, and a test can
 * pass a plain object.
 *
 * @module
 */
import { UpdateError } from '../errors.js';

/** What `app.relaunch()` takes: Electron's `RelaunchOptions`. */
export interface RelaunchOptions {
  /** The executable to start; point it at the twinslot launcher (see `ElectronUpdaterOptions.relaunch`). */
  execPath?: string;
  /** Its arguments (Electron's default: the current ones). */
  args?: string[];
}

/** The event Electron passes to `before-quit` listeners. */
export interface QuitEvent {
  /** Vetoes the quit. */
  preventDefault(): void;
}

/** The members of Electron's `app` twinslot/electron calls. */
export interface ElectronAppLike {
  /** Resolves once Electron has initialized. */
  whenReady(): Promise<unknown>;
  /** Starts a new instance when this one exits. */
  relaunch(options?: RelaunchOptions): void;
  /** Graceful quit: windows close, `before-quit` runs, a listener may veto it. */
  quit(): void;
  /** Immediate exit without `before-quit`; used after a revert when present. */
  exit?(exitCode?: number): void;
  /** Used only with `autoInstallOnAppQuit`. */
  on(event: 'before-quit', listener: (event: QuitEvent) => void): unknown;
  /** Used by `dispose()` when present. */
  removeListener?(event: 'before-quit', listener: (event: QuitEvent) => void): unknown;
}

/** Throws `INVALID_OPTIONS` unless `app` has the members used. */
export function checkApp(app: unknown): asserts app is ElectronAppLike {
  if (typeof app !== 'object' || app === null) throw new UpdateError('INVALID_OPTIONS', "new ElectronUpdater(): pass Electron's app object");
  const a = app as Record<string, unknown>;
  for (const name of ['whenReady', 'relaunch', 'quit', 'on'] as const) {
    if (typeof a[name] !== 'function') throw new UpdateError('INVALID_OPTIONS', `new ElectronUpdater(): app.${name} must be a function`);
  }
  if (a.exit !== undefined && typeof a.exit !== 'function') throw new UpdateError('INVALID_OPTIONS', 'new ElectronUpdater(): app.exit must be a function');
}

/** Throws `INVALID_OPTIONS` unless `options` is a valid `RelaunchOptions`. */
export function checkRelaunch(options: unknown): asserts options is RelaunchOptions | undefined {
  if (options === undefined) return;
  const o = options as RelaunchOptions | null;
  const argsOk = o?.args === undefined || (Array.isArray(o.args) && o.args.every((x) => typeof x === 'string'));
  if (typeof o !== 'object' || o === null || (o.execPath !== undefined && (typeof o.execPath !== 'string' || o.execPath === '')) || !argsOk) {
    throw new UpdateError('INVALID_OPTIONS', 'new ElectronUpdater(): relaunch must be { execPath?: string, args?: string[] }');
  }
}
