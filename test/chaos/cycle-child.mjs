// One device process for test/chaos/kill-cycle.test.ts: the whole life of an update,
// run from whatever state the root is in, so the test can SIGKILL it anywhere and
// start it again. Uses the built package ($CHAOS_DIST, the suite's own build of
// dist/) and its real code paths:
//
//   loop:
//     launch   prepareLaunch(), what `twinslot launch` runs: settle leftovers, count a
//              trial start or revert a crash loop, persist that, say what to execute
//     app      run the entry the launcher picked (it must start and print its version;
//              skipped with CHAOS_APP=0: the app writes nothing, so only its cost differs)
//     confirm  Updater.confirmStartup(): post-start probes, commit or revert
//              (reverted: start again, as a supervisor would)
//     check    checkForUpdates(); nothing offered: print "done" and exit 0
//     download downloadUpdate() (named "stage" once it touches the slot itself)
//     install  installUpdate(): re-check, pre-switch probes, switch on trial
//     then start again (loop)
//
// Every phase change, lifecycle event and mutating file operation is announced on
// stdout as one line "M <phase> <what>"; with CHAOS_SYNC=1 the process then blocks
// (a synchronous read of one byte on stdin) until the test answers, so the test can
// SIGKILL it exactly at that boundary, or answer and kill it a few ms later, inside
// whatever comes next. The file operations go to the real file system: the tap only
// announces them (it wraps nodeFileSystem and delegates every call unchanged).
//
// argv: <root>
// stdout: "M ..." lines, then "done <active version> <active slot> <reason>".
import { spawnSync } from 'node:child_process';
import { readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = (path) => import(pathToFileURL(join(process.env.CHAOS_DIST, path)).href);
const { nodeFileSystem } = await dist('io/file-system.js');
const { prepareLaunch } = await dist('slots/launch.js');
const { rootLayout } = await dist('slots/layout.js');
const { parseJournal } = await dist('slots/state-file.js');

const [root] = process.argv.slice(2);
const layout = rootLayout(root);
const sync = process.env.CHAOS_SYNC === '1';
// Starting the app costs a Node start; the test asks for it when it means to kill it there, and on the last run.
const runApp = process.env.CHAOS_APP !== '0';
let phase = 'boot';
const byte = Buffer.alloc(1);

function mark(what) {
  writeSync(1, `M ${phase} ${what}\n`);
  if (!sync) return;
  for (;;) {
    try {
      if (readSync(0, byte, 0, 1, null) === 0) process.exit(70); // the test went away
      return;
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

function enter(next) {
  phase = next;
  mark('enter');
}

const rel = (path) => relative(root, path) || '.';
const WRITE_FLAGS = 0o3; // O_WRONLY | O_RDWR

/** nodeFileSystem, announcing every mutating call before making it. */
function tap(inner) {
  const inSlot = (path) => /^slots\/[ab](\/|\.json)/.test(rel(path));
  const op = (name, path, extra = '') => {
    if (phase === 'download' && inSlot(path)) phase = 'stage';
    mark(`fs ${name} ${rel(path)}${extra}`);
  };
  const wrapHandle = (handle, path) => ({
    read: (...a) => handle.read(...a),
    stat: () => handle.stat(),
    write: (...a) => (op('write', path), handle.write(...a)),
    sync: () => (op('fsync', path), handle.sync()),
    truncate: (n) => (op('truncate', path), handle.truncate(n)),
    chmod: (m) => (op('fchmod', path), handle.chmod(m)),
    close: () => (op('close', path), handle.close()),
  });
  return {
    ...inner,
    open: async (path, flags, mode) => {
      if ((flags & WRITE_FLAGS) === 0) return inner.open(path, flags, mode);
      op('open', path);
      return wrapHandle(await inner.open(path, flags, mode), path);
    },
    rename: (from, to) => (op('rename', to, ` <- ${rel(from)}`), inner.rename(from, to)),
    unlink: (path) => (op('unlink', path), inner.unlink(path)),
    mkdir: (path) => (op('mkdir', path), inner.mkdir(path)),
    rmdir: (path) => (op('rmdir', path), inner.rmdir(path)),
    rmTree: (path) => (op('rmtree', path), inner.rmTree(path)),
    chmod: (path, mode) => (op('chmod', path), inner.chmod(path, mode)),
    syncDir: (path) => (op('syncdir', path), inner.syncDir(path)),
    copyFile: (from, to) => (op('copy', to), inner.copyFile(from, to)),
  };
}

const fs = tap(nodeFileSystem);

/** The journal as it is on disk now, or null (only to name the phases). */
function peekTrial() {
  try {
    return parseJournal(readFileSync(layout.state, 'utf8')).trial;
  } catch {
    return false;
  }
}

// Loaded when the app first needs it (as an app would), so a launch does not wait for it.
let Updater = null;

async function makeUpdater() {
  Updater ??= (await dist('index.js')).Updater;
  const updater = new Updater({ installRoot: root, fs, retry: { attemptsPerMirror: 2, baseDelayMs: 5, maxDelayMs: 20 } });
  for (const name of ['checking-for-update', 'update-available', 'update-not-available', 'plan', 'download-progress', 'update-downloaded', 'installing', 'health-check', 'installed', 'committed', 'rolled-back']) {
    updater.on(name, () => mark(`event ${name}`));
  }
  return updater;
}

/** What the lock directory holds, for the test's report. */
function lockInfo() {
  try {
    const age = Date.now() - statSync(layout.lock).mtimeMs;
    let owner = 'no owner file';
    try {
      owner = `owner ${JSON.stringify(readFileSync(join(layout.lock, 'owner'), 'utf8'))}`;
    } catch {}
    return `${owner}, ${Math.round(age)} ms old`;
  } catch {
    return 'no lock';
  }
}

/**
 * Retries a step that found the root locked. A killed holder's lock is reclaimed at
 * once; one killed in the instant between taking the lock and writing its owner file
 * is reclaimed when it goes stale (10 s).
 */
async function unlocked(step) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (err?.code !== 'LOCKED' || Date.now() > deadline) throw err;
      mark(`locked, retrying (${lockInfo()})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

try {
  mark('started');
  for (let starts = 0; ; starts++) {
    if (starts > 8) throw new Error('no convergence after 8 starts in one process');
    enter(peekTrial() ? 'launch:trial' : 'launch');
    const plan = await unlocked(() => prepareLaunch(fs, layout, (ms) => new Promise((r) => setTimeout(r, ms))));
    const d = plan.decision;
    mark(`decision ${d.action} ${plan.slot} ${plan.version}${d.action === 'run' ? ` counted=${d.counted}` : ` ${d.reason}`}`);
    const trial = d.journal.trial;
    if (runApp) {
      enter(trial ? 'app:trial' : 'app');
      // The app the launcher starts; the sample app prints its version and slot and exits.
      const ran = spawnSync(plan.entry, [], { cwd: plan.slotDir, encoding: 'utf8', env: { ...process.env, TWINSLOT_ROOT: root, TWINSLOT_SLOT: plan.slot, TWINSLOT_VERSION: plan.version, TWINSLOT_LAUNCHED: '1' } });
      if (ran.status !== 0 || !ran.stdout.includes(`sample app ${plan.version} running from slot ${plan.slot}`)) {
        throw new Error(`the entry ${plan.entry} did not run as ${plan.version}: status ${ran.status} ${ran.error?.message ?? ''} ${ran.stdout}${ran.stderr}`);
      }
      mark(`ran ${plan.version}`);
    }
    enter(trial ? 'confirm:trial' : 'confirm');
    const confirmed = await unlocked(async () => (await makeUpdater()).confirmStartup());
    mark(`outcome ${confirmed.outcome}${confirmed.outcome === 'rolled-back' ? ` ${confirmed.reason}` : ''}`);
    if (confirmed.outcome === 'rolled-back') continue;
    enter('check');
    const updater = await makeUpdater();
    const check = await unlocked(() => updater.checkForUpdates());
    if (!check.available) {
      const status = await updater.status();
      writeSync(1, `done ${status.activeVersion} ${status.active} ${check.reason}\n`);
      break;
    }
    enter('download');
    await updater.downloadUpdate();
    enter('install');
    await updater.installUpdate();
    mark('switched');
  }
} catch (err) {
  process.stderr.write(`${err?.code ?? 'ERROR'}: ${err?.message ?? err}\n${err?.stack ?? ''}\n`);
  process.exitCode = 1;
}
