// The main process of an Electron app that updates itself with twinslot/electron.
//
// The app is installed into an install root (`twinslot install`, which also writes
// <root>/twinslot.json with the feed URL, keys and channel) and always started
// through the twinslot launcher, which picks the active slot and sets TWINSLOT_ROOT:
//
//     /opt/myapp/twinslot-launcher --root /opt/myapp -- <app arguments>
//
// Flow: at every start, confirm (or revert) a freshly installed version once its
// window has loaded; then check the channel, ask before downloading, show the
// download on the taskbar / dock icon, ask before installing, restart through the
// launcher. Critical releases skip both questions (the publisher marks them with
// `--critical`).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, type MessageBoxOptions, app, dialog } from 'electron';
import { type UpdateInfo, isUpdateError } from 'twinslot';
import { ElectronUpdater } from 'twinslot/electron';

const CHECK_EVERY_MS = 4 * 60 * 60 * 1000;
const here = fileURLToPath(new URL('.', import.meta.url));

let win: BrowserWindow | null = null;
let resolveLoaded: () => void = () => undefined;
const windowLoaded = new Promise<void>((resolve) => (resolveLoaded = resolve));

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({ width: 900, height: 600, show: false });
  window.once('ready-to-show', () => window.show());
  window.webContents.once('did-finish-load', () => resolveLoaded());
  window.on('closed', () => (win = null));
  void window.loadFile(join(here, 'index.html'));
  return window;
}

/** A yes/no question; true for the first button. */
async function ask(message: string, detail: string, yes: string, no: string): Promise<boolean> {
  const options: MessageBoxOptions = { type: 'question', buttons: [yes, no], defaultId: 0, cancelId: 1, message, detail, noLink: true };
  const { response } = win ? await dialog.showMessageBox(win, options) : await dialog.showMessageBox(options);
  return response === 0;
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

function createUpdater(root: string): ElectronUpdater {
  const updates = new ElectronUpdater(
    app,
    {
      installRoot: root, // feed, keys and channel come from <root>/twinslot.json
      // Post-start health: the new version counts as good once its window loaded.
      // Until then it runs on trial; a crash loop or a timeout reverts it.
      probes: [{ kind: 'function', name: 'window loaded', timeoutMs: 60_000, run: async () => (await windowLoaded, true) }],
      confirmDownload: (info: UpdateInfo) =>
        ask(`${app.getName()} ${info.version} is available`, `You have ${info.currentVersion ?? 'an older version'}. Download ${mib(info.size)} now?`, 'Download', 'Later'),
      confirmInstall: (info: UpdateInfo) =>
        ask(`${app.getName()} ${info.version} is ready`, 'Restart now to use it? If it does not start properly, the current version comes back on its own.', 'Restart now', 'Later'),
    },
    // Restarts go through the launcher that started this app (TWINSLOT_RELAUNCH), not this
    // slot's executable: the new slot must run, on trial. A `relaunch` option overrides it.
  );

  // electron-updater's event names and payloads: existing UI code keeps working.
  updates.on('update-available', (info) => console.log(`update ${info.currentVersion} -> ${info.version} (${info.releaseDate})`));
  updates.on('download-progress', (p) => win?.setProgressBar(p.percent / 100));
  updates.on('update-downloaded', () => win?.setProgressBar(-1));
  updates.on('before-quit-for-update', () => console.log('restarting into the new version'));
  updates.on('rolled-back', (r) => console.warn(`update reverted: ${r.fromVersion} -> ${r.toVersion} (${r.reason})`));
  updates.on('error', (err) => {
    win?.setProgressBar(-1);
    console.error(`update failed: ${err.code}: ${err.message}`);
  });
  return updates;
}

async function updateOnce(updates: ElectronUpdater): Promise<void> {
  try {
    const check = await updates.checkForUpdates();
    if (!check.available) return;
    await updates.downloadUpdate(); // asks first; returns at once when already downloaded
    await updates.quitAndInstall(); // asks first; installs, then relaunches and quits
  } catch (err) {
    // "Later" rejects with ABORTED: ask again at the next check. The rest was
    // reported through the `error` event; the app keeps running either way.
    if (!isUpdateError(err)) throw err;
  }
}

async function main(): Promise<void> {
  await app.whenReady();
  win = createWindow();
  app.on('window-all-closed', () => app.quit());

  const root = process.env.TWINSLOT_ROOT;
  if (!root) {
    console.log('not started by the twinslot launcher (a development run): updates are off');
    return;
  }
  const updates = createUpdater(root);
  // Commits this version after its probes pass, or reverts and relaunches the previous one.
  const startup = await updates.start();
  if (startup.outcome === 'rolled-back') return;
  await updateOnce(updates);
  setInterval(() => void updateOnce(updates), CHECK_EVERY_MS).unref();
}

main().catch((err: unknown) => {
  console.error(err);
  app.exit(1);
});
