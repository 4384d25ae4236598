// `npm run bench -- delta`: twinslot's binary delta patches against the usual tools,
// on real release pairs and a synthetic one, on one machine in one run. Every figure is
// a ratio against a baseline measured in the same command.
//
// Pairs: esbuild, biome, swc (one native binary each: two adjacent npm releases),
// typescript (a package tree: every changed file) and synthetic (256 MiB of random
// bytes with ~2% scattered edits, see synthetic.mjs).
//
//   1. bytes: the twinslot patch (summed over changed files) against Debian's bsdiff,
//      `xdelta3 -9 -e -s old new`, `zstd -19 --long=31 --patch-from=old new`, and the new
//      file(s) compressed with `zstd -19`.
//   2. apply: twinslot's applyPatch() (which verifies the SHA-256), in a fresh Node child,
//      timed around the call (the child's whole wall time is reported too), against the
//      bspatch CLI and against `cp --reflink=never new out && sha256sum out` (and, for
//      reference only, the same with `openssl dgst -sha256`, which uses the CPU's SHA
//      instructions as Node does and coreutils' sha256sum does not); peak RSS of
//      the child (VmHWM), of bspatch (/usr/bin/time %M) and of an idle Node child that
//      imported dist/delta/apply.js.
//   3. publisher: bsdiffControls() + encodePatch() in a child against the bsdiff CLI, per
//      file (judged from 1 MB up); for typescript also the whole `twinslot release
//      --deltas-from 1`.
//   4. typescript: a real delta update through nginx (install the old release, update
//      to the new one): bytes downloaded against the full new tree.
//
// Patches, sizes and publisher timings are cached in bench/.cache/delta/ keyed by the
// SHA-256 of the inputs (and of the encoder code for twinslot patches). The publisher
// is measured again on every run unless --skip-publisher is given, which reuses what
// is cached (marked "cached" with its date) and measures only what is missing.
//
// Options: --reps <n> (5) apply repetitions; --publisher-reps <n> (1); --only a,b (of
// esbuild, biome, swc, typescript, synthetic); --skip-publisher.
// Prints tables to stdout, writes bench/out/delta.json. Exit 1 on a missing tool or an
// error (nothing is written then).
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release as osRelease, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { findNginx, startNginx } from '../../test/helpers/nginx.mjs';
import { cleanupOnExit } from '../lib/cleanup.mjs';
import { REPO, ensureDist } from '../lib/dist.mjs';
import { MB, MiB, median, renderTable } from '../lib/table.mjs';
import { PAIRS, PAIRS_DIR, fetchPairs } from './fetch-pairs.mjs';
import { ensureSynthetic } from './synthetic.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD = join(HERE, 'child.mjs');
const CLI = join(REPO, 'dist', 'cli.js');
const OUT = join(REPO, 'bench', 'out', 'delta.json');
const CACHE = join(REPO, 'bench', '.cache', 'delta');
const APP = 'com.example.bench.delta';
const PLATFORM = 'linux-x64';

const ALL = [...PAIRS.map((p) => p.name), 'synthetic'];
const TARGET = {
  bytesSum: 0.85, // twinslot / bsdiff, summed over the real pairs
  bytesEach: 1.0,
  applySum: 0.4, // twinslot apply / bspatch, summed over the real pairs
  applyEach: 1.0,
  applyVsCopy: 3.0, // twinslot apply / (cp + sha256sum), files over 25 MB
  applyVsCopyOver: 25 * MB,
  applyRss: 64 * MiB,
  publisher: 1.5, // twinslot diff+encode / bsdiff CLI, per file
  publisherFrom: 1 * MB, // ... of at least this size
};

const NOTES = [
  'ratio = twinslot / baseline everywhere: below 1 means twinslot is smaller, faster or leaner. Medians of interleaved repetitions (twinslot, bspatch, cp+sha256sum) after one untimed warm-up of each; all inputs are in the page cache, outputs are written to the same disk and never fsynced (by anyone).',
  '"compressed" = `zstd -19` of each changed new file (default window; no --long), summed: what fetching the file(s) compressed would cost. xdelta3 = `xdelta3 -9 -e -s old new`; zstd patch = `zstd -19 --long=31 --patch-from=old new`. bsdiff/bspatch = Debian bsdiff 4.3 (bzip2).',
  'Sums ("real pairs") add esbuild, biome, swc and typescript; synthetic is reported on its own and is held to the per-pair targets only. For typescript every changed file is patched and the figures are sums over those files (bspatch and cp+sha256sum run once per file).',
  'cp+sha256sum is the stated baseline, but coreutils 9.1 sha256sum does not use the CPU\'s SHA instructions (on this machine about 3.5x slower than OpenSSL on 268 MB), while Node\'s createHash (OpenSSL) does: cp+openssl (`openssl dgst -sha256`) is shown beside it for reference, not judged.',
  'apply: twinslot = applyPatch() alone (files opened before, closed after), in a fresh `node child.mjs apply` process; "child wall" = spawn to exit of that process (Node start, import, open, apply, close). bspatch and cp+sha256sum are wall times of the processes as the parent sees them (spawn to exit, through /usr/bin/time for bspatch). bspatch checks nothing; twinslot and the cp baseline hash the output.',
  'peak RSS: twinslot = VmHWM of the apply child (all of Node, not only the applier); the target applies to that absolute figure. "above idle" subtracts an idle Node child that imported dist/delta/apply.js. bspatch = /usr/bin/time %M (its maximum resident set, KiB).',
  'publisher: twinslot = bsdiffControls() (bsdiff-node, writes and re-reads a BSDIFF40 patch in a scratch directory) + reading both files + encodePatch() (brotli 11 on the thread pool), timed inside a child; RSS = VmHWM of that child. bsdiff CLI = wall time and %M of `bsdiff old new patch`. The whole `twinslot release --deltas-from 1` for typescript also packs and hashes the tree, signs, re-applies each patch to check it and brotli-5s each file for the keep-or-drop test, and diffs the changed files concurrently (one per core); its baseline is the bsdiff CLI run on each changed file one after the other (the per-file runs above, summed). Files under 1 MB are shown but not judged: both sides are then a few ms of fixed cost.',
  'update: old and new typescript are published into one feed (old on channel "base", new on "stable" with --deltas-from 1), served by nginx on loopback; `twinslot install` installs the old one, then a child runs checkForUpdates + downloadUpdate + installUpdate on "stable". Downloaded = body bytes nginx logged for /blobs/ during the update. The installed slot is compared file by file with the new tree.',
];

const execFileP = promisify(execFile);
const now = () => performance.timeOrigin + performance.now();
const began = now();
const LOAD_AT_START = loadavg()[0];
const note = (line) => process.stderr.write(`[${((now() - began) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

// ---- options ---------------------------------------------------------------------------

const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    'publisher-reps': { type: 'string', default: '1' },
    only: { type: 'string' },
    'skip-publisher': { type: 'boolean', default: false },
  },
});
const REPS = Number(opts.reps);
const PUB_REPS = Number(opts['publisher-reps']);
const SKIP_PUBLISHER = opts['skip-publisher'];
const ONLY = opts.only ? opts.only.split(',').map((s) => s.trim()).filter(Boolean) : ALL;
for (const [name, v] of [['--reps', REPS], ['--publisher-reps', PUB_REPS]]) {
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`bench delta: ${name} takes a whole number >= 1\n`);
    process.exit(2);
  }
}
const unknown = ONLY.filter((n) => !ALL.includes(n));
if (unknown.length > 0 || ONLY.length === 0) {
  process.stderr.write(`bench delta: --only takes names from ${ALL.join(', ')} (got ${opts.only})\n`);
  process.exit(2);
}
const SELECTED = ALL.filter((n) => ONLY.includes(n)); // in the usual order

// ---- prerequisites ---------------------------------------------------------------------

function which(command) {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, command)));
}
for (const tool of ['bsdiff', 'bspatch', 'xdelta3', 'zstd', 'sha256sum', 'cp']) {
  if (!which(tool)) {
    process.stderr.write(`bench delta: skipped: ${tool} is not installed (apt-get install bsdiff xdelta3 zstd); it is a baseline\n`);
    process.exit(1);
  }
}
const HAVE_OPENSSL = which('openssl'); // an extra, fairer hash baseline when present
if (!existsSync('/usr/bin/time')) {
  process.stderr.write('bench delta: skipped: /usr/bin/time is not installed (apt-get install time); it measures the baselines\' peak RSS\n');
  process.exit(1);
}
if (SELECTED.includes('typescript') && !findNginx()) {
  process.stderr.write('bench delta: skipped: nginx is not installed (apt-get install nginx-light); it serves the typescript update (or leave typescript out with --only)\n');
  process.exit(1);
}
ensureDist();

// ---- cleanup, also on Ctrl-C -----------------------------------------------------------

const exit = cleanupOnExit('bench delta');
const { cleanups, children, cleanup } = exit;

// ---- processes -------------------------------------------------------------------------

/** Runs a command; resolves { code, stdout, stderr, wallMs } (wall = spawn to exit, as seen from here). Rejects on a non-zero exit. */
function run(command, args, { allowFail = false } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let wallMs = null;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', () => (wallMs = performance.now() - t0));
    child.on('close', (code, signal) => {
      children.delete(child);
      const r = { code, signal, stdout, stderr, wallMs };
      if ((code !== 0 || signal) && !allowFail) reject(new Error(`${command} ${args.join(' ')}: exit ${code ?? signal}: ${stderr.trim().slice(-2000)}`));
      else resolve(r);
    });
  });
}

let timeFiles = 0;
let WORK = null;
/** Runs a command under /usr/bin/time: { wallMs (from here), rssKiB (%M), ... }. */
async function timed(command, args) {
  const tf = join(WORK, `time-${++timeFiles}.txt`);
  const r = await run('/usr/bin/time', ['-o', tf, '-f', '%e %M', command, ...args]);
  const [, rss] = (await readFile(tf, 'latin1')).trim().split('\n').pop().split(' ');
  await rm(tf, { force: true });
  return { ...r, rssKiB: Number(rss) };
}

/** Runs `node child.mjs ...`; resolves its JSON plus wallMs. */
async function nodeChild(args) {
  const r = await run(process.execPath, [CHILD, ...args]);
  const last = r.stdout.trim().split('\n').pop();
  return { ...JSON.parse(last), wallMs: r.wallMs, stderr: r.stderr.trim() };
}

// ---- hashing and the cache -------------------------------------------------------------

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const HASHES = join(CACHE, 'hashes.json');
let hashCache = {};
/** SHA-256 of a file, remembered by path, size and mtime. */
async function fileSha(path) {
  const s = await stat(path);
  const hit = hashCache[path];
  if (hit && hit.size === s.size && hit.mtimeMs === s.mtimeMs) return hit.sha256;
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(piece);
  const digest = hash.digest('hex');
  hashCache[path] = { size: s.size, mtimeMs: s.mtimeMs, sha256: digest };
  return digest;
}

async function readJson(path) {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

async function writeJson(path, value) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(value, null, 2) + '\n');
  await rename(`${path}.tmp`, path);
}

/** Relative paths of every regular file under `dir`. */
async function walk(dir, base = dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, base)));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out.sort();
}

// ---- formatting --------------------------------------------------------------------------

const kb = (bytes) => (bytes >= 10 * MB ? `${(bytes / MB).toFixed(1)} MB` : bytes >= 10_000 ? `${(bytes / 1000).toFixed(0)} kB` : `${bytes} B`);
const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;
const ms = (v) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);
const ratio = (a, b) => (b > 0 ? a / b : NaN);
const fx = (r) => (Number.isFinite(r) ? r.toFixed(2) : '-');
const verdict = (checks) => (checks.length === 0 ? '-' : checks.every((c) => c.pass) ? 'pass' : `FAIL${checks.some((c) => c.pass) ? ` (${checks.filter((c) => !c.pass).map((c) => c.name).join(', ')})` : ''}`);

const targets = []; // every pass/fail judged, for the count and the JSON
function judge(section, subject, name, value, limit) {
  const pass = Number.isFinite(value) && value <= limit;
  targets.push({ section, subject, name, value, limit, pass });
  return { name, pass };
}

// ---- main ------------------------------------------------------------------------------

try {
  await mkdir(CACHE, { recursive: true });
  hashCache = (await readJson(HASHES)) ?? {};
  WORK = await mkdtemp(join(tmpdir(), 'twinslot-bench-delta-'));
  cleanups.push(() => rm(WORK, { recursive: true, force: true }));

  // Code that shapes a twinslot patch: a change re-makes the cached patches.
  const encoderHash = sha256(
    (await Promise.all(['bsdiff.js', 'encode.js', 'format.js'].map((f) => readFile(join(REPO, 'dist', 'delta', f))))).join('\0') +
      (await readFile(join(REPO, 'node_modules', 'bsdiff-node', 'package.json'), 'utf8')),
  ).slice(0, 16);
  const toolVersions = {
    bsdiff: (await execFileP('dpkg-query', ['-W', '-f', '${Version}', 'bsdiff']).catch(() => ({ stdout: '?' }))).stdout.trim(),
    xdelta3: ((await run('xdelta3', ['-V'], { allowFail: true })).stderr.split('\n')[0] || '?').trim(),
    zstd: (await execFileP('zstd', ['-V'])).stdout.trim(),
    bsdiffNode: JSON.parse(await readFile(join(REPO, 'node_modules', 'bsdiff-node', 'package.json'), 'utf8')).version,
  };

  // ---- the cases: changed files per pair --------------------------------------------------

  const realNames = SELECTED.filter((n) => n !== 'synthetic');
  if (realNames.length) await fetchPairs(realNames, note);
  const cases = [];
  for (const name of SELECTED) {
    let files;
    let tree = null;
    if (name === 'synthetic') {
      const s = await ensureSynthetic(note);
      files = [{ rel: 'data.bin', old: s.old, new: s.new }];
    } else {
      const pair = PAIRS.find((p) => p.name === name);
      const dir = join(PAIRS_DIR, name);
      if (pair.file) {
        files = [{ rel: pair.file, old: join(dir, 'old', pair.file), new: join(dir, 'new', pair.file) }];
      } else {
        const [oldList, newList] = await Promise.all([walk(join(dir, 'old')), walk(join(dir, 'new'))]);
        const oldSet = new Set(oldList);
        tree = { files: newList.length, bytes: 0, unchanged: 0, unchangedBytes: 0, added: [], removed: oldList.filter((p) => !newList.includes(p)), changed: [] };
        files = [];
        for (const rel of newList) {
          const n = join(dir, 'new', rel);
          const size = (await stat(n)).size;
          tree.bytes += size;
          if (!oldSet.has(rel)) tree.added.push(rel);
          else if ((await fileSha(join(dir, 'old', rel))) === (await fileSha(n))) {
            tree.unchanged++;
            tree.unchangedBytes += size;
          } else {
            files.push({ rel, old: join(dir, 'old', rel), new: n });
            tree.changed.push(rel);
          }
        }
        tree.root = { old: join(dir, 'old'), new: join(dir, 'new') };
        tree.version = { old: pair.from, new: pair.to };
      }
    }
    for (const f of files) {
      const [os, ns] = await Promise.all([stat(f.old), stat(f.new)]);
      f.oldSize = os.size;
      f.newSize = ns.size;
      f.oldSha = await fileSha(f.old);
      f.newSha = await fileSha(f.new);
      f.cache = join(CACHE, name, sha256(`${f.oldSha}>${f.newSha}`).slice(0, 16));
      f.tsPatch = join(f.cache, `twinslot-${encoderHash}.patch`);
      f.bsPatch = join(f.cache, 'bsdiff.patch');
    }
    cases.push({ name, real: name !== 'synthetic', files, tree, newBytes: files.reduce((s, f) => s + f.newSize, 0) });
    note(`${name}: ${files.length} changed file(s), ${kb(files.reduce((s, f) => s + f.newSize, 0))} new${tree ? ` (tree: ${tree.files} files, ${tree.unchanged} unchanged)` : ''}`);
  }
  await writeJson(HASHES, hashCache);

  // ---- 3. publisher (first: it makes the patches everything else uses) ----------------------

  const publisher = new Map(); // file -> { ts, bs, cached }
  for (const c of cases) {
    for (const f of c.files) {
      const tsMetaPath = `${f.tsPatch.slice(0, -'.patch'.length)}.json`;
      const bsMetaPath = join(f.cache, 'bsdiff.json');
      let tsMeta = existsSync(f.tsPatch) ? await readJson(tsMetaPath) : null;
      let bsMeta = existsSync(f.bsPatch) ? await readJson(bsMetaPath) : null;
      const cached = SKIP_PUBLISHER && tsMeta && bsMeta;
      if (!cached) {
        await mkdir(f.cache, { recursive: true });
        const tsRuns = [];
        const bsRuns = [];
        for (let rep = 0; rep < PUB_REPS; rep++) {
          note(`publisher ${c.name}/${f.rel} (${kb(f.newSize)}), rep ${rep + 1}/${PUB_REPS}: twinslot diff+encode`);
          const scratch = await mkdtemp(join(WORK, 'diff-'));
          const r = await nodeChild(['diff', f.old, f.new, join(scratch, 'out.patch'), scratch]);
          await rename(join(scratch, 'out.patch'), f.tsPatch);
          await rm(scratch, { recursive: true, force: true });
          tsRuns.push({ totalMs: r.totalMs, bsdiffMs: r.bsdiffMs, encodeMs: r.encodeMs, wallMs: r.wallMs, peakRssKiB: r.peakRssKiB, controls: r.controls, patchBytes: r.patchBytes });
          note(`  twinslot ${ms(r.totalMs)} (bsdiff-node ${ms(r.bsdiffMs)}, encode ${ms(r.encodeMs)}), ${mib(r.peakRssKiB)}, ${kb(r.patchBytes)}`);
          const tmp = join(WORK, 'bsdiff.patch');
          const b = await timed('bsdiff', [f.old, f.new, tmp]);
          await rename(tmp, f.bsPatch).catch(async () => {
            await execFileP('cp', [tmp, f.bsPatch]);
            await rm(tmp);
          });
          bsRuns.push({ wallMs: b.wallMs, rssKiB: b.rssKiB, patchBytes: (await stat(f.bsPatch)).size });
          note(`  bsdiff CLI ${ms(b.wallMs)}, ${mib(b.rssKiB)}, ${kb(bsRuns.at(-1).patchBytes)}`);
        }
        const date = new Date().toISOString();
        tsMeta = { date, encoderHash, runs: tsRuns, totalMs: median(tsRuns.map((r) => r.totalMs)), peakRssKiB: Math.max(...tsRuns.map((r) => r.peakRssKiB)), patchBytes: (await stat(f.tsPatch)).size };
        bsMeta = { date, runs: bsRuns, wallMs: median(bsRuns.map((r) => r.wallMs)), rssKiB: Math.max(...bsRuns.map((r) => r.rssKiB)), patchBytes: (await stat(f.bsPatch)).size };
        await writeJson(tsMetaPath, tsMeta);
        await writeJson(bsMetaPath, bsMeta);
        // Patches of other encoder versions are of no more use.
        for (const name of await readdir(f.cache)) {
          if (name.startsWith('twinslot-') && !name.startsWith(`twinslot-${encoderHash}.`)) await rm(join(f.cache, name), { force: true });
        }
      } else {
        note(`publisher ${c.name}/${f.rel}: cached from ${tsMeta.date}`);
      }
      publisher.set(f, { ts: tsMeta, bs: bsMeta, cached: Boolean(cached) });
    }
  }

  // ---- 1. bytes: the other tools (cached: they are deterministic) ----------------------------

  const other = new Map(); // file -> { xdelta3, zstdPatch, zstdNew }
  const TOOLS = {
    xdelta3: (f, out) => ['xdelta3', ['-9', '-e', '-f', '-s', f.old, f.new, out]],
    zstdPatch: (f, out) => ['zstd', ['-q', '-f', '-19', '--long=31', `--patch-from=${f.old}`, f.new, '-o', out]],
    zstdNew: (f, out) => ['zstd', ['-q', '-f', '-19', f.new, '-o', out]],
  };
  for (const c of cases) {
    for (const f of c.files) {
      const sizes = {};
      for (const [tool, make] of Object.entries(TOOLS)) {
        const metaPath = join(f.cache, `${tool}.json`);
        const version = tool === 'xdelta3' ? toolVersions.xdelta3 : toolVersions.zstd;
        let meta = await readJson(metaPath);
        if (!meta || meta.version !== version) {
          note(`bytes ${c.name}/${f.rel}: ${tool}`);
          const out = join(WORK, `${tool}.out`);
          const [cmd, args] = make(f, out);
          const r = await timed(cmd, args);
          meta = { version, bytes: (await stat(out)).size, wallMs: r.wallMs, rssKiB: r.rssKiB, date: new Date().toISOString(), command: `${cmd} ${args.join(' ')}` };
          await rm(out, { force: true });
          await writeJson(metaPath, meta);
        }
        sizes[tool] = meta;
      }
      other.set(f, sizes);
    }
  }

  // ---- 2. apply ------------------------------------------------------------------------------

  note('idle baseline: node + dist/delta/apply.js (3 runs)');
  const idle = [];
  for (let i = 0; i < 3; i++) idle.push((await nodeChild(['idle'])).peakRssKiB);
  const idleKiB = median(idle);

  const apply = new Map(); // case -> { ts: [...], bs: [...], cp: [...] }
  for (const c of cases) {
    const outs = c.files.map((_, i) => join(WORK, `out-${i}`));
    const jobsPath = join(WORK, `jobs-${c.name}.json`);
    await writeJson(
      jobsPath,
      c.files.map((f, i) => ({ old: f.old, patch: f.tsPatch, out: outs[i], oldSize: f.oldSize, newSize: f.newSize, sha256: f.newSha })),
    );
    const clear = () => Promise.all(outs.map((o) => rm(o, { force: true })));
    const runTs = async () => {
      const r = await nodeChild(['apply', jobsPath]);
      await clear();
      return { applyMs: r.totalApplyMs, perFileMs: r.applyMs, wallMs: r.wallMs, bootMs: r.importedT - r.startT, peakRssKiB: r.peakRssKiB };
    };
    const runBs = async ({ check = false } = {}) => {
      let wallMs = 0;
      let rssKiB = 0;
      for (const [i, f] of c.files.entries()) {
        const r = await timed('bspatch', [f.old, outs[i], f.bsPatch]);
        wallMs += r.wallMs;
        rssKiB = Math.max(rssKiB, r.rssKiB);
        if (check && (await fileSha(outs[i])) !== f.newSha) throw new Error(`bspatch made the wrong ${c.name}/${f.rel}`);
      }
      await clear();
      return { wallMs, rssKiB };
    };
    // `hasher`: coreutils sha256sum (the stated baseline; no SHA-NI in coreutils 9.1) or,
    // for reference, `openssl dgst -sha256` (the SHA-256 code Node itself uses).
    const runCp = async (hasher = 'sha256sum') => {
      let wallMs = 0;
      for (const [i, f] of c.files.entries()) {
        const t0 = performance.now();
        await run('cp', ['--reflink=never', f.new, outs[i]]);
        const { stdout } = hasher === 'openssl' ? await run('openssl', ['dgst', '-sha256', '-r', outs[i]]) : await run('sha256sum', [outs[i]]);
        wallMs += performance.now() - t0;
        if (stdout.split(' ')[0] !== f.newSha) throw new Error(`cp+${hasher}: ${c.name}/${f.rel} hashed to ${stdout}`);
      }
      await clear();
      return { wallMs };
    };
    note(`apply ${c.name}: warm-up (twinslot, bspatch checked by hash, cp+sha256sum)`);
    const record = { ts: [], bs: [], cp: [], cpOpenssl: [], error: null };
    apply.set(c, record);
    try {
      await runTs();
      await runBs({ check: true });
      await runCp();
      if (HAVE_OPENSSL) await runCp('openssl');
      for (let rep = 0; rep < REPS; rep++) {
        const t = await runTs();
        const b = await runBs();
        const p = await runCp();
        const o = HAVE_OPENSSL ? await runCp('openssl') : null;
        record.ts.push(t);
        record.bs.push(b);
        record.cp.push(p);
        if (o) record.cpOpenssl.push(o);
        note(`apply ${c.name}, rep ${rep + 1}/${REPS}: twinslot ${ms(t.applyMs)} (child ${ms(t.wallMs)}, ${mib(t.peakRssKiB)}), bspatch ${ms(b.wallMs)} (${mib(b.rssKiB)}), cp+sha256sum ${ms(p.wallMs)}${o ? `, cp+openssl ${ms(o.wallMs)}` : ''}`);
      }
    } catch (err) {
      record.error = err.message;
      note(`apply ${c.name}: ERROR ${err.message}`);
      await clear();
    }
  }
  // Every hash computed (outputs of bspatch) is of a temp file: keep only the inputs'.
  for (const path of Object.keys(hashCache)) if (path.startsWith(WORK)) delete hashCache[path];

  // ---- 3b + 4. typescript: the whole release, then a real update through nginx --------------

  let release = null;
  let update = null;
  const ts = cases.find((c) => c.tree);
  if (ts) {
    const distFiles = (await walk(join(REPO, 'dist'))).filter((p) => p.endsWith('.js'));
    const distHash = sha256((await Promise.all(distFiles.map((p) => readFile(join(REPO, 'dist', p))))).join('\0'));
    const treeHash = sha256(
      JSON.stringify(
        await Promise.all(
          ['old', 'new'].map(async (side) => Promise.all((await walk(ts.tree.root[side])).map(async (p) => [p, await fileSha(join(ts.tree.root[side], p))]))),
        ),
      ),
    );
    const feedRoot = join(CACHE, ts.name, `feed-${sha256(`${treeHash}/${distHash}`).slice(0, 16)}`);
    const feed = join(feedRoot, 'feed');
    const keyDir = join(feedRoot, 'key');
    const metaPath = join(feedRoot, 'release.json');
    release = SKIP_PUBLISHER ? await readJson(metaPath) : null;
    if (release) {
      release.cached = true;
      note(`release ${ts.name}: cached feed from ${release.date}`);
    } else {
      // One feed at a time: older ones (other code, other inputs) go.
      for (const name of await readdir(dirname(feedRoot)).catch(() => [])) if (name.startsWith('feed-')) await rm(join(dirname(feedRoot), name), { recursive: true, force: true });
      await mkdir(feedRoot, { recursive: true });
      const key = JSON.parse((await run(process.execPath, [CLI, 'keygen', '--out', keyDir, '--json'])).stdout);
      const common = ['--feed', feed, '--app', APP, '--platform', PLATFORM, '--entry', 'bin/tsc', '--key', join(keyDir, 'twinslot.key'), '--json'];
      note(`release ${ts.name}: publishing ${ts.tree.version.old} (channel base)`);
      await run(process.execPath, [CLI, 'release', ts.tree.root.old, ...common, '--version', ts.tree.version.old, '--channel', 'base']);
      note(`release ${ts.name}: timing \`twinslot release --deltas-from 1\` of ${ts.tree.version.new} (channel stable)`);
      const r = await timed(process.execPath, [CLI, 'release', ts.tree.root.new, ...common, '--version', ts.tree.version.new, '--channel', 'stable', '--deltas-from', '1']);
      const out = JSON.parse(r.stdout);
      release = { date: new Date().toISOString(), wallMs: r.wallMs, rssKiB: r.rssKiB, publicKey: key.publicKey, output: out, cached: false };
      await writeJson(metaPath, release);
      note(`release ${ts.name}: ${ms(r.wallMs)}, ${mib(r.rssKiB)}; ${out.patches} patches, ${kb(out.patchBytes)}`);
    }
    const manifest = JSON.parse(await readFile(join(feed, 'releases', ts.tree.version.new, `${PLATFORM}.json`), 'utf8')).signed;
    release.manifestPatches = manifest.patches.map((p) => ({ to: p.to, from: p.from, size: p.size, blob: p.blob }));
    // The release's patches should be byte for byte the ones measured above (same encoder, same inputs).
    release.samePatchesAsMeasured = await Promise.all(
      ts.files.map(async (f) => {
        const p = manifest.patches.find((x) => x.from === f.oldSha && x.to === f.newSha);
        return { path: f.rel, inRelease: Boolean(p), same: p ? p.blob === sha256(await readFile(f.tsPatch)) : null };
      }),
    );
    for (const x of release.samePatchesAsMeasured) if (x.same === false) note(`release ${ts.name}: the release's patch for ${x.path} differs from the one measured (cached under another encoder?)`);

    // What the planner should download: the patch of each file that has one, the pack chunks of the rest.
    const oldShas = new Set(await Promise.all((await walk(ts.tree.root.old)).map((p) => fileSha(join(ts.tree.root.old, p)))));
    const perFile = [];
    const chunkSet = new Set();
    let expectedPatchBytes = 0;
    for (const file of manifest.files) {
      if (oldShas.has(file.sha256)) continue; // copied from the active slot
      const patch = manifest.patches.filter((p) => p.to === file.sha256 && oldShas.has(p.from) && p.size < file.size).sort((a, b) => a.size - b.size)[0];
      if (patch) {
        expectedPatchBytes += patch.size;
        perFile.push({ path: file.path, size: file.size, how: 'patch', bytes: patch.size });
      } else {
        const cs = manifest.pack.chunkSize;
        const first = Math.floor(file.offset / cs);
        const last = Math.floor((file.offset + file.size - 1) / cs);
        let bytes = 0;
        for (let i = first; i <= last; i++) {
          if (!chunkSet.has(i)) bytes += Math.min(cs, manifest.pack.size - i * cs);
          chunkSet.add(i);
        }
        perFile.push({ path: file.path, size: file.size, how: 'fetch', bytes, chunks: last - first + 1 });
      }
    }
    const expectedChunkBytes = [...chunkSet].reduce((s, i) => s + Math.min(manifest.pack.chunkSize, manifest.pack.size - i * manifest.pack.chunkSize), 0);

    const nginx = await startNginx(feed);
    cleanups.push(() => nginx.close());
    const root = join(WORK, 'root');
    note(`update ${ts.name}: installing ${ts.tree.version.old} from ${nginx.url}`);
    await run(process.execPath, [CLI, 'install', '--feed', nginx.url, '--root', root, '--app', APP, '--pub', release.publicKey, '--channel', 'base']);
    const mark = (await nginx.accessLog()).length;
    note(`update ${ts.name}: updating to ${ts.tree.version.new} (child: check, download, install)`);
    const r = await nodeChild(['update', root, 'stable']);
    await new Promise((res) => setTimeout(res, 100)); // nginx logs a request when it ends
    const log = (await nginx.accessLog()).slice(mark);
    const blobs = log.filter((e) => e.path.startsWith('/blobs/'));
    // The installed slot, file by file, against the new tree.
    const slotDir = join(root, 'slots', r.slot);
    const newList = await walk(ts.tree.root.new);
    const mismatched = [];
    for (const p of newList) {
      const a = join(slotDir, p);
      if (!existsSync(a) || (await fileSha(a)) !== (await fileSha(join(ts.tree.root.new, p)))) mismatched.push(p);
    }
    for (const path of Object.keys(hashCache)) if (path.startsWith(WORK)) delete hashCache[path];
    const plan = r.plans[0];
    update = {
      version: r.version,
      slot: r.slot,
      plans: r.plans,
      failures: r.failures,
      downloadedBytes: blobs.reduce((s, e) => s + e.bytes, 0),
      requests: blobs.length,
      otherBytes: log.filter((e) => !e.path.startsWith('/blobs/')).reduce((s, e) => s + e.bytes, 0),
      planDownloadBytes: plan.downloadBytes,
      expected: { patchBytes: expectedPatchBytes, chunkBytes: expectedChunkBytes, downloadBytes: expectedPatchBytes + expectedChunkBytes, perFile },
      fullTreeBytes: ts.tree.bytes,
      packBytes: manifest.pack.size,
      tree: { files: ts.tree.files, unchanged: ts.tree.unchanged, unchangedBytes: ts.tree.unchangedBytes, changed: ts.tree.changed, added: ts.tree.added, removed: ts.tree.removed },
      slotMismatches: mismatched,
      childWallMs: r.wallMs,
      checkMs: r.checkMs,
      downloadMs: r.downloadMs,
      installMs: r.installMs,
      peakRssKiB: r.peakRssKiB,
    };
    note(`update ${ts.name}: ${kb(update.downloadedBytes)} downloaded in ${blobs.length} requests (plan said ${kb(plan.downloadBytes)}); slot ${mismatched.length ? `DIFFERS in ${mismatched.length} files` : 'matches the new tree'}`);
    await nginx.close();
    cleanups.pop();
  }
  await writeJson(HASHES, hashCache);

  // ---- report --------------------------------------------------------------------------------

  const real = cases.filter((c) => c.real);
  const sumOver = (list, fn) => list.reduce((s, x) => s + fn(x), 0);
  const bytesOf = (c) => {
    const files = c.files;
    return {
      ts: sumOver(files, (f) => publisher.get(f).ts.patchBytes),
      bsdiff: sumOver(files, (f) => publisher.get(f).bs.patchBytes),
      xdelta3: sumOver(files, (f) => other.get(f).xdelta3.bytes),
      zstdPatch: sumOver(files, (f) => other.get(f).zstdPatch.bytes),
      zstdNew: sumOver(files, (f) => other.get(f).zstdNew.bytes),
      newBytes: c.newBytes,
    };
  };
  const tables = {};

  // 1. bytes
  {
    const header = ['pair', 'files', 'new size', 'twinslot', 'bsdiff', 'xdelta3', 'zstd patch', 'compressed', 'ts/bsdiff', 'ts/xdelta3', 'ts/zstd-p', 'ts/compr', 'target', 'result'];
    const rows = [];
    const json = [];
    const line = (label, files, b, checks, target) => {
      rows.push([label, files, kb(b.newBytes), kb(b.ts), kb(b.bsdiff), kb(b.xdelta3), kb(b.zstdPatch), kb(b.zstdNew), fx(b.ts / b.bsdiff), fx(b.ts / b.xdelta3), fx(b.ts / b.zstdPatch), fx(b.ts / b.zstdNew), target, verdict(checks)]);
      json.push({ pair: label, files, ...b, tsOverBsdiff: b.ts / b.bsdiff, tsOverXdelta3: b.ts / b.xdelta3, tsOverZstdPatch: b.ts / b.zstdPatch, tsOverCompressed: b.ts / b.zstdNew, target, result: verdict(checks) });
    };
    for (const c of cases) {
      const b = bytesOf(c);
      line(c.name, c.files.length, b, [judge('bytes', c.name, 'vs bsdiff', b.ts / b.bsdiff, TARGET.bytesEach)], `<= ${TARGET.bytesEach.toFixed(2)}`);
    }
    if (real.length > 0) {
      const b = {};
      for (const k of ['ts', 'bsdiff', 'xdelta3', 'zstdPatch', 'zstdNew', 'newBytes']) b[k] = sumOver(real, (c) => bytesOf(c)[k]);
      const label = `sum of ${real.length} real`;
      line(label, sumOver(real, (c) => c.files.length), b, [judge('bytes', label, 'vs bsdiff (sum)', b.ts / b.bsdiff, TARGET.bytesSum)], `<= ${TARGET.bytesSum.toFixed(2)}`);
    }
    tables.bytes = { header, rows, json };
  }

  // 2. apply time
  const applyStats = new Map();
  for (const c of cases) {
    const r = apply.get(c);
    if (r.error) continue;
    applyStats.set(c, {
      ts: median(r.ts.map((x) => x.applyMs)),
      child: median(r.ts.map((x) => x.wallMs)),
      bs: median(r.bs.map((x) => x.wallMs)),
      cp: median(r.cp.map((x) => x.wallMs)),
      cpOssl: r.cpOpenssl.length ? median(r.cpOpenssl.map((x) => x.wallMs)) : NaN,
      tsRssKiB: Math.max(...r.ts.map((x) => x.peakRssKiB)),
      bsRssKiB: Math.max(...r.bs.map((x) => x.rssKiB)),
    });
  }
  {
    const header = ['pair', 'new size', 'twinslot apply', 'child wall', 'bspatch', 'cp+sha256sum', 'cp+openssl', 'ts/bspatch', 'child/bspatch', 'ts/cp+sha', 'ts/cp+ossl', 'target', 'result'];
    const rows = [];
    const json = [];
    for (const c of cases) {
      const s = applyStats.get(c);
      if (!s) {
        rows.push([c.name, kb(c.newBytes), 'ERROR', '', '', '', '', '', '', '', '', '', 'FAIL']);
        judge('apply', c.name, 'error', NaN, 0);
        json.push({ pair: c.name, error: apply.get(c).error });
        continue;
      }
      const checks = [judge('apply', c.name, 'vs bspatch', s.ts / s.bs, TARGET.applyEach)];
      let target = `<= ${TARGET.applyEach.toFixed(2)} bspatch`;
      if (c.files.some((f) => f.newSize > TARGET.applyVsCopyOver)) {
        checks.push(judge('apply', c.name, 'vs cp+sha256sum', s.ts / s.cp, TARGET.applyVsCopy));
        target += `, <= ${TARGET.applyVsCopy.toFixed(2)} cp+sha`;
      }
      const ossl = Number.isFinite(s.cpOssl) ? ms(s.cpOssl) : '-';
      rows.push([c.name, kb(c.newBytes), ms(s.ts), ms(s.child), ms(s.bs), ms(s.cp), ossl, fx(s.ts / s.bs), fx(s.child / s.bs), fx(s.ts / s.cp), fx(s.ts / s.cpOssl), target, verdict(checks)]);
      json.push({ pair: c.name, newBytes: c.newBytes, applyMs: s.ts, childWallMs: s.child, bspatchMs: s.bs, cpSha256Ms: s.cp, cpOpensslMs: s.cpOssl, tsOverBspatch: s.ts / s.bs, childOverBspatch: s.child / s.bs, tsOverCp: s.ts / s.cp, tsOverCpOpenssl: s.ts / s.cpOssl, target, result: verdict(checks) });
    }
    const ok = real.filter((c) => applyStats.has(c));
    if (ok.length > 0) {
      const sum = (k) => sumOver(ok, (c) => applyStats.get(c)[k]);
      const label = `sum of ${ok.length} real`;
      const checks = [judge('apply', label, 'vs bspatch (sum)', sum('ts') / sum('bs'), TARGET.applySum)];
      const ossl = Number.isFinite(sum('cpOssl')) ? ms(sum('cpOssl')) : '-';
      rows.push([label, kb(sumOver(ok, (c) => c.newBytes)), ms(sum('ts')), ms(sum('child')), ms(sum('bs')), ms(sum('cp')), ossl, fx(sum('ts') / sum('bs')), fx(sum('child') / sum('bs')), fx(sum('ts') / sum('cp')), fx(sum('ts') / sum('cpOssl')), `<= ${TARGET.applySum.toFixed(2)} bspatch`, verdict(checks)]);
      json.push({ pair: label, applyMs: sum('ts'), childWallMs: sum('child'), bspatchMs: sum('bs'), cpSha256Ms: sum('cp'), cpOpensslMs: sum('cpOssl'), tsOverBspatch: sum('ts') / sum('bs'), result: verdict(checks) });
    }
    tables.apply = { header, rows, json };
  }

  // 2b. apply memory
  {
    const header = ['pair', 'twinslot child', 'above idle', 'idle node', 'bspatch', 'ts/bspatch', 'target', 'result'];
    const rows = [];
    const json = [];
    for (const c of cases) {
      const s = applyStats.get(c);
      if (!s) continue;
      const checks = [judge('memory', c.name, 'apply peak RSS (MiB)', s.tsRssKiB / 1024, TARGET.applyRss / MiB)];
      rows.push([c.name, mib(s.tsRssKiB), mib(s.tsRssKiB - idleKiB), mib(idleKiB), mib(s.bsRssKiB), fx(s.tsRssKiB / s.bsRssKiB), `<= ${TARGET.applyRss / MiB} MiB`, verdict(checks)]);
      json.push({ pair: c.name, tsPeakRssKiB: s.tsRssKiB, aboveIdleKiB: s.tsRssKiB - idleKiB, idleKiB, bspatchRssKiB: s.bsRssKiB, result: verdict(checks) });
    }
    tables.memory = { header, rows, json };
  }

  // 3. publisher
  {
    const header = ['file', 'new size', 'twinslot', 'ts RSS', 'bsdiff CLI', 'bsdiff RSS', 'time ratio', 'RSS ratio', 'target', 'result', 'measured'];
    const rows = [];
    const json = [];
    for (const c of cases) {
      for (const f of c.files) {
        const p = publisher.get(f);
        const label = c.files.length === 1 ? c.name : `${c.name}/${f.rel}`;
        // Below 1 MB both sides are fixed costs (a few ms of bsdiff against bsdiff-node's thread-pool round trip and brotli setup): shown, not judged.
        const judged = f.newSize >= TARGET.publisherFrom;
        const checks = judged ? [judge('publisher', label, 'vs bsdiff CLI', p.ts.totalMs / p.bs.wallMs, TARGET.publisher)] : [];
        const target = judged ? `<= ${TARGET.publisher.toFixed(2)}` : 'info (< 1 MB)';
        rows.push([label, kb(f.newSize), ms(p.ts.totalMs), mib(p.ts.peakRssKiB), ms(p.bs.wallMs), mib(p.bs.rssKiB), fx(p.ts.totalMs / p.bs.wallMs), fx(p.ts.peakRssKiB / p.bs.rssKiB), target, verdict(checks), p.cached ? `cached ${p.ts.date.slice(0, 16)}` : 'this run']);
        json.push({ file: label, newBytes: f.newSize, twinslot: p.ts, bsdiff: p.bs, cached: p.cached, timeRatio: p.ts.totalMs / p.bs.wallMs, result: verdict(checks) });
      }
    }
    if (ts && release) {
      const seq = sumOver(ts.files, (f) => publisher.get(f).bs.wallMs);
      const seqRss = Math.max(...ts.files.map((f) => publisher.get(f).bs.rssKiB));
      const label = `${ts.name}: whole release`;
      const checks = [judge('publisher', label, 'release vs sequential bsdiff CLI', release.wallMs / seq, TARGET.publisher)];
      rows.push([label, kb(ts.tree.bytes), ms(release.wallMs), mib(release.rssKiB), `${ms(seq)} (${ts.files.length} files)`, mib(seqRss), fx(release.wallMs / seq), fx(release.rssKiB / seqRss), `<= ${TARGET.publisher.toFixed(2)}`, verdict(checks), release.cached ? `cached ${release.date.slice(0, 16)}` : 'this run']);
      json.push({ file: label, releaseMs: release.wallMs, releaseRssKiB: release.rssKiB, sequentialBsdiffMs: seq, timeRatio: release.wallMs / seq, cached: release.cached, result: verdict(checks) });
    }
    tables.publisher = { header, rows, json };
  }

  // 4. the typescript update
  if (update) {
    const plan = update.plans[0];
    const header = ['typescript update', 'measured', 'baseline', 'ratio', 'target', 'result'];
    const unchangedFree = plan.files.copy + plan.files.keep === update.tree.unchanged && plan.bytes.copy + plan.bytes.keep === update.tree.unchangedBytes;
    const exact = update.downloadedBytes === update.planDownloadBytes && update.planDownloadBytes === update.expected.downloadBytes;
    const intact = update.slotMismatches.length === 0 && update.failures.length === 0;
    targets.push({ section: 'update', subject: 'typescript', name: 'unchanged files cost no download; nginx bytes = plan = patches + chunks of the rest', value: unchangedFree && exact ? 1 : 0, limit: 1, pass: unchangedFree && exact });
    targets.push({ section: 'update', subject: 'typescript', name: 'installed slot equals the new tree, no patch failed', value: intact ? 1 : 0, limit: 1, pass: intact });
    const patched = update.expected.perFile.filter((x) => x.how === 'patch');
    const fetched = update.expected.perFile.filter((x) => x.how === 'fetch');
    const rows = [
      [
        'bytes downloaded (nginx, /blobs/)',
        `${kb(update.downloadedBytes)} in ${update.requests} requests`,
        `${kb(update.fullTreeBytes)} full new tree`,
        fx(update.downloadedBytes / update.fullTreeBytes),
        'unchanged cost 0; = plan',
        unchangedFree && exact ? 'pass' : 'FAIL',
      ],
      ['  of which patches', `${kb(update.expected.patchBytes)} (${patched.map((x) => `${x.path} ${kb(x.bytes)}`).join(', ') || 'none'})`, `${kb(sumOver(patched, (x) => x.size))} patched files`, fx(update.expected.patchBytes / sumOver(patched, (x) => x.size)), '', ''],
      ['  of which pack chunks', `${kb(update.expected.chunkBytes)} (${fetched.map((x) => `${x.path} ${kb(x.size)} -> ${x.chunks} chunk(s)`).join(', ') || 'none'})`, `${kb(sumOver(fetched, (x) => x.size))} fetched files`, fx(update.expected.chunkBytes / sumOver(fetched, (x) => x.size)), '', ''],
      [
        'files (plan event)',
        `${update.tree.files} in new tree: ${update.tree.changed.length} changed, ${update.tree.added.length} added; keep ${plan.files.keep}, copy ${plan.files.copy}, patch ${plan.files.patch}, fetch ${plan.files.fetch}`,
        `${update.tree.unchanged} unchanged`,
        '',
        'slot = new tree',
        intact ? 'pass' : 'FAIL',
      ],
      ['update child (check+download+install)', `${ms(update.childWallMs)} wall, download ${ms(update.downloadMs)}, ${mib(update.peakRssKiB)}`, '', '', '', ''],
    ];
    tables.update = { header, rows, json: update };
  }

  const env = {
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: osRelease(),
    // The machine may be shared: the 1-minute load average at the start and at the end.
    loadavg: { start: LOAD_AT_START, end: loadavg()[0] },
    tools: toolVersions,
    encoderHash,
  };
  const totalS = (now() - began) / 1000;
  const titles = {
    bytes: '1. bytes: twinslot patch vs bsdiff, xdelta3 -9, zstd -19 --long=31 --patch-from, and zstd -19 of the new file(s)',
    apply: `2. apply + verify (median of ${REPS}): twinslot applyPatch() vs bspatch vs cp + sha256sum`,
    memory: '2b. apply peak RSS: twinslot child (VmHWM) vs bspatch (/usr/bin/time %M); idle = node + dist/delta/apply.js',
    publisher: `3. publisher (${PUB_REPS === 1 ? '1 run' : `median of ${PUB_REPS}`}): bsdiffControls + encodePatch vs bsdiff CLI`,
    update: '4. typescript delta update through nginx',
  };
  const text = Object.entries(tables)
    .map(([k, t]) => `${titles[k]}\n\n${renderTable(t.header, t.rows)}`)
    .join('\n\n');
  const met = targets.filter((t) => t.pass).length;
  process.stdout.write(
    `\ntwinslot delta benchmark: ${SELECTED.join(', ')}; ${REPS} apply reps; ${env.node}, ${env.cpus}; load average ${env.loadavg.start.toFixed(1)} at start, ${env.loadavg.end.toFixed(1)} at end\n\n${text}\n\n` +
      `${met} of ${targets.length} targets met; ran in ${totalS.toFixed(0)} s. JSON: ${OUT.slice(REPO.length + 1)}\n`,
  );
  await mkdir(dirname(OUT), { recursive: true });
  await writeFile(
    OUT,
    JSON.stringify(
      {
        benchmark: 'delta',
        date: new Date().toISOString(),
        environment: env,
        options: { reps: REPS, publisherReps: PUB_REPS, only: SELECTED, skipPublisher: SKIP_PUBLISHER },
        seconds: totalS,
        notes: NOTES,
        targets,
        tables: Object.fromEntries(Object.entries(tables).map(([k, t]) => [k, t.json])),
        raw: {
          idleRssKiB: idle,
          cases: cases.map((c) => ({
            name: c.name,
            files: c.files.map((f) => ({ rel: f.rel, oldSize: f.oldSize, newSize: f.newSize, oldSha: f.oldSha, newSha: f.newSha, publisher: publisher.get(f), other: other.get(f) })),
            apply: apply.get(c),
          })),
          release,
          update,
        },
      },
      null,
      2,
    ) + '\n',
  );
} catch (err) {
  if (!exit.interrupted) process.stderr.write(`bench delta: ${err.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
