// `npm run bench -- switch`: what the slot machinery costs at the two moments a user
// waits for it, each against a baseline measured side by side in this command.
//
//   1. launcher overhead: starting the app through the C launcher (native/, counting a
//      trial start where one is pending, else only reading the journal) and through
//      `twinslot launch` (Node), vs exec'ing the same entry directly. The entry is a
//      tiny program that exits at once, so the difference is the launcher.
//   2. install-to-switched: Updater.installUpdate() on a staged 64 MiB, 200-file
//      release (it re-hashes the whole staged tree against the manifest, fsyncs and
//      switches the journal) vs `sha256sum` over the same files.
//
// Options: --starts <n> (default 200), --reps <n> (default 5).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../lib/dist.mjs';
import { median, renderTable } from '../lib/table.mjs';

const { values: opts } = parseArgs({ options: { starts: { type: 'string', default: '200' }, reps: { type: 'string', default: '5' } } });
const STARTS = Number(opts.starts);
const REPS = Number(opts.reps);
const CLI = join(REPO, 'dist', 'cli.js');
const LAUNCHER = join(REPO, 'native', 'build', 'twinslot-launcher');
const { Updater } = await import(join(REPO, 'dist', 'index.js'));
const { publishRelease } = await import(join(REPO, 'dist', 'publisher.js'));
const { generateKeyPair } = await import(join(REPO, 'dist', 'manifest', 'keys.js'));
const { serveFeed } = await import(join(REPO, 'examples', 'demo', 'feed-server.mjs'));

const work = await mkdtemp(join(tmpdir(), 'twinslot-bench-switch-'));
const rows = [];
const out = { machine: `${process.platform}-${process.arch}, node ${process.version}`, launcher: {}, install: {} };

function timeStarts(command, args, env) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < STARTS; i++) {
    const r = spawnSync(command, args, { env, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}`);
  }
  return Number(process.hrtime.bigint() - t0) / 1e6 / STARTS;
}

try {
  // 1. Launcher overhead.
  if (!existsSync(LAUNCHER)) execFileSync('make', ['-C', join(REPO, 'native')], { stdio: 'ignore' });
  const root = join(work, 'root');
  await mkdir(join(root, 'slots', 'a', 'bin'), { recursive: true });
  const entry = join(root, 'slots', 'a', 'bin', 'app');
  // The smallest real program there is here: a shell script that exits.
  await writeFile(entry, '#!/bin/sh\nexit 0\n');
  await chmod(entry, 0o755);
  await writeFile(join(root, 'state'), 'twinslot-state 1\nactive a\ntrial 0\nattempts 0\nmax-attempts 3\nsaves 1\na 1.0.0 good\nentry-a bin/app\nb - empty\n');
  const env = { ...process.env };
  const direct = [];
  const viaC = [];
  const viaNode = [];
  for (let r = 0; r < REPS; r++) {
    direct.push(timeStarts(entry, [], env));
    viaC.push(timeStarts(LAUNCHER, ['--root', root, '--', 'x'], env));
  }
  // Node starts are slow; fewer of them.
  const nodeStarts = Math.max(10, Math.floor(STARTS / 10));
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < nodeStarts; i++) {
      const x = spawnSync(process.execPath, [CLI, 'launch', '--root', root, '--', 'x'], { env, stdio: 'ignore' });
      if (x.status !== 0) throw new Error('twinslot launch failed');
    }
    viaNode.push(Number(process.hrtime.bigint() - t0) / 1e6 / nodeStarts);
  }
  const d = median(direct);
  out.launcher = { directMs: d, cLauncherMs: median(viaC), nodeLauncherMs: median(viaNode), starts: STARTS, reps: REPS };
  rows.push(['start the app directly', `${d.toFixed(2)} ms`, '1.00x', '']);
  rows.push(['through native/twinslot-launcher', `${median(viaC).toFixed(2)} ms`, `${(median(viaC) / d).toFixed(2)}x`, `+${(median(viaC) - d).toFixed(2)} ms ${median(viaC) - d <= 5 ? 'pass' : 'FAIL'} (<= 5 ms)`]);
  rows.push(['through twinslot launch (Node)', `${median(viaNode).toFixed(2)} ms`, `${(median(viaNode) / d).toFixed(2)}x`, `+${(median(viaNode) - d).toFixed(1)} ms (Node start-up)`]);

  // 2. Install-to-switched.
  const feedDir = join(work, 'feed');
  const key = generateKeyPair();
  const build = async (version) => {
    const dir = join(work, `build-${version}`);
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(join(dir, 'bin', 'app'), '#!/bin/sh\nexit 0\n');
    await chmod(join(dir, 'bin', 'app'), 0o755);
    for (let i = 0; i < 200; i++) {
      await mkdir(join(dir, 'data', String(i % 10)), { recursive: true });
      await writeFile(join(dir, 'data', String(i % 10), `f${i}.bin`), randomBytes((64 * 1024 * 1024) / 200));
    }
    await publishRelease({ buildDir: dir, feedDir, app: 'com.example.switch', version, channel: 'stable', platform: 'linux-x64', entry: 'bin/app', keys: [key], probes: [] });
    return dir;
  };
  await build('1.0.0');
  const server = await serveFeed(feedDir);
  try {
    const installs = [];
    const hashes = [];
    const roots = [];
    for (let r = 0; r < REPS; r++) {
      const rootR = join(work, `root-${r}`);
      // Async: the feed server runs in this process.
      await promisify(execFile)(process.execPath, [CLI, 'install', '--feed', server.url, '--root', rootR, '--app', 'com.example.switch', '--pub', key.publicKey.text, '--channel', 'stable', '--platform', 'linux-x64']);
      roots.push(rootR);
    }
    await build('2.0.0');
    for (const rootR of roots) {
      const base = { installRoot: rootR, appId: 'com.example.switch', feedUrl: server.url, trustedKeys: [key.publicKey.text], channel: 'stable', platform: 'linux-x64' };
      const updater = new Updater(base);
      await updater.checkForUpdates();
      await updater.downloadUpdate();
      const t0 = process.hrtime.bigint();
      await updater.installUpdate();
      installs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const files = execFileSync('find', [join(rootR, 'slots', 'b'), '-type', 'f'], { encoding: 'utf8' }).trim().split('\n');
      const t1 = process.hrtime.bigint();
      execFileSync('sha256sum', files, { stdio: 'ignore', maxBuffer: 1 << 24 });
      hashes.push(Number(process.hrtime.bigint() - t1) / 1e6);
    }
    out.install = { installMs: median(installs), sha256sumMs: median(hashes), bytes: 64 * 1024 * 1024, files: 201 };
    rows.push(['sha256sum of the staged tree (64 MiB, 201 files)', `${median(hashes).toFixed(0)} ms`, '1.00x', '']);
    rows.push(['installUpdate: re-verify tree, fsync, switch journal', `${median(installs).toFixed(0)} ms`, `${(median(installs) / median(hashes)).toFixed(2)}x`, '']);
  } finally {
    await server.close();
  }
  process.stdout.write(renderTable(['switch', 'time (median)', 'vs baseline', 'note'], rows) + '\n');
  await mkdir(join(REPO, 'bench', 'out'), { recursive: true });
  await writeFile(join(REPO, 'bench', 'out', 'switch.json'), JSON.stringify(out, null, 2) + '\n');
} finally {
  await rm(work, { recursive: true, force: true });
}
