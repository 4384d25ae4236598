// `npm run bench -- fleet`: a fleet of simulated installs (10,000 by default) in one
// process, polling a channel document served by Debian's nginx on loopback over one
// simulated day compressed into about a minute of real time, while the publisher
// rolls a release out: 1% -> 10% -> halt -> resume -> 50% -> 100% (a "canary" ring
// of 10% of the installs goes 10% -> 100% ahead of everyone else, ring "*").
//
// Every install runs the library's own client pieces from dist/ (see sim.mjs): a
// conditional GET (fetchDocument with If-None-Match), signature check + parse on a 200
// only, admitChannelDocument, decideUpdate (rings, percentages, halt) and
// nextCheckDelay for the next check. An install that becomes eligible fetches the
// release manifest (pin + signature check, no blobs) and moves to the new version.
// The publisher's edits are editChannel() on the feed folder at their simulated time.
//
// Two runs side by side, same install ids and random draws:
//   jitter 1   the library's defaults: the first check after start drawn by
//              firstCheckDelay (as Updater.startAutoUpdate: the steady-state spread),
//              then uniform in [0, 2 x interval]; every install starts at 00:00.
//   no jitter  the same fleet with jitter 0: every install checks at 00:00, 01:00, ...
// With --stationary-start, a third run: jitter 1 with the first delay drawn from the
// stationary (forward-recurrence) distribution computed here (a cross-check of the
// library's rule).
//
// Figures: origin requests/s per simulated minute (busiest minute / mean), share of
// 304 answers among checks where nothing changed since the install's last check,
// adoption per ring, how long the halt takes to stop new downloads, and bucketing
// (share of ids under 1, 10, 50%; buckets and decisions stable across checks).
// Prints tables, writes bench/out/fleet.json, bench/out/fleet.svg and docs/fleet.svg.
//
// Options: --installs <n> (default 10000), --seconds <real seconds per simulated day,
// per run> (default 60, at least 30), --seed <n>, --stationary-start, --verify-all
// (check the signature of every 200 instead of once per distinct document body).
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release as osRelease, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { findNginx, startNginx } from '../../test/helpers/nginx.mjs';
import { cleanupOnExit } from '../lib/cleanup.mjs';
import { REPO, ensureDist } from '../lib/dist.mjs';
import { renderTable } from '../lib/table.mjs';

const OUT = join(REPO, 'bench', 'out', 'fleet.json');
const SVG_OUT = [join(REPO, 'bench', 'out', 'fleet.svg'), join(REPO, 'docs', 'fleet.svg')];
const APP = 'com.example.fleet';
const CHANNEL = 'stable';
const PLATFORM = `${process.platform}-${process.arch}`;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 24 * HOUR;
const INTERVAL = HOUR;
const CANARY_SHARE = 0.1;
const CONNECTIONS = 64; // undici connections to nginx (its worker_connections is 256)
const MAX_INFLIGHT = 256; // checks in flight at once
const STEADY_FROM = 3 * HOUR; // "after start-up": from three check intervals on

// The rollout, at simulated times. `rings`: canary ring and everyone else ("*").
const STAGES = [
  { at: 2.5 * HOUR, label: '1%', release: true, rings: { canary: 10, '*': 1 } },
  { at: 5.5 * HOUR, label: '10%', rings: { canary: 100, '*': 10 } },
  { at: 6.5 * HOUR, label: 'halt', halted: true },
  { at: 9.5 * HOUR, label: 'resume', halted: false },
  { at: 12.5 * HOUR, label: '50%', rings: { canary: 100, '*': 50 } },
  { at: 16.5 * HOUR, label: '100%', rings: { canary: 100, '*': 100 } },
];

const NOTES = [
  'Time is simulated: a priority queue of every install\'s next check, each request sent to nginx when the real clock reaches its mapped time (one simulated day per --seconds of real time). ' +
    'A check is counted in the simulated minute it was scheduled for, and the next check is scheduled from that time, so the virtual timeline does not depend on this machine\'s load; ' +
    'requests still go out in simulated order and an edit waits for its turn, so being late changes when nginx sees a request, not which document it gets ' +
    '(only the <= 256 checks in flight across an edit race it). How late answers came is printed and in raw.<run>.lagSimulatedSeconds.',
  'Origin load = channel checks + release-manifest fetches per simulated minute, shown as requests per second; "busiest minute / mean" over the whole day (24 x 60 minutes). ' +
    'Even a perfectly spread fleet has Poisson noise: at ~167 requests a minute the busiest of 1440 minutes is expected about 1.25x the mean (more with fewer --installs). ' +
    'After a rollout step, newly eligible installs add one manifest fetch each at their next check (~+25% for an hour after 50% -> 100%).',
  'The jitter run starts every install at 00:00 (like a power cut) with the Updater\'s first delay (firstCheckDelay: the steady-state spread of the later delays); later delays are uniform in [0, 2 x interval]. ' +
    '"after start-up" counts from 03:00.',
  '304 share "while nothing changed" = 304 answers / checks whose install already had a document and whose document did not change since (a 304, or a 200 with the same sequence). ' +
    'nginx\'s ETag is mtime (seconds) + size; each edit is checked to change it.',
  'Halt: a download starts when a check\'s answer makes the install eligible. Latency = last such answer after the halt file was in place minus that moment (0 when none); ' +
    'the halt reaches the whole fleet only when every install has checked again (up to 2 intervals with jitter 1).',
  'Signature checks: every 200 is checked by openEnvelope/verifyRelease, once per distinct body; later installs receiving identical bytes reuse that result (the devices\' CPU, not the origin\'s). --verify-all checks every 200.',
];

const execFileP = promisify(execFile);
const began = performance.now();
const note = (line) => process.stderr.write(`[${((performance.now() - began) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);

const { values: opts } = parseArgs({
  options: {
    installs: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string' },
    'stationary-start': { type: 'boolean', default: false },
    'verify-all': { type: 'boolean', default: false },
  },
});
const INSTALLS = Number(opts.installs);
const SECONDS = Number(opts.seconds);
const SEED = opts.seed === undefined ? randomInt(2 ** 31) : Number(opts.seed);
if (!Number.isInteger(INSTALLS) || INSTALLS < 100) fail('--installs takes a whole number >= 100');
if (!(SECONDS >= 30 && SECONDS <= 3600)) fail('--seconds takes 30..3600 (one simulated hour must last more than a second: nginx\'s ETag has one-second resolution)');
if (!Number.isInteger(SEED) || SEED < 0) fail('--seed takes a whole number >= 0');

function fail(message) {
  process.stderr.write(`bench fleet: ${message}\n`);
  process.exit(2);
}

if (!findNginx()) {
  process.stderr.write('bench fleet: skipped: nginx is not installed (apt-get install nginx-light); it is the origin\n');
  process.exit(1);
}
ensureDist();
const distUrl = (p) => pathToFileURL(join(REPO, 'dist', p)).href;
const { editChannel, generateKeyPair, publishRelease } = await import(distUrl('publisher.js'));
const { DEFAULT_HTTP } = await import(distUrl('transfer/http.js'));
const { rolloutBucket } = await import(distUrl('policy/bucket.js'));
const { firstCheckDelay } = await import(distUrl('policy/schedule.js'));
const { Agent } = await import('undici');
const { HOUR: SIM_HOUR, hhmm, installIds, makeVerifier, simulateDay } = await import('./sim.mjs');
const { renderSvg } = await import('./svg.mjs');
if (SIM_HOUR !== HOUR) throw new Error('sim.mjs and run.mjs disagree on an hour');

// ---- cleanup, also on Ctrl-C ------------------------------------------------------

const exit = cleanupOnExit('bench fleet');
const { cleanups, cleanup } = exit;

// ---- helpers ------------------------------------------------------------------------

const pct = (x, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const int = (n) => n.toLocaleString('en-US');
const perSecond = (perMinute) => perMinute / 60;
const rate = (perMinute) => `${perSecond(perMinute).toFixed(2)} req/s`;

/** Largest value (Math.max(...values) overflows the stack on long arrays). */
function maxOf(values) {
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}

function quantile(values, q) {
  if (values.length === 0) return null;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Delay before an install's first check. */
function firstDelayFor(rule, jitter) {
  // Updater.startAutoUpdate's own rule, from the library.
  if (rule === 'updater') return (_inst, random) => firstCheckDelay({ intervalMs: INTERVAL, jitter, maxBackoffMs: 24 * HOUR, quiet: [] }, { now: 0, random, minuteOfDay: () => 0 });
  // Forward-recurrence time of a delay uniform in [a, b]: density P(delay > x) / mean.
  const a = INTERVAL * (1 - jitter);
  const b = INTERVAL * (1 + jitter);
  return (_inst, u) => (u * INTERVAL < a ? u * INTERVAL : b - Math.sqrt(2 * INTERVAL * (b - a) * (1 - u)));
}

function ringKey(ring) {
  return ring === 'canary' ? 'canary' : 'general';
}

// ---- setup ------------------------------------------------------------------------------

const rows = [];
const raw = {};
const row = (scenario, measured, baseline, ratio, target, pass) => ({ scenario, measured, baseline, ratio, target, pass });

try {
  const work = await mkdtemp(join(tmpdir(), 'twinslot-bench-fleet-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const key = generateKeyPair();
  const writeBuild = async (dir, version) => {
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(join(dir, 'bin', 'app'), `#!/bin/sh\necho "fleet app ${version}"\n`);
    await chmod(join(dir, 'bin', 'app'), 0o755);
    await writeFile(join(dir, 'README.txt'), `fleet app ${version}\n`);
  };
  await writeBuild(join(work, 'build-1'), '1.0.0');
  await writeBuild(join(work, 'build-2'), '2.0.0');

  const ids = installIds(SEED, INSTALLS);
  // Ring membership independent of the ids: every 10th install is in the canary ring.
  const rings = ids.map((_, i) => (i % Math.round(1 / CANARY_SHARE) === 0 ? 'canary' : null));
  const ringSize = { canary: rings.filter((r) => r === 'canary').length, general: rings.filter((r) => r !== 'canary').length };

  const runs = [
    { key: 'jitter', label: 'jitter 1 (default)', jitter: 1, first: 'updater', color: '#1f78b4', dash: null },
    { key: 'nojitter', label: 'no jitter', jitter: 0, first: 'updater', color: '#e31a1c', dash: '10 7' },
  ];
  if (opts['stationary-start']) runs.push({ key: 'stationary', label: 'jitter 1, stationary start', jitter: 1, first: 'stationary', color: '#6a3d9a', dash: '3 5' });

  note(`${int(INSTALLS)} installs (${ringSize.canary} canary), seed ${SEED}, one simulated day in ${SECONDS} s per run (${(DAY / (SECONDS * 1000)).toFixed(0)}x), ${runs.length} runs`);
  const results = {};
  for (const run of runs) {
    const feedDir = join(work, `feed-${run.key}`);
    const common = { feedDir, app: APP, platform: PLATFORM, entry: 'bin/app', keys: [key], probes: [] };
    await publishRelease({ ...common, buildDir: join(work, 'build-1'), version: '1.0.0', channel: CHANNEL });
    // 2.0.0 is published to another channel beforehand; the rollout points stable at it.
    const v2 = await publishRelease({ ...common, buildDir: join(work, 'build-2'), version: '2.0.0', channel: 'staging' });
    const pointer = v2.channel.content.release.platforms[PLATFORM];
    const edits = STAGES.map((stage) => ({
      at: stage.at,
      label: stage.label,
      apply: () =>
        editChannel({ feedDir, channel: CHANNEL, keys: [key] }, (content) => {
          if (stage.release) {
            content.release = { version: '2.0.0', platforms: { [PLATFORM]: pointer } };
            content.rollout.halted = false;
          }
          if (stage.rings) content.rollout.rings = { ...stage.rings };
          if (stage.halted !== undefined) content.rollout.halted = stage.halted;
        }),
    }));

    const nginx = await startNginx(feedDir);
    let nginxClosed = null;
    const closeNginx = () => (nginxClosed ??= nginx.close());
    cleanups.push(closeNginx);
    const agent = new Agent({ connections: CONNECTIONS });
    const verifier = makeVerifier({ publicKey: key.publicKey, app: APP, platform: PLATFORM, verifyAll: opts['verify-all'] });
    note(`run ${run.key}: nginx at ${nginx.url}, ${run.label}`);
    const load0 = loadavg()[0];
    let result;
    try {
      result = await simulateDay({
        name: run.key,
        ids,
        rings,
        http: { ...DEFAULT_HTTP, dispatcher: agent },
        feedUrl: nginx.url,
        channelFile: join(feedDir, 'channels', `${CHANNEL}.json`),
        channel: CHANNEL,
        app: APP,
        platform: PLATFORM,
        dayMs: DAY,
        realMs: SECONDS * 1000,
        settings: { intervalMs: INTERVAL, jitter: run.jitter, maxBackoffMs: 24 * HOUR, quiet: [] },
        firstDelay: firstDelayFor(run.first, run.jitter),
        edits,
        seed: SEED,
        verifier,
        maxInflight: MAX_INFLIGHT,
        log: note,
      });
      const log = await nginx.accessLog();
      const channelPath = `/channels/${CHANNEL}.json`;
      result.nginx = {
        requests: log.length,
        channel200: log.filter((e) => e.path === channelPath && e.status === 200).length,
        channel304: log.filter((e) => e.path === channelPath && e.status === 304).length,
        manifest200: log.filter((e) => e.path.startsWith('/releases/') && e.status === 200).length,
        other: log.filter((e) => !(e.path === channelPath || e.path.startsWith('/releases/')) || ![200, 304].includes(e.status)).length,
        bodyBytes: log.reduce((sum, e) => sum + e.bytes, 0),
      };
    } finally {
      await agent.close();
      await closeNginx();
    }
    result.verifier = verifier.stats;
    result.loadavg = [load0, loadavg()[0]];
    results[run.key] = result;
    note(
      `run ${run.key}: ${int(result.counts.checks)} checks (${int(result.counts.s304)} x 304, ${int(result.counts.s200)} x 200, ${result.counts.errors} errors), ` +
        `${int(result.counts.manifests)} downloads in ${(result.elapsedRealMs / 1000).toFixed(1)} s; nginx logged ${int(result.nginx.requests)} requests`,
    );
  }

  // ---- figures per run ------------------------------------------------------------------

  const minutes = DAY / MINUTE;
  const figures = {};
  for (const run of runs) {
    const r = results[run.key];
    const load = Array.from({ length: minutes }, (_, m) => r.bins.checks[m] + r.bins.manifests[m]);
    const total = load.reduce((a, b) => a + b, 0);
    const mean = total / minutes;
    let peak = 0;
    let peakAt = 0;
    for (let m = 0; m < minutes; m++) if (load[m] > peak) [peak, peakAt] = [load[m], m];
    // Breakdown: channel checks alone (no release-manifest fetches), whole day and after start-up.
    const checksOnly = Array.from(r.bins.checks);
    const ratioOf = (series) => {
      const m = series.reduce((a, b) => a + b, 0) / series.length;
      return { mean: m, peak: maxOf(series), ratio: maxOf(series) / m };
    };
    const checksDay = ratioOf(checksOnly);
    const checksSteady = ratioOf(checksOnly.slice(STEADY_FROM / MINUTE));

    // Adoption: first download of each install, by the simulated time of its check.
    const firstDownload = new Map();
    for (const d of r.downloads) if (!firstDownload.has(d.i)) firstDownload.set(d.i, d);
    const perMinute = { canary: new Uint32Array(minutes + 1), general: new Uint32Array(minutes + 1) };
    for (const d of firstDownload.values()) perMinute[ringKey(d.ring)][Math.floor(d.v / MINUTE) + 1]++;
    const adoptionAt = {};
    for (const ring of ['canary', 'general']) {
      const cum = new Float64Array(minutes + 1);
      for (let m = 1; m <= minutes; m++) cum[m] = cum[m - 1] + perMinute[ring][m];
      adoptionAt[ring] = (ms) => cum[Math.min(minutes, Math.ceil(ms / MINUTE))] / ringSize[ring];
    }
    const adoptionSeries = {};
    for (const ring of ['canary', 'general']) {
      adoptionSeries[ring] = [];
      for (let m = 0; m <= minutes; m += 5) adoptionSeries[ring].push([m, Math.round(adoptionAt[ring](m * MINUTE) * 10000) / 10000]);
    }

    // Halt.
    const halt = r.edits.find((e) => e.label === 'halt');
    const resume = r.edits.find((e) => e.label === 'resume');
    const afterHalt = r.downloads.filter((d) => d.answeredReal > halt.doneReal && d.sequence < resume.sequence);
    const latency = afterHalt.length ? maxOf(afterHalt.map((d) => (d.answeredReal - halt.doneReal) * r.compression)) : 0;
    const beforeHalt = r.downloads.filter((d) => d.answeredReal <= halt.doneReal);
    const lastBefore = beforeHalt.length ? maxOf(beforeHalt.map((d) => d.answeredReal)) : null;
    const fromHaltedDoc = r.downloads.filter((d) => d.sequence === halt.sequence).length;
    const seenTimes = [...halt.seen.values()].filter((v) => v < resume.at);
    const haltReach = {
      installsSeen: seenTimes.length,
      // In simulated time from the edit's scheduled moment (checks go out in simulated order).
      lastSeenAfterMs: seenTimes.length ? maxOf(seenTimes) - halt.at : null,
      medianSeenAfterMs: seenTimes.length ? quantile(seenTimes, 0.5) - halt.at : null,
    };

    const lag = {
      issueP50s: quantile(r.issueLag, 0.5) / 1000,
      issueP99s: quantile(r.issueLag, 0.99) / 1000,
      issueMaxS: maxOf(r.issueLag) / 1000,
      answerP50s: quantile(r.answerLag, 0.5) / 1000,
      answerP99s: quantile(r.answerLag, 0.99) / 1000,
      answerMaxS: maxOf(r.answerLag) / 1000,
    };
    const quietChecks = r.counts.quiet304 + r.counts.quiet200;
    figures[run.key] = { firstDownloads: [...firstDownload.values()], load, total, mean, peak, peakAt, checksDay, checksSteady, adoptionAt, adoptionSeries, afterHalt, latency, lastBefore, fromHaltedDoc, halt, haltReach, lag, quietChecks, installed: firstDownload.size };
    raw[run.key] = {
      label: run.label,
      jitter: run.jitter,
      firstDelay: run.first === 'updater' ? 'firstCheckDelay (Updater.startAutoUpdate)' : 'stationary forward-recurrence time of the jittered interval, computed by the bench',
      compression: r.compression,
      realSeconds: r.elapsedRealMs / 1000,
      loadavg1: r.loadavg,
      counts: r.counts,
      nginx: r.nginx,
      stability: r.stability,
      verifier: r.verifier,
      errors: r.errors,
      lagSimulatedSeconds: lag,
      maxAnswerLagByMinuteS: Array.from(r.maxLagByMinute, (x) => Math.round(x / 1000)),
      load: { totalRequests: total, meanPerMinute: mean, peakPerMinute: peak, peakAt: hhmm(peakAt * MINUTE), channelChecksOnly: { wholeDay: checksDay, from: hhmm(STEADY_FROM), afterStartup: checksSteady } },
      halt: {
        editAt: hhmm(halt.at),
        editDoneSimulatedS: halt.doneV / 1000,
        sequence: halt.sequence,
        downloadsAfterHalt: afterHalt.length,
        latencySimulatedS: latency / 1000,
        lastDownloadBeforeHaltSimulatedS: lastBefore === null ? null : ((lastBefore - halt.doneReal) * r.compression) / 1000,
        downloadsFromHaltedDocument: fromHaltedDoc,
        fleetSawHalt: { installs: haltReach.installsSeen, medianAfterS: haltReach.medianSeenAfterMs / 1000, lastAfterS: haltReach.lastSeenAfterMs / 1000 },
      },
      edits: r.edits.map((e) => ({ label: e.label, at: hhmm(e.at), doneSimulatedS: Math.round(e.doneV) / 1000, editRealMs: Math.round((e.doneReal - e.startReal) * 10) / 10, sequence: e.sequence, etag: e.etag, installsThatSawIt: e.seen.size })),
      installsOnNewVersion: firstDownload.size,
      perMinute: { checks: Array.from(r.bins.checks), manifests: Array.from(r.bins.manifests), status200: Array.from(r.bins.s200), status304: Array.from(r.bins.s304) },
      adoption: adoptionSeries,
    };
  }

  // ---- rows -----------------------------------------------------------------------------------

  const J = figures.jitter;
  const NJ = figures.nojitter;
  for (const run of runs.filter((x) => x.jitter > 0)) {
    const f = figures[run.key];
    const main = run.key === 'jitter';
    rows.push(
      row(`origin load, ${run.label}: busiest minute / mean`, `${rate(f.peak)} at ${hhmm(f.peakAt * MINUTE)}`, `mean ${rate(f.mean)}`, f.peak / f.mean, main ? '<= 1.50' : 'what-if', main ? f.peak / f.mean <= 1.5 : null),
      row('  channel checks alone, whole day', rate(f.checksDay.peak), `mean ${rate(f.checksDay.mean)}`, f.checksDay.ratio, 'breakdown', null),
      row(`  channel checks alone, from ${hhmm(STEADY_FROM)}`, rate(f.checksSteady.peak), `mean ${rate(f.checksSteady.mean)}`, f.checksSteady.ratio, 'breakdown', null),
    );
  }
  rows.push(
    row('origin load, no jitter: busiest minute / mean', `${rate(NJ.peak)} at ${hhmm(NJ.peakAt * MINUTE)}`, `mean ${rate(NJ.mean)}`, NJ.peak / NJ.mean, 'comparison', null),
    row('busiest minute, no jitter / jitter 1', rate(NJ.peak), `${rate(J.peak)} jitter 1`, NJ.peak / J.peak, 'comparison', null),
  );
  for (const run of runs) {
    const f = figures[run.key];
    const c = results[run.key].counts;
    const share = f.quietChecks ? c.quiet304 / f.quietChecks : 0;
    rows.push(
      row(
        `304 share while nothing changed, ${run.label}`,
        `${pct(share, 2)} (${int(c.quiet304)} of ${int(f.quietChecks)}; ${pct(c.s304 / c.checks)} of all checks)`,
        'checks with no change since the last',
        share,
        '>= 0.95',
        share >= 0.95,
      ),
    );
  }
  for (const run of runs) {
    const c = results[run.key].counts;
    rows.push(row(`answers with a body (signature checks), ${run.label}`, `${int(c.s200)} (${(c.s200 / INSTALLS).toFixed(1)} per install)`, `${int(c.checks)} checks, all 200 without ETags`, c.s200 / c.checks, 'comparison', null));
  }
  const minutesText = (ms) => `${Math.floor(ms / HOUR)} h ${String(Math.round((ms % HOUR) / MINUTE)).padStart(2, '0')} min`;
  for (const run of runs) {
    const f = figures[run.key];
    const C = results[run.key].compression;
    const first = f.afterHalt.length ? `${f.afterHalt.length} downloads, last ${(f.latency / 1000).toFixed(1)} s after` : `0 (last one ${((f.halt.doneReal - f.lastBefore) * C / 1000).toFixed(0)} s before)`;
    const reach = f.haltReach.installsSeen === INSTALLS ? `; whole fleet saw it after ${minutesText(f.haltReach.lastSeenAfterMs)}` : `; ${int(f.haltReach.installsSeen)} installs saw it`;
    rows.push(row(`halt at ${hhmm(f.halt.at)}: downloads starting after it, ${run.label}`, first + reach, 'check interval 1 h', f.latency / INTERVAL, '<= 1 interval', f.latency <= INTERVAL && f.fromHaltedDoc === 0));
  }
  const buckets = ids.map((id) => rolloutBucket(id, '2.0.0'));
  const sd = (p) => Math.sqrt((p / 100) * (1 - p / 100) / INSTALLS) * 100;
  for (const p of [1, 10, 50]) {
    const share = (buckets.filter((b) => b < p).length / INSTALLS) * 100;
    rows.push(row(`bucketing: ids with bucket < ${p} (2.0.0)`, `${share.toFixed(2)}% of ${int(INSTALLS)}`, `set ${p}% (binomial sd ${sd(p).toFixed(2)})`, share / p, `${p - 1}% - ${p + 1}%`, Math.abs(share - p) <= 1));
  }
  // The run's ids are one random sample: its shares carry binomial noise (about 1 sample
  // in 20 lands outside +-1 point at 50%). Many fresh samples show the hash is unbiased.
  const SAMPLES = 100;
  const samples = Array.from({ length: SAMPLES }, (_, k) => installIds(SEED + 1 + k, INSTALLS).map((id) => rolloutBucket(id, '2.0.0')));
  for (const p of [1, 10, 50]) {
    const shares = samples.map((b) => (b.filter((x) => x < p).length / INSTALLS) * 100);
    const mean = shares.reduce((a, b) => a + b, 0) / SAMPLES;
    const within = shares.filter((x) => Math.abs(x - p) <= 1).length;
    const worst = Math.max(...shares.map((x) => Math.abs(x - p)));
    const expected = Math.min(1, erf(1 / (sd(p) * Math.SQRT2)));
    rows.push(row(`bucketing, ${SAMPLES} more samples of ${int(INSTALLS)} ids: bucket < ${p}`, `mean ${mean.toFixed(2)}%, ${within} of ${SAMPLES} within +-1 point, worst ${worst.toFixed(2)} off`, `binomial: ${(expected * 100).toFixed(1)}% within +-1`, mean / p, 'unbiased', Math.abs(mean - p) <= 3 * sd(p) / Math.sqrt(SAMPLES)));
  }
  const stab = Object.values(results).reduce(
    (s, r) => ({ checks: s.checks + r.stability.bucketChecks, changed: s.changed + r.stability.bucketChanged, decisions: s.decisions + r.stability.decisionsChecked, wrong: s.wrong + r.stability.decisionsInconsistent }),
    { checks: 0, changed: 0, decisions: 0, wrong: 0 },
  );
  rows.push(
    row('bucketing: an install\'s bucket changed between checks', `${stab.changed} of ${int(stab.checks)} checks`, 'first bucket of each install', stab.changed / stab.checks, '0', stab.changed === 0),
    row('bucketing: decision != (bucket < ring %)', `${stab.wrong} of ${int(stab.decisions)} decisions`, 'rolloutBucket + ringPercent', stab.wrong / stab.decisions, '0', stab.wrong === 0),
  );

  // ---- adoption table -----------------------------------------------------------------------

  // Per stage: installs whose first download was decided on that stage's channel
  // document or an earlier one (by sequence), so a check in flight across an edit
  // counts under the document it was actually answered with.
  const stageSet = [[10, 1], [100, 10], null, [100, 10], [100, 50], [100, 100]];
  const eligible = (ring, p) => {
    let n = 0;
    for (let i = 0; i < INSTALLS; i++) if (ringKey(rings[i]) === ring && buckets[i] < p) n++;
    return n / ringSize[ring];
  };
  const adoptedUnder = (runKey, ring, sequence) => {
    let n = 0;
    for (const d of figures[runKey].firstDownloads) if (ringKey(d.ring) === ring && d.sequence <= sequence) n++;
    return n / ringSize[ring];
  };
  const adoptionHeader = ['stage', 'from - to', 'set canary / *', 'bucket < set', ...runs.map((r) => `${r.label}: canary / *`)];
  const adoptionRows = STAGES.map((stage, k) => {
    const set = stageSet[k];
    return [
      stage.label,
      `${hhmm(stage.at)} - ${hhmm(STAGES[k + 1]?.at ?? DAY)}`,
      set ? `${set[0]}% / ${set[1]}%` : 'halted',
      set ? `${pct(eligible('canary', set[0]))} / ${pct(eligible('general', set[1]))}` : '-',
      ...runs.map((r) => {
        const sequence = results[r.key].edits[k].sequence;
        return `${pct(adoptedUnder(r.key, 'canary', sequence))} / ${pct(adoptedUnder(r.key, 'general', sequence))}`;
      }),
    ];
  });

  // ---- output ---------------------------------------------------------------------------------

  const header = ['scenario', 'measured', 'baseline', 'ratio', 'target', 'result'];
  const text = renderTable(
    header,
    rows.map((r) => [r.scenario, r.measured, r.baseline, r.ratio.toFixed(2), r.target, r.pass === null ? '-' : r.pass ? 'pass' : 'FAIL']),
  );
  const adoptionText = renderTable(adoptionHeader, adoptionRows);
  const env = {
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    kernel: osRelease(),
    nginx: (await execFileP(findNginx(), ['-v']).catch((e) => e)).stderr?.trim() ?? '?',
  };
  const lagText = runs
    .map((r) => `${r.key} p99 ${figures[r.key].lag.answerP99s.toFixed(0)} s, max ${figures[r.key].lag.answerMaxS.toFixed(0)} s`)
    .join('; ');
  const logText = runs
    .map((r) => {
      const x = results[r.key];
      const same = x.nginx.channel304 === x.counts.s304 && x.nginx.channel200 === x.counts.s200 && x.nginx.manifest200 === x.counts.manifests && x.nginx.other === 0;
      return `${r.key} ${int(x.nginx.channel304)} x 304 + ${int(x.nginx.channel200)} x 200 + ${int(x.nginx.manifest200)} manifests (${same ? 'same as the client counted' : 'DIFFERENT from the client counts'})`;
    })
    .join('; ');
  const totalS = (performance.now() - began) / 1000;
  const targets = rows.filter((r) => r.pass !== null);
  process.stdout.write(
    `\ntwinslot fleet benchmark: ${int(INSTALLS)} installs (${int(ringSize.canary)} in ring canary), check interval 1 h, one simulated day per run in ${SECONDS} s ` +
      `(${(DAY / (SECONDS * 1000)).toFixed(0)}x), nginx on loopback, seed ${SEED}; ${env.node}, ${env.cpus}\n\n${text}\n\n` +
      `Adoption per ring: share of the ring on 2.0.0 by the end of each stage (downloads decided on that stage's channel document or an earlier one):\n\n${adoptionText}\n\n` +
      `nginx access logs: ${logText}.\n` +
      `Answers arrived behind schedule by (simulated time; issue order and edits stay in simulated order): ${lagText}.\n` +
      `${targets.filter((r) => r.pass).length} of ${targets.length} targets met; ran in ${totalS.toFixed(0)} s. JSON: ${OUT.slice(REPO.length + 1)}, plot: ${SVG_OUT.map((p) => p.slice(REPO.length + 1)).join(', ')}\n`,
  );

  const svg = renderSvg({
    title: `twinslot fleet: ${int(INSTALLS)} installs polling nginx for one simulated day`,
    subtitle: `check interval 1 h; rollout 1% > 10% > halt > resume > 50% > 100% (canary ring 10% > 100%); solid: jitter 1, dashed: no jitter`,
    rings: [
      { key: 'canary', label: 'canary ring (10%)', color: '#d95f02' },
      { key: 'general', label: 'everyone else (*)', color: '#1b9e77' },
    ],
    runs: runs.map((run) => ({
      label: run.label,
      loadLabel: `${run.label}: busiest minute ${(figures[run.key].peak / figures[run.key].mean).toFixed(2)}x the mean`,
      color: run.color,
      dash: run.dash,
      adoption: figures[run.key].adoptionSeries,
      load: figures[run.key].load.map(perSecond),
    })),
    edits: STAGES.map((s) => ({ minute: s.at / MINUTE, label: s.label })),
    maxLoad: Math.ceil((perSecond(J.peak) * 1.6) / 2) * 2,
    clipNote: NJ.peak > J.peak * 1.6 ? `no jitter: up to ${rate(NJ.peak)} at the full hours (clipped)` : null,
  });
  for (const path of SVG_OUT) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, svg);
  }
  await mkdir(dirname(OUT), { recursive: true });
  await writeFile(
    OUT,
    JSON.stringify(
      {
        benchmark: 'fleet',
        date: new Date().toISOString(),
        environment: env,
        options: { installs: INSTALLS, secondsPerRun: SECONDS, seed: SEED, stationaryStart: opts['stationary-start'], verifyAll: opts['verify-all'], connections: CONNECTIONS, maxInflight: MAX_INFLIGHT },
        seconds: totalS,
        notes: NOTES,
        stages: STAGES.map((s) => ({ at: hhmm(s.at), label: s.label, rings: s.rings ?? null, halted: s.halted ?? null })),
        rows,
        adoption: { header: adoptionHeader, rows: adoptionRows },
        raw,
      },
      null,
      1,
    ) + '\n',
  );
} catch (err) {
  if (!exit.interrupted) process.stderr.write(`bench fleet: ${err.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

/** The error function (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7). */
function erf(x) {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

