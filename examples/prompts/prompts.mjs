// @ts-check
// Consent prompts and a settings screen for twinslot, in a terminal.
//
//   npm run build && node examples/prompts/prompts.mjs
//
// It sets up what a real deployment already has: a feed (the demo's static server on
// 127.0.0.1) with releases on two channels, `stable` and `beta`, and a device root
// installed with the CLI. Then the "app" offers a menu:
//
//   c  check for updates: `confirmDownload` and `confirmInstall` ask before each step
//   s  settings: switch channel with updater.setChannel(name, { allowDowngrade })
//   p  (publisher side, for the demo) ship a critical fix: no questions are asked
//   q  quit
//
// Answers may also come from a pipe: printf 'c\ny\ny\nq\n' | node examples/prompts/prompts.mjs
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Updater, isUpdateError } from 'twinslot';
import { generateKeyPair, publishRelease } from 'twinslot/publisher';
import { serveFeed } from '../demo/feed-server.mjs';
import { writeSampleApp } from '../demo/sample-app.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'dist', 'cli.js');
const APP = 'com.example.prompts';
const CHANNELS = ['stable', 'beta'];

// One queue of input lines: piped answers arrive before they are asked for.
const rl = createInterface({ input: process.stdin, terminal: false });
const lines = rl[Symbol.asyncIterator]();

/** @param {string} question */
async function ask(question) {
  process.stdout.write(question);
  const next = await lines.next();
  const answer = next.done ? '' : String(next.value).trim();
  if (!process.stdin.isTTY) process.stdout.write(`${answer}\n`); // echo piped answers
  return answer;
}

/** @param {string} question */
async function yes(question) {
  return /^y(es)?$/i.test(await ask(`${question} [y/N] `));
}

/** @param {number} bytes */
const kib = (bytes) => `${Math.round(bytes / 1024)} KiB`;

/**
 * The consent hooks. Both get the release on offer; false declines (the step rejects
 * with ABORTED and nothing changes). twinslot skips them for a release the channel
 * marks critical.
 * @type {Pick<import('twinslot').UpdaterOptions, 'confirmDownload' | 'confirmInstall'>}
 */
const consent = {
  confirmDownload: (info) => yes(`  Download ${info.version} (${kib(info.size)}, ${info.files} files)?`),
  confirmInstall: (info) => yes(`  Install ${info.version} now? The app restarts.`),
};

/**
 * Check, download, install, restart, confirm.
 * @param {Updater} updater
 * @param {string} root
 */
async function checkNow(updater, root) {
  try {
    const check = await updater.checkForUpdates({ ignoreRollout: true }); // the user asked: skip the rollout wait
    if (!check.available || !check.release) {
      console.log(`  No update (${check.reason}).`);
      return;
    }
    const info = check.release;
    console.log(`  ${info.version} is available (you have ${info.currentVersion})${info.critical ? ': critical, installing without asking' : ''}.`);
    await updater.downloadUpdate();
    await updater.installUpdate();
    console.log('  Restarting through the launcher...');
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'launch', '--root', root]);
    console.log(`  > ${stdout.trim()}`);
    const start = await updater.confirmStartup(); // what the new version does first at start
    console.log(start.outcome === 'committed' ? `  Now running ${start.version}.` : `  Start: ${start.outcome}.`);
  } catch (err) {
    if (isUpdateError(err) && err.code === 'ABORTED') console.log(`  Not now: ${err.message}.`);
    else if (isUpdateError(err)) console.log(`  Update failed: ${err.code}: ${err.message}`);
    else throw err;
  }
}

/**
 * The settings screen: pick a channel; going to a channel whose release is older
 * than the running one needs the user's explicit yes (allowDowngrade).
 * @param {Updater} updater
 * @param {{ channel: string }} settings
 */
async function settingsScreen(updater, settings) {
  const name = (await ask(`  Channel (${CHANNELS.join(', ')}) [${settings.channel}]: `)) || settings.channel;
  if (!CHANNELS.includes(name)) {
    console.log(`  Unknown channel "${name}".`);
    return;
  }
  const allowDowngrade = await yes('  Allow going back to an older version if that channel has one?');
  updater.setChannel(name, { allowDowngrade });
  settings.channel = name;
  console.log(`  Following ${name}${allowDowngrade ? ', older versions allowed' : ''}. Check for updates to apply it.`);
}

const work = await mkdtemp(join(tmpdir(), 'twinslot-prompts-'));
const server = await serveFeed(join(work, 'feed'));
try {
  const key = generateKeyPair();
  /** @param {string} version @param {string} channel @param {boolean} [critical] */
  const publish = async (version, channel, critical = false) => {
    const build = join(work, `build-${version}`);
    await writeSampleApp(build, { version, payloadBytes: 64 * 1024, seed: `assets-${version}` });
    await publishRelease({
      buildDir: build, feedDir: join(work, 'feed'), app: APP, version, channel, platform: 'linux-x64', entry: 'bin/app', keys: [key],
      critical, probes: [{ when: 'post-start', command: ['bin/app', '--self-test'], timeoutMs: 20_000 }],
    });
  };
  await publish('1.0.0', 'stable');
  const root = join(work, 'device');
  await promisify(execFile)(process.execPath, [cli, 'install', '--feed', server.url, '--root', root, '--app', APP, '--pub', key.publicKey.text, '--channel', 'stable', '--platform', 'linux-x64']);
  await publish('1.1.0', 'stable');
  await publish('2.0.0-beta.1', 'beta');
  console.log(`Installed 1.0.0 from ${server.url}; the feed has stable 1.1.0 and beta 2.0.0-beta.1.`);

  const updater = new Updater({ installRoot: root, ...consent }); // feed, keys, channel: <root>/twinslot.json
  const settings = { channel: 'stable' };
  let fixes = 0;
  for (;;) {
    const status = await updater.status();
    const choice = await ask(`\n[${status.activeVersion} on ${settings.channel}] c) check  s) settings  p) publish a critical fix  q) quit: `);
    if (choice === 'c') await checkNow(updater, root);
    else if (choice === 's') await settingsScreen(updater, settings);
    else if (choice === 'p') {
      const version = `1.1.${++fixes}`;
      await publish(version, 'stable', true);
      console.log(`  Published ${version} to stable, marked critical.`);
    } else if (choice === 'q' || choice === '') break;
  }
} finally {
  rl.close();
  await server.close();
  await rm(work, { recursive: true, force: true });
}
