// `npm run demo`: the whole life of an update on loopback, in a temp folder.
//
//   1. a publisher makes a key and publishes v1.0.0 and v2.0.0 of a sample app
//   2. a device installs v1 with the CLI, then its main process updates itself to v2
//      with the Updater API (every lifecycle event printed), restarts through the
//      launcher and confirms the new slot with its health probe
//   3. the publisher ships v3.0.0 whose self-test fails; the device installs it, the
//      post-start probe fails, and twinslot reverts to v2 on its own
//
// Nothing leaves this machine and nothing is left behind.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Updater } from '../../dist/index.js';
import { serveFeed } from './feed-server.mjs';
import { writeSampleApp } from './sample-app.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'dist', 'cli.js');
const started = Date.now();

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = '') => console.log(s);
const step = (s) => say(`\n${bold(`== ${s}`)}`);
const event = (name, detail = '') => say(`   [event] ${name}${detail ? `  ${detail}` : ''}`);

async function twinslot(args, { quiet = false } = {}) {
  say(`   $ twinslot ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  const { stdout } = await run(process.execPath, [cli, ...args]);
  if (!quiet) for (const line of stdout.trim().split('\n')) if (line) say(`     ${line}`);
  return stdout.trim();
}

async function startApp(root) {
  // What a device's service manager does at boot: start the app through the launcher.
  const { stdout, stderr } = await run(process.execPath, [cli, 'launch', '--root', root, '--', '--from-demo']);
  for (const line of stderr.trim().split('\n')) if (line) say(`     ${line}`);
  say(`     > ${stdout.trim()}`);
}

const work = await mkdtemp(join(tmpdir(), 'twinslot-demo-'));
let server;
try {
  const feed = join(work, 'feed');
  const keys = join(work, 'keys');
  const root = join(work, 'device');
  server = await serveFeed(feed);

  step('Publisher: a signing key and two releases');
  const publicKey = await twinslot(['keygen', '--out', keys]);
  const key = join(keys, 'twinslot.key');
  const publish = async (version, options) => {
    const build = join(work, `build-${version}`);
    await writeSampleApp(build, { version, ...options });
    await twinslot([
      'release', build, '--feed', feed, '--app', 'com.example.demo', '--version', version, '--channel', 'stable',
      '--platform', 'linux-x64', '--entry', 'bin/app', '--key', key, '--probe', 'bin/app --self-test',
    ]);
  };
  await publish('1.0.0', { payloadBytes: 4 * 1024 * 1024, seed: 'assets-1' });
  await twinslot(['verify', '--feed', feed, '--pub', publicKey]);

  step('Device: first install with the CLI, then a start through the launcher');
  await twinslot(['install', '--feed', server.url, '--root', root, '--app', 'com.example.demo', '--pub', publicKey, '--channel', 'stable', '--platform', 'linux-x64']);
  await startApp(root);

  step('Publisher: v2.0.0 (new code, a new 4 MiB asset)');
  await publish('2.0.0', { payloadBytes: 4 * 1024 * 1024, seed: 'assets-2' });

  step("Device: the app's main process updates itself with the Updater API");
  const updater = new Updater({ installRoot: root });
  updater.on('checking-for-update', () => event('checking-for-update'));
  updater.on('update-available', (i) => event('update-available', `${i.currentVersion} -> ${i.version}, ${i.files} files, ${(i.size / 1048576).toFixed(1)} MiB`));
  updater.on('update-not-available', (i) => event('update-not-available', i.reason));
  updater.on('plan', (p) => event('plan', `keep ${p.files.keep}, copy ${p.files.copy} (${p.bytes.copy} B), fetch ${p.files.fetch} (${p.downloadBytes} B to download)`));
  let lastPercent = -20;
  updater.on('download-progress', (p) => {
    if (p.percent - lastPercent >= 20 || p.percent === 100) {
      lastPercent = p.percent;
      event('download-progress', `${p.percent.toFixed(0).padStart(3)}%  ${p.transferred}/${p.total} B`);
    }
  });
  updater.on('update-downloaded', (i) => event('update-downloaded', `${i.version} staged and verified in the inactive slot`));
  updater.on('installing', (i) => event('installing', i.version));
  updater.on('installed', (i) => event('installed', `slot ${i.slot} is active on trial; restart required`));
  updater.on('health-check', (r) => event('health-check', `${r.phase} ${r.name}: ${r.ok ? 'ok' : `FAILED (${r.error})`}${r.output ? ` | ${r.output.trim()}` : ''}`));
  updater.on('committed', (i) => event('committed', `${i.version} in slot ${i.slot}`));
  updater.on('rolled-back', (i) => event('rolled-back', `${i.fromVersion} -> ${i.toVersion} (${i.reason})`));

  await updater.checkForUpdates();
  await updater.downloadUpdate();
  await updater.installUpdate();
  say('   restarting through the launcher...');
  await startApp(root);
  say('   the new version calls updater.confirmStartup() at start:');
  const confirmed = await updater.confirmStartup();
  say(`   -> ${confirmed.outcome} ${confirmed.version ?? ''}`);

  step('Publisher: v3.0.0, whose self-test fails');
  await publish('3.0.0', { selfTest: 'fail', payloadBytes: 4 * 1024 * 1024, seed: 'assets-2' });

  step('Device: update to v3, start it, watch the health probe fail and the revert');
  lastPercent = -20;
  await updater.checkForUpdates();
  await updater.downloadUpdate();
  await updater.installUpdate();
  say('   restarting through the launcher...');
  await startApp(root);
  say('   v3 calls updater.confirmStartup():');
  const reverted = await updater.confirmStartup();
  say(`   -> ${reverted.outcome}: back on ${reverted.toVersion}, ${reverted.fromVersion} marked bad`);
  say('   restarting through the launcher...');
  await startApp(root);
  say('   checking again: the bad release is not offered again');
  await updater.checkForUpdates();

  step('Device state');
  const status = await updater.status();
  say(`   active slot ${status.active} runs ${status.activeVersion}; slot ${status.previous} holds ${status.previousVersion} (${status.slots[status.previous].status}); bad releases: ${status.bad.join(', ')}`);
  const journal = await readFile(join(root, 'state'), 'utf8');
  say(journal.trim().split('\n').map((l) => `     ${l}`).join('\n'));

  say(`\n${bold(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s`)}: signed feed, verified download into the inactive slot, switch, health-checked commit, automatic revert. Temp files removed.`);
} catch (err) {
  console.error(`\ndemo failed: ${err.code ? `${err.code}: ` : ''}${err.message}`);
  if (err.stderr) console.error(err.stderr);
  process.exitCode = 1;
} finally {
  await server?.close();
  await rm(work, { recursive: true, force: true });
}
