// `npm run bench -- download`: twinslot's download path against plain tools, on one
// machine in one run. A fresh 512 MiB release is served by Debian's nginx on loopback;
// every figure is a ratio against a baseline measured in the same command.
//
//   1. full download + verify + stage (check + downloadUpdate in a child process, 4
//      connections, fresh root each time) vs `curl -s -o f <blob>` + `sha256sum f`,
//      interleaved, medians; speed ratio = twinslot speed / baseline speed.
//   2. throttled to 20 MB/s: mean rate and the busiest 1 s window, against the cap.
//   3. SIGKILL at ~50%, then a new child resumes: bytes fetched twice (nginx's log and
//      the client's own count), in chunks per connection.
//   4. peak RSS of the twinslot child in each scenario, against an idle Node process
//      that has loaded twinslot.
//
// Prints a table to stdout, writes the same as JSON to bench/out/download.json.
// Options: --reps <n> (default 5) repetitions of scenario 1. Exit 1 when nginx, curl
// or sha256sum is missing (nothing measured) or on an error.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release as osRelease, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { findNginx, startNginx } from '../../test/helpers/nginx.mjs';
import { cleanupOnExit } from '../lib/cleanup.mjs';
import { REPO, ensureDist } from '../lib/dist.mjs';
import { MB, MiB, median, renderTable, seconds } from '../lib/table.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD = join(HERE, 'child.mjs');
const CLI = join(REPO, 'dist', 'cli.js');
const OUT = join(REPO, 'bench', 'out', 'download.json');

const PAYLOAD_BYTES = 512 * MiB;
const BLOCK = 16 * MiB;
const CAP = 20_000_000; // bytes per second, scenario 2
const CONNECTIONS = 4; // the Updater's default
const KILL_AT = 0.5;
const RSS_LIMIT = 100 * MiB;
const APP = 'com.example.bench';
const PLATFORM = `${process.platform}-${process.arch}`;

const NOTES = [
  'the twinslot child passes no dispatcher and runs without proxy variables: it measures the transport an Updater uses by default.',
  'ratio in scenario 1 = baseline time / twinslot time (twinslot speed / baseline speed); medians of interleaved repetitions, after one warm-up curl fetch. ' +
    'twinslot fsyncs what it stages; the baseline file is never flushed (it is deleted while still in page cache).',
  'scenario 2: mean = bytes / (last progress event - plan event); busiest 1 s window from the cumulative progress samples (about every 100 ms), interpolated linearly between samples.',
  'scenario 3: the first child is SIGKILLed when a progress line reaches 50% (so at 50% plus up to one 100 ms sample). Server side = body bytes nginx logged for the blob over both runs minus the blob size; it includes what sat in kernel socket buffers at the kill. ' +
    'Client side = bytes the first child last reported minus the bytes of the chunks in <root>/staging/chunks.log (lines as the updater reads them); bytes that arrived between that line and the kill are not counted.',
  'peak RSS = VmHWM of the child process (/proc/self/status). process.resourceUsage().maxRSS is in raw as maxRssKiBInheritedAcrossExec: on Linux it survives execve, so a child starts at its parent\'s RSS at fork. ' +
    'The memory baseline is an idle Node process that has imported dist/index.js.',
];

const execFileP = promisify(execFile);
// The feed is on loopback: a proxy from the environment would only get in the way.
const CHILD_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(https?|all|no)_proxy$/i.test(name)));
const now = () => performance.timeOrigin + performance.now();
const began = now();
// The machine may be shared: the load around the run says how much to trust the timings.
const loadAtStart = loadavg();
const note = (line) => process.stderr.write(`[${((now() - began) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);

const { values: opts } = parseArgs({ options: { reps: { type: 'string', default: '5' } } });
const REPS = Number(opts.reps);
if (!Number.isInteger(REPS) || REPS < 1) {
  process.stderr.write('bench download: --reps takes a whole number >= 1\n');
  process.exit(2);
}

// ---- prerequisites -------------------------------------------------------------

function which(command) {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, command)));
}
if (!findNginx()) {
  process.stderr.write('bench download: skipped: nginx is not installed (apt-get install nginx-light); it serves the release on loopback\n');
  process.exit(1);
}
for (const tool of ['curl', 'sha256sum']) {
  if (!which(tool)) {
    process.stderr.write(`bench download: skipped: ${tool} is not installed; it is the baseline\n`);
    process.exit(1);
  }
}
ensureDist();
const { generateKeyPair, publishRelease } = await import(pathToFileURL(join(REPO, 'dist', 'publisher.js')).href);

// ---- cleanup, also on Ctrl-C ------------------------------------------------------

const exit = cleanupOnExit('bench download');
const { cleanups, children, cleanup } = exit;

// ---- helpers ---------------------------------------------------------------------

/** Runs the benchmark child on `root`; `killAt` (0..1) SIGKILLs it once a progress line reaches that fraction. */
function runChild(root, rate, { killAt } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(process.execPath, [CHILD, root, 'stable', String(rate)], { stdio: ['ignore', 'pipe', 'pipe'], env: CHILD_ENV });
    children.add(child);
    const r = { spawnT: t0, startT: null, doneT: null, exitT: null, progress: [], plan: null, checkMs: null, downloadMs: null, rssKiB: null, maxRssKiB: null, version: null, stderr: '', killed: null, wallMs: null };
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, ...f] = line.split(' ');
      if (kind === 'progress') {
        const s = { t: Number(f[0]), transferred: Number(f[1]), total: Number(f[2]), rssKiB: Number(f[3]) };
        r.progress.push(s);
        if (killAt !== undefined && !r.killed && s.transferred >= killAt * s.total) {
          child.kill('SIGKILL');
          r.killed = { transferred: s.transferred, total: s.total, rssKiB: s.rssKiB, latencyMs: now() - s.t };
        }
      } else if (kind === 'plan') r.plan = { t: Number(f[0]), downloadBytes: Number(f[1]) };
      else if (kind === 'checked') r.checkMs = Number(f[1]);
      else if (kind === 'downloaded') r.downloadMs = Number(f[1]);
      else if (kind === 'start') r.startT = Number(f[0]);
      else if (kind === 'rss') {
        r.rssKiB = Number(f[0]);
        r.maxRssKiB = Number(f[1]);
      } else if (kind === 'done') {
        r.doneT = Number(f[0]);
        r.version = f[1];
      } else if (kind === 'exit') r.exitT = Number(f[0]);
    });
    child.stderr.on('data', (d) => (r.stderr += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      r.wallMs = now() - t0;
      r.code = code;
      r.signal = signal;
    });
    child.on('close', () => {
      children.delete(child);
      resolve(r);
    });
  });
}

function peakRssKiB(r) {
  return Math.max(r.rssKiB ?? 0, ...r.progress.map((s) => s.rssKiB));
}

/** Where a child's wall time went, in ms. */
function timeline(r) {
  const round = (ms) => (ms === null || Number.isNaN(ms) ? null : Math.round(ms * 10) / 10);
  return {
    wall: round(r.wallMs),
    bootAndImport: round(r.startT - r.spawnT),
    check: r.checkMs,
    downloadUpdate: r.downloadMs,
    doneToExit: round(r.exitT - r.doneT),
    peakRssKiB: peakRssKiB(r),
    maxRssKiBInheritedAcrossExec: r.maxRssKiB,
    ...(r.stderr.trim() ? { stderr: r.stderr.trim() } : {}),
  };
}

function mustSucceed(r, what) {
  if (r.code !== 0 || r.version !== '2.0.0') throw new Error(`${what}: the child failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
}

/** Largest number of bytes delivered in any `windowMs` window, the cumulative curve interpolated linearly between samples. */
function maxWindow(samples, windowMs) {
  const at = (t) => {
    if (t <= samples[0].t) return samples[0].x;
    if (t >= samples.at(-1).t) return samples.at(-1).x;
    let lo = 0;
    let hi = samples.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (samples[mid].t <= t) lo = mid;
      else hi = mid;
    }
    const a = samples[lo];
    const b = samples[hi];
    return a.x + ((b.x - a.x) * (t - a.t)) / (b.t - a.t);
  };
  let interpolated = 0;
  let sampled = 0; // only whole sample-to-sample spans of at most windowMs: a lower bound
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    interpolated = Math.max(interpolated, at(s.t + windowMs) - s.x, s.x - at(s.t - windowMs));
    for (let j = i + 1; j < samples.length && samples[j].t - s.t <= windowMs; j++) sampled = Math.max(sampled, samples[j].x - s.x);
  }
  return { interpolated, sampled };
}

// ---- the release --------------------------------------------------------------------

const row = (scenario, measured, baseline, ratio, target, pass) => ({ scenario, measured, baseline, ratio, target, pass });
const rows = [];
const raw = {};
let throttledPeakRss = 0;
let resumePeakRss = 0;

try {
  const work = await mkdtemp(join(tmpdir(), 'twinslot-bench-download-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const feed = join(work, 'feed');
  const key = generateKeyPair();

  note(`generating the release: ${PAYLOAD_BYTES / MiB} MiB of random bytes + bin/app in ${work}`);
  const writeApp = async (dir, version) => {
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(join(dir, 'bin', 'app'), `#!/usr/bin/env node\nconsole.log('bench app ${version}');\n`);
    await chmod(join(dir, 'bin', 'app'), 0o755);
  };
  const build1 = join(work, 'build-1');
  await writeApp(build1, '1.0.0');
  const build2 = join(work, 'build-2');
  await writeApp(build2, '2.0.0');
  await mkdir(join(build2, 'data'));
  const payload = await open(join(build2, 'data', 'payload.bin'), 'w');
  try {
    for (let done = 0; done < PAYLOAD_BYTES; done += BLOCK) await payload.write(randomBytes(BLOCK));
  } finally {
    await payload.close();
  }
  note('publishing v1 (channel base) and v2 (channel stable, default chunk size)');
  const common = { feedDir: feed, app: APP, platform: PLATFORM, entry: 'bin/app', keys: [key] };
  await publishRelease({ ...common, buildDir: build1, version: '1.0.0', channel: 'base' });
  const published = await publishRelease({ ...common, buildDir: build2, version: '2.0.0', channel: 'stable' });
  await rm(build1, { recursive: true, force: true });
  await rm(build2, { recursive: true, force: true });
  // The new blob is 512 MiB of dirty page cache: write it out now, not during the runs.
  await execFileP('sync');
  const pack = published.manifest.pack;
  const chunkBytes = (i) => Math.min(pack.chunkSize, pack.size - i * pack.chunkSize);
  const blobPath = `/blobs/sha256/${pack.sha256}`;

  const nginx = await startNginx(feed);
  cleanups.push(() => nginx.close());
  const blobUrl = new URL(blobPath.slice(1), nginx.url).href;
  note(`nginx serves ${nginx.url}; blob ${pack.size} bytes in ${pack.chunks.length} chunks of ${pack.chunkSize / MiB} MiB`);

  let roots = 0;
  const freshRoot = async () => {
    const root = join(work, `root-${++roots}`);
    await execFileP(process.execPath, [CLI, 'install', '--feed', nginx.url, '--root', root, '--app', APP, '--pub', key.publicKey.text, '--channel', 'base']);
    return root;
  };

  // Idle baseline for memory: Node with twinslot loaded, doing nothing (VmHWM, as the child reports).
  const idleRss = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await execFileP(process.execPath, [
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist', 'index.js')).href)}); ` +
        `console.log(/^VmHWM:\\s+(\\d+) kB/m.exec((await import('node:fs')).readFileSync('/proc/self/status', 'latin1'))[1])`,
    ]);
    idleRss.push(Number(stdout.trim()) * 1024);
  }
  const idleRssBytes = median(idleRss);

  // ---- 1. full speed vs curl + sha256sum ------------------------------------------------

  const file = join(work, 'curl.out');
  const curlOnce = async () => {
    const t0 = now();
    await execFileP('curl', ['-s', '-o', file, blobUrl]);
    const t1 = now();
    const { stdout } = await execFileP('sha256sum', [file]);
    const t2 = now();
    if (stdout.split(' ')[0] !== pack.sha256) throw new Error(`curl baseline: sha256sum ${stdout.trim()} is not the blob's ${pack.sha256}`);
    await rm(file, { force: true });
    return { curlMs: t1 - t0, sha256Ms: t2 - t1, totalMs: t2 - t0 };
  };
  note('scenario 1: warm-up fetch with curl');
  await curlOnce();
  const curls = [];
  const fulls = [];
  for (let i = 0; i < REPS; i++) {
    const c = await curlOnce();
    curls.push(c);
    note(`scenario 1, rep ${i + 1}/${REPS}: curl ${seconds(c.curlMs)} + sha256sum ${seconds(c.sha256Ms)} = ${seconds(c.totalMs)}`);
    const root = await freshRoot();
    const r = await runChild(root, 0);
    mustSucceed(r, `scenario 1, rep ${i + 1}`);
    fulls.push({ wallMs: r.wallMs, downloadMs: r.downloadMs, peakRssKiB: peakRssKiB(r), timeline: timeline(r) });
    note(`scenario 1, rep ${i + 1}/${REPS}: twinslot child ${seconds(r.wallMs)}, downloadUpdate ${seconds(r.downloadMs)}, peak RSS ${(peakRssKiB(r) / 1024).toFixed(1)} MiB`);
    await rm(root, { recursive: true, force: true });
  }
  const baseMs = median(curls.map((c) => c.totalMs));
  const wallMs = median(fulls.map((f) => f.wallMs));
  const dlMs = median(fulls.map((f) => f.downloadMs));
  const rate = (ms) => `${((pack.size / ms) * 1000 / MB).toFixed(0)} MB/s`;
  const baseText = `${seconds(baseMs)} (${rate(baseMs)}) curl+sha256sum`;
  rows.push(
    row('1. full download+verify+stage, child wall (median)', `${seconds(wallMs)} (${rate(wallMs)})`, baseText, baseMs / wallMs, '>= 1.00', baseMs / wallMs >= 1),
    row('1. full download+verify+stage, downloadUpdate()', `${seconds(dlMs)} (${rate(dlMs)})`, baseText, baseMs / dlMs, '>= 1.00', baseMs / dlMs >= 1),
  );
  raw.full = { reps: REPS, curl: curls, twinslot: fulls };

  // ---- 2. throttled ---------------------------------------------------------------------

  note(`scenario 2: throttled to ${CAP / MB} MB/s (about ${Math.round(pack.size / CAP)} s)`);
  {
    const root = await freshRoot();
    const r = await runChild(root, CAP);
    mustSucceed(r, 'scenario 2');
    const last = r.progress.at(-1);
    const durationMs = last.t - r.plan.t;
    const mean = (last.transferred / durationMs) * 1000;
    const samples = [{ t: r.plan.t, x: 0 }, ...r.progress.map((s) => ({ t: s.t, x: s.transferred }))];
    const win = maxWindow(samples, 1000);
    const gaps = samples.slice(1).map((s, i) => s.t - samples[i].t);
    rows.push(
      row('2. throttled 20 MB/s: mean rate', `${(mean / MB).toFixed(2)} MB/s`, `cap ${CAP / MB} MB/s`, mean / CAP, '0.97 - 1.03', Math.abs(mean / CAP - 1) <= 0.03),
      row('2. throttled 20 MB/s: busiest 1 s window', `${(win.interpolated / MB).toFixed(2)} MB`, `cap x 1 s = ${CAP / MB} MB`, win.interpolated / CAP, '<= 1.10', win.interpolated / CAP <= 1.1),
    );
    raw.throttled = {
      cap: CAP,
      bytes: last.transferred,
      downloadMs: durationMs,
      timeline: timeline(r),
      meanBytesPerSecond: mean,
      maxWindowBytes: win.interpolated,
      maxWindowBytesSampledLowerBound: win.sampled,
      samples: r.progress.length,
      medianSampleGapMs: median(gaps),
      maxSampleGapMs: Math.max(...gaps),
      peakRssKiB: peakRssKiB(r),
    };
    throttledPeakRss = peakRssKiB(r) * 1024;
    note(`scenario 2: mean ${(mean / MB).toFixed(2)} MB/s, busiest 1 s ${(win.interpolated / MB).toFixed(2)} MB, peak RSS ${(peakRssKiB(r) / 1024).toFixed(1)} MiB`);
    await rm(root, { recursive: true, force: true });
  }

  // ---- 3. SIGKILL at ~50%, then resume ------------------------------------------------------

  note(`scenario 3: SIGKILL at ${KILL_AT * 100}%, then resume`);
  {
    const root = await freshRoot();
    const logMark = (await nginx.accessLog()).length;
    const first = await runChild(root, 0, { killAt: KILL_AT });
    if (!first.killed) throw new Error(`scenario 3: the first child finished before ${KILL_AT * 100}% was reported (exit ${first.code}): ${first.stderr.trim()}`);
    const logText = await readFile(join(root, 'staging', 'chunks.log'), 'latin1').catch(() => '');
    const lines = logText.split('\n');
    lines.pop(); // a torn last line does not count, as for the updater
    // As the updater reads it: decimal lines naming a chunk of the pack; anything else is ignored.
    const logged = new Set(lines.filter((l) => /^[0-9]{1,9}$/.test(l)).map(Number).filter((i) => i < pack.chunks.length));
    const loggedBytes = [...logged].reduce((sum, i) => sum + chunkBytes(i), 0);
    const logHealth = {
      bytes: logText.length,
      lines: lines.length,
      usableLines: logged.size,
      linesWithNulBytes: lines.filter((l) => l.includes('\0')).length,
      nulBytes: [...logText].filter((c) => c === '\0').length,
      duplicateLines: lines.length - new Set(lines).size,
    };
    // nginx logs a request when it ends; give the killed connections a moment.
    const blobEntries = async () => (await nginx.accessLog()).slice(logMark).filter((e) => e.path === blobPath);
    let firstRun = await blobEntries();
    for (let i = 0; i < 40 && firstRun.length < CONNECTIONS; i++) {
      await new Promise((r) => setTimeout(r, 50));
      firstRun = await blobEntries();
    }
    const second = await runChild(root, 0);
    mustSucceed(second, 'scenario 3 (resume)');
    const all = await blobEntries();
    const served = all.reduce((sum, e) => sum + e.bytes, 0);
    const serverTwice = served - pack.size;
    const clientTwice = first.killed.transferred - loggedBytes;
    const perConn = (bytes) => bytes / pack.chunkSize / CONNECTIONS;
    const baseline = `${CONNECTIONS} conns x ${pack.chunkSize / MiB} MiB chunk`;
    const at = `${Math.round((first.killed.transferred / first.killed.total) * 100)}%`;
    rows.push(
      row(`3. SIGKILL at ${at} + resume: fetched twice (server, nginx log)`, `${(serverTwice / MiB).toFixed(2)} MiB`, baseline, perConn(serverTwice), '<= 1.00 chunk/conn', perConn(serverTwice) <= 1),
      row(`3. SIGKILL at ${at} + resume: fetched twice (client)`, `${(clientTwice / MiB).toFixed(2)} MiB`, baseline, perConn(clientTwice), '<= 1.00 chunk/conn', perConn(clientTwice) <= 1),
    );
    const secondTotal = second.progress[0]?.total ?? 0;
    raw.resume = {
      blobBytes: pack.size,
      chunkSize: pack.chunkSize,
      connections: CONNECTIONS,
      killedAt: first.killed,
      loggedChunks: logged.size,
      chunkLog: logHealth,
      loggedBytes,
      firstRunRequests: firstRun.map((e) => ({ status: e.status, bytes: e.bytes, range: e.range })),
      firstRunServedBytes: firstRun.reduce((sum, e) => sum + e.bytes, 0),
      allRequests: all.map((e) => ({ status: e.status, bytes: e.bytes, range: e.range })),
      servedBytes: served,
      serverFetchedTwice: serverTwice,
      clientFetchedTwice: clientTwice,
      resumeFetchBytes: secondTotal,
      resumeReusedBytes: pack.size - secondTotal,
      clientFetchedTwiceViaResume: first.killed.transferred + secondTotal - pack.size,
      timelines: { first: timeline(first), second: timeline(second) },
    };
    resumePeakRss = Math.max(peakRssKiB(first), peakRssKiB(second)) * 1024;
    note(
      `scenario 3: killed at ${((first.killed.transferred / first.killed.total) * 100).toFixed(1)}% (${(first.killed.latencyMs).toFixed(1)} ms after the line), ` +
        `${logged.size} chunks logged; fetched twice: server ${(serverTwice / MiB).toFixed(2)} MiB, client ${(clientTwice / MiB).toFixed(2)} MiB`,
    );
    await rm(root, { recursive: true, force: true });
  }

  // ---- 4. memory ------------------------------------------------------------------------------

  const rssRow = (name, bytes) =>
    row(`4. peak RSS: ${name}`, `${(bytes / MiB).toFixed(1)} MiB`, `${(idleRssBytes / MiB).toFixed(1)} MiB idle node+twinslot`, bytes / idleRssBytes, '< 100 MiB', bytes < RSS_LIMIT);
  rows.push(
    rssRow('full speed (max of reps)', Math.max(...fulls.map((f) => f.peakRssKiB)) * 1024),
    rssRow('throttled', throttledPeakRss),
    rssRow('kill + resume (max of both)', resumePeakRss),
  );
  raw.idleRssBytes = idleRss;

  // ---- report ---------------------------------------------------------------------------------

  const header = ['scenario', 'measured', 'baseline', 'ratio', 'target', 'result'];
  const text = renderTable(
    header,
    rows.map((r) => [r.scenario, r.measured, r.baseline, r.ratio.toFixed(2), r.target, r.pass ? 'pass' : 'FAIL']),
  );
  const env = {
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    loadAverage1mAtStartAndEnd: [loadAtStart[0], loadavg()[0]].map((l) => Math.round(l * 100) / 100),
    kernel: osRelease(),
    nginx: (await execFileP(findNginx(), ['-v']).catch((e) => e)).stderr?.trim() ?? '?',
    curl: (await execFileP('curl', ['--version'])).stdout.split('\n')[0],
    // Loopback socket buffers: what the server-side figure of scenario 3 can include.
    tcpRmem: (await readFile('/proc/sys/net/ipv4/tcp_rmem', 'latin1').catch(() => '?')).trim(),
    tcpWmem: (await readFile('/proc/sys/net/ipv4/tcp_wmem', 'latin1').catch(() => '?')).trim(),
  };
  const totalS = (now() - began) / 1000;
  process.stdout.write(
    `\ntwinslot download benchmark: ${(pack.size / MiB).toFixed(0)} MiB release (${pack.chunks.length} chunks of ${pack.chunkSize / MiB} MiB), ` +
      `nginx on loopback, ${CONNECTIONS} connections, ${REPS} interleaved reps; ${env.node}, ${env.cpus}, ` +
      `load average ${env.loadAverage1mAtStartAndEnd.join(' -> ')}\n\n${text}\n\n` +
      `${rows.filter((r) => r.pass).length} of ${rows.length} targets met; ran in ${totalS.toFixed(0)} s. JSON: ${OUT.slice(REPO.length + 1)}\n`,
  );
  await mkdir(dirname(OUT), { recursive: true });
  await writeFile(
    OUT,
    JSON.stringify({ benchmark: 'download', date: new Date().toISOString(), environment: env, seconds: totalS, notes: NOTES, rows, raw }, null, 2) + '\n',
  );
} catch (err) {
  if (!exit.interrupted) process.stderr.write(`bench download: ${err.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
