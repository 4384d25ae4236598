/**
 * twinslot/electron: twinslot in an Electron main process, with electron-updater's
 * event names and payloads and its `quitAndInstall()`, so existing update UI code
 * keeps working. Electron is not a dependency: pass your `app` object.
 *
 * @module
 */
export { ElectronUpdater, type ElectronUpdaterOptions } from './electron-updater.js';
export type { ElectronAppLike, QuitEvent, RelaunchOptions } from './app.js';
export type { ElectronProgressInfo, ElectronUpdateInfo, ElectronUpdaterEvents } from './events.js';
