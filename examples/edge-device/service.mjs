#!/usr/bin/env node
// An edge service that keeps itself up to date with twinslot.
//
// It is the entry of a release (`--entry service.mjs`) and runs from a slot, started by
// the twinslot launcher under systemd (twinslot-edge.service). At every start it:
//   1. serves HTTP, with GET /healthz saying whether this release works here;
//   2. calls confirmStartup(): while this release is on trial, twinslot probes
//      /healthz and commits the release, or reverts to the previous one, in which case
//      the service exits and systemd restarts it (through the launcher) in the old slot;
//   3. starts automatic updates: checks on a jittered interval outside quiet hours,
//      downloads in the background at a capped rate, and once a release is staged,
//      installs it and exits so that systemd restarts it into the new slot.
// A release that crashes before it gets to step 2 is caught by the launcher, which
// counts the starts of a release on trial and reverts after max-attempts.
//
// Settings come from the environment (Environment= lines of the unit):
//   EDGE_HOST, EDGE_PORT              where to listen (default 0.0.0.0:8080)
//   EDGE_CHECK_INTERVAL_MS            mean time between update checks (default 4 h)
//   EDGE_QUIET_HOURS                  comma-separated local windows without checks, e.g. "07:00-19:00"
//   EDGE_MAX_BYTES_PER_SECOND         download rate cap, 0 = none (default 262144)
//   EDGE_PROBE_TIMEOUT_MS             how long a new release gets to answer /healthz (default 30 000)
// The feed, app id and keys come from <root>/twinslot.json, written by `twinslot install`.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Updater } from 'twinslot';

const env = process.env;
const ROOT = env.TWINSLOT_ROOT;
if (!ROOT || env.TWINSLOT_LAUNCHED !== '1') {
  console.error('edge: start this service through the twinslot launcher (twinslot-launcher --root <dir>, or twinslot launch --root <dir>)');
  process.exit(2);
}
const VERSION = env.TWINSLOT_VERSION ?? '?';
const SLOT = env.TWINSLOT_SLOT ?? '?';
const HOST = env.EDGE_HOST ?? '0.0.0.0';
const PORT = integer('EDGE_PORT', 8080);
const CHECK_INTERVAL_MS = integer('EDGE_CHECK_INTERVAL_MS', 4 * 3_600_000);
const MAX_BYTES_PER_SECOND = integer('EDGE_MAX_BYTES_PER_SECOND', 256 * 1024);
const PROBE_TIMEOUT_MS = integer('EDGE_PROBE_TIMEOUT_MS', 30_000);
const QUIET_HOURS = (env.EDGE_QUIET_HOURS ?? '')
  .split(',')
  .map((w) => w.trim())
  .filter(Boolean);

function integer(name, fallback) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`edge: ${name} must be a whole number, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

const log = (line) => console.log(`edge ${VERSION} (slot ${SLOT}): ${line}`);

// The release's own settings, shipped in the slot next to this file. A release whose
// settings are broken still starts and answers, but reports itself unhealthy, so
// that its trial fails and the device goes back to the release that worked.
function loadSettings() {
  try {
    const settings = JSON.parse(readFileSync(join(import.meta.dirname, 'service.json'), 'utf8'));
    if (typeof settings?.greeting !== 'string') return { problem: 'service.json: "greeting" must be a string' };
    return { settings };
  } catch (err) {
    return { problem: `service.json: ${err.message}` };
  }
}
const { settings, problem } = loadSettings();
if (problem) log(`unhealthy: ${problem}`);

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://local').pathname;
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body) + '\n');
  };
  if (path === '/healthz') {
    reply(problem ? 503 : 200, { ok: !problem, version: VERSION, slot: SLOT, ...(problem ? { problem } : {}) });
  } else if (path === '/' && !problem) {
    reply(200, { message: settings.greeting, version: VERSION });
  } else {
    reply(problem ? 503 : 404, { error: problem ?? 'not found' });
  }
});

const updater = new Updater({
  installRoot: ROOT,
  maxBytesPerSecond: MAX_BYTES_PER_SECOND,
  // Run by confirmStartup() while this release is on trial (after any probes the
  // release itself carries): healthy once /healthz answers 2xx within the timeout.
  probes: [{ kind: 'http', name: 'GET /healthz', url: `http://${probeHost(HOST)}:${PORT}/healthz`, timeoutMs: PROBE_TIMEOUT_MS, intervalMs: 200 }],
});
const autoUpdate = { intervalMs: Math.max(1000, CHECK_INTERVAL_MS), quietHours: QUIET_HOURS };

function probeHost(host) {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

let stopping = false;
/** Stops serving and exits; systemd (Restart=always) starts the launcher again, which picks the slot. */
async function exit(code, why) {
  if (stopping) return;
  stopping = true;
  log(why);
  await updater.stopAutoUpdate();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(() => resolve()));
  process.exit(code);
}
process.on('SIGTERM', () => void exit(0, 'stopping (SIGTERM)'));
process.on('SIGINT', () => void exit(0, 'stopping (SIGINT)'));

updater.on('update-available', (info) => log(`update ${info.version} available (${info.size} bytes), downloading at most ${MAX_BYTES_PER_SECOND || 'unlimited'} B/s`));
updater.on('update-not-available', (info) => {
  // Worth a line only when something is held back (a release this device reverted, a
  // halted rollout, ...); a release seen for the first time is simply taken at the next check.
  if (info.version && info.reason !== 'up-to-date' && info.reason !== 'deferred') log(`not taking ${info.version}: ${info.reason}`);
});
updater.on('update-downloaded', (info) => void installAndRestart(info.version));
updater.on('error', (err) => {
  // Stopping the schedule aborts a check or download in progress (ABORTED, as any
  // cancelled call): expected while this service shuts down or installs, not a problem.
  if (err.code === 'ABORTED' && (stopping || installing)) return;
  log(`update problem ${err.code}: ${err.message}`);
});

let installing = false;
async function installAndRestart(version) {
  if (installing || stopping) return;
  installing = true;
  // The event fires inside the download step: stopping the schedule waits for that
  // step to finish, and then nothing else runs while the slots switch.
  await updater.stopAutoUpdate();
  try {
    const installed = await updater.installUpdate();
    await exit(0, `installed ${installed.version} into slot ${installed.slot}; restarting into it`);
  } catch (err) {
    // A pre-switch probe refused it, or the staged files changed: stay on this release.
    log(`not installing ${version}: ${err.code ?? 'ERROR'} ${err.message}`);
    installing = false;
    if (!stopping) updater.startAutoUpdate(autoUpdate);
  }
}

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, HOST, () => resolve());
});
log(`listening on ${HOST}:${PORT}`);

let startup;
try {
  startup = await updater.confirmStartup();
} catch (err) {
  // Not confirmed is not committed: exiting lets the launcher count this start.
  console.error(`edge ${VERSION}: confirmStartup failed: ${err.code ?? 'ERROR'} ${err.message}`);
  await exit(1, 'exiting: could not confirm this start');
}
if (startup?.outcome === 'rolled-back') {
  await exit(1, `${startup.fromVersion} failed its trial (${startup.reason}); reverted to ${startup.toVersion}, restarting into it`);
} else if (startup) {
  log(startup.outcome === 'committed' ? `trial passed, ${VERSION} committed` : 'running');
  updater.startAutoUpdate(autoUpdate);
}
