// SIGKILL at every step of an update, then start again. A child process
// (cycle-child.mjs, on this suite's own build of the package) runs the whole life of
// an update from whatever state the root is in: the launcher's decision
// (prepareLaunch, what `twinslot launch` runs), the app's entry, confirmStartup(),
// check, download, stage, install (switch on trial), and the next start through the
// launcher with the release's post-start probe, commit or revert. The child announces
// every phase, lifecycle event and mutating file operation and waits for an answer,
// so the test kills it exactly at a boundary it picked (chosen among the phases the
// run will go through from the root's state), or a random few ms after entering a
// phase (inside hashing, probes, the app's run, HTTP). The feed is the fixture's
// loopback HTTP server; releases are 256 KiB; four roots are worked at a time.
//
// After EVERY kill, before the next start, the root is checked directly:
//   - the state file parses with the real parser (a leftover state.tmp only counts
//     when the launcher would roll it forward), and trust.json parses;
//   - the slot the launcher would start (decideLaunch), the revert target of a trial,
//     and every slot marked staged/trial/good hold exactly the files of their
//     release's published manifest (size, SHA-256, mode, no extra files), with the
//     entry an executable file, and the signed manifest stored beside them;
//   - a slot that was active is never modified afterwards (a hash + inode snapshot
//     taken when it was first seen active).
// Roots start in one of two shapes: fresh (1.0.0 in slot a, slot b empty) or on their
// second update (1.0.0 active in slot b, its predecessor 0.9.0 still good in slot a,
// which the update then overwrites: it must be marked invalid first, and files it
// already holds are kept).
// A chain of kills on one root ends with a run that is not killed, which must
// converge: the new release committed (or, for the variant whose post-start probe
// fails, reverted, marked bad, not offered again, the old release running). When a
// chain killed three counted trial starts, the launcher's crash-loop revert is the
// right end instead, and it is checked as such.
//
// Default: >= 300 kills. TWINSLOT_CHAOS_KILLS=<n> runs more (or fewer);
// TWINSLOT_CHAOS_SEED=<n> replays the plans (the kill timing is real, so only roughly);
// TWINSLOT_CHAOS_VERBOSE=1 lists every kill point, journal state and lock wait seen;
// TWINSLOT_CHAOS_PARALLEL=<n> works n roots at a time (default 4);
// TWINSLOT_CHAOS_DIST=<dir> runs the children on that build instead of compiling one
// (to check that the suite catches a deliberately broken build).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, lstat, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENT_LIMITS, openEnvelope } from '../../src/manifest/envelope.js';
import { type ReleaseManifest, parseReleaseManifest } from '../../src/manifest/release.js';
import { parseTrustState } from '../../src/manifest/trust-state.js';
import { type Journal, type SlotName, parseJournal } from '../../src/slots/state-file.js';
import { decideLaunch } from '../../src/slots/transitions.js';
import { Updater } from '../../src/updater.js';
import { type FeedFixture, PLATFORM, createFeedFixture } from '../helpers/fixture.js';
import { type PrivateDist, buildPrivateDist } from '../helpers/private-dist.js';

const CHILD = join(import.meta.dirname, 'cycle-child.mjs');
const KILLS = Number(process.env.TWINSLOT_CHAOS_KILLS ?? 300);
const SEED = Number(process.env.TWINSLOT_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PARALLEL = Number(process.env.TWINSLOT_CHAOS_PARALLEL ?? 4);
const MAX_KILLS_PER_CHAIN = 10;
const PAYLOAD = 256 * 1024;

type Variant = 'ok' | 'fail';
/** The release each variant's channel offers over 1.0.0; 3.0.0's self-test (its post-start probe) fails. */
const TARGET: Record<Variant, string> = { ok: '2.0.0', fail: '3.0.0' };
type Shape = 'fresh' | 'second';
/** Where 1.0.0 runs in each shape; the update goes to the other slot. */
const ACTIVE: Record<Shape, SlotName> = { fresh: 'a', second: 'b' };
const other = (slot: SlotName): SlotName => (slot === 'a' ? 'b' : 'a');
/** Phases of the child, in the order a fresh root goes through them. */
const PHASES = ['boot', 'launch', 'app', 'confirm', 'check', 'download', 'stage', 'install', 'launch:trial', 'app:trial', 'confirm:trial'] as const;
type Phase = (typeof PHASES)[number];

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

let feed: FeedFixture;
let dist: PrivateDist;
const manifests = new Map<string, { bytes: Buffer; manifest: ReleaseManifest }>();
const templates = new Map<string, string>();

beforeAll(async () => {
  dist = process.env.TWINSLOT_CHAOS_DIST ? { dir: process.env.TWINSLOT_CHAOS_DIST, remove: async () => undefined } : await buildPrivateDist('kill-cycle');
  feed = await createFeedFixture();
  // The asset (assets/blob.bin) changes in every release; assets/readme.txt never does.
  await feed.publish('0.9.0', { channel: 'base', payloadBytes: PAYLOAD });
  const second = await feed.install('template-second', 'base');
  await feed.publish('1.0.0', { channel: 'base', payloadBytes: PAYLOAD });
  const fresh = await feed.install('template-fresh', 'base');
  const updater = new Updater(feed.options(second, { channel: 'base' }));
  await updater.downloadUpdate();
  await updater.installUpdate();
  expect(await updater.confirmStartup()).toMatchObject({ outcome: 'committed', version: '1.0.0' });
  await feed.publish('2.0.0', { channel: 'ok', payloadBytes: PAYLOAD });
  await feed.publish('3.0.0', { channel: 'fail', payloadBytes: PAYLOAD, selfTest: 'fail' });
  for (const version of ['0.9.0', '1.0.0', '2.0.0', '3.0.0']) {
    const bytes = await readFile(join(feed.feed, 'releases', version, `${PLATFORM}.json`));
    const opened = openEnvelope(bytes, { keys: [feed.key.publicKey], threshold: 1 }, version, DOCUMENT_LIMITS.release);
    manifests.set(version, { bytes, manifest: parseReleaseManifest(opened.signed) });
  }
  for (const [shape, base] of [['fresh', fresh], ['second', second]] as const) {
    for (const variant of ['ok', 'fail'] as const) {
      const root = join(feed.dir, `template-${shape}-${variant}`);
      await cp(base, root, { recursive: true });
      // The client config the child's Updater reads: the channel offering this variant's release.
      const config = { version: 1, feedUrl: feed.url, appId: 'com.example.test', trustedKeys: [feed.publicKey], channel: variant, platform: PLATFORM, maxAttempts: 3 };
      await writeFile(join(root, 'twinslot.json'), JSON.stringify(config));
      templates.set(`${shape}-${variant}`, root);
    }
  }
  expect(parseJournal(await readFile(join(templates.get('second-ok')!, 'state'), 'utf8'))).toMatchObject({
    active: 'b',
    trial: false,
    slots: { a: { version: '0.9.0', status: 'good' }, b: { version: '1.0.0', status: 'good' } },
  });
}, 120_000);

afterAll(async () => {
  await feed?.close();
  await dist?.remove();
});

// ------------------------------------------------------------------ the root checks

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** path -> "sha256 mode ino" of every entry under `dir` (dirs and symlinks by kind). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const st = await lstat(join(dir, path));
      if (e.isDirectory()) {
        out.set(path, `dir ${st.ino}`);
        await visit(path);
      } else if (e.isFile()) out.set(path, `${sha256(await readFile(join(dir, path)))} ${(st.mode & 0o7777).toString(8)} ${st.ino}`);
      else out.set(path, `other ${st.ino}`);
    }
  };
  await visit('');
  return out;
}

/** Problems with `slot` holding `version` exactly as its published manifest says. */
async function slotProblems(root: string, slot: SlotName, version: string | null, why: string): Promise<string[]> {
  const where = `${why} slot ${slot} (${version})`;
  const published = version ? manifests.get(version) : undefined;
  if (!published) return [`${where}: no published release ${version}`];
  const { manifest, bytes } = published;
  const problems: string[] = [];
  const stored = await readFile(join(root, 'slots', `${slot}.json`)).catch(() => null);
  if (!stored || !stored.equals(bytes)) problems.push(`${where}: the stored manifest slots/${slot}.json is ${stored ? 'not the published one' : 'missing'}`);
  const dir = join(root, 'slots', slot);
  let tree: Map<string, string>;
  try {
    tree = await snapshot(dir);
  } catch (err) {
    return [...problems, `${where}: cannot list: ${(err as Error).message}`];
  }
  const files = new Map(manifest.files.map((f) => [f.path, f]));
  for (const [path, what] of tree) {
    if (what.startsWith('dir ')) continue;
    if (what.startsWith('other ')) problems.push(`${where}: ${path} is not a regular file`);
    else if (!files.has(path)) problems.push(`${where}: holds ${path}, which ${version} does not list`);
  }
  for (const f of manifest.files) {
    const what = tree.get(f.path);
    const [hash, mode] = what?.split(' ') ?? [];
    if (!what || what.startsWith('dir ') || what.startsWith('other ')) problems.push(`${where}: ${f.path} is missing`);
    else if (hash !== f.sha256) problems.push(`${where}: ${f.path} has the wrong bytes`);
    else if (mode !== f.mode.toString(8)) problems.push(`${where}: ${f.path} has mode ${mode}, expected ${f.mode.toString(8)}`);
    else if ((await lstat(join(dir, f.path))).size !== f.size) problems.push(`${where}: ${f.path} has the wrong size`);
  }
  const entry = await lstat(join(dir, manifest.entry)).catch(() => null);
  if (!entry?.isFile() || (entry.mode & 0o100) === 0) problems.push(`${where}: the entry ${manifest.entry} is not an executable file`);
  return problems;
}

/** The journal the launcher would act on: `state`, or a complete `state.tmp` it would roll forward. */
async function launcherJournal(root: string): Promise<{ journal: Journal | null; problems: string[] }> {
  const state = await readFile(join(root, 'state'), 'utf8').catch(() => null);
  const tmp = await readFile(join(root, 'state.tmp'), 'utf8').catch(() => null);
  if (state !== null) {
    try {
      return { journal: parseJournal(state), problems: [] };
    } catch (err) {
      return { journal: null, problems: [`the state file does not parse: ${(err as Error).message}\n${state}`] };
    }
  }
  if (tmp !== null) {
    try {
      return { journal: parseJournal(tmp), problems: [] };
    } catch {
      return { journal: null, problems: ['the state file is gone and state.tmp is incomplete: nothing would start'] };
    }
  }
  return { journal: null, problems: ['the state file is gone'] };
}

interface ChainState {
  /** Slots seen active, with their tree at that time: never to change again in this chain. */
  readonly frozen: Map<SlotName, { version: string | null; tree: Map<string, string> }>;
}

/** Every rule a root must satisfy after a kill. */
async function rootProblems(root: string, chain: ChainState): Promise<{ journal: Journal | null; problems: string[] }> {
  const { journal, problems } = await launcherJournal(root);
  const trust = await readFile(join(root, 'trust.json'), 'utf8').catch(() => null);
  try {
    if (trust === null) throw new Error('missing');
    parseTrustState(trust);
  } catch (err) {
    problems.push(`trust.json does not parse: ${(err as Error).message}`);
  }
  if (!journal) return { journal, problems };
  const decision = decideLaunch(journal);
  const launched = decision.journal.slots[decision.slot];
  problems.push(...(await slotProblems(root, decision.slot, launched.version, 'the launched')));
  if (journal.trial && journal.previous) problems.push(...(await slotProblems(root, journal.previous, journal.slots[journal.previous].version, 'the revert target')));
  for (const slot of ['a', 'b'] as const) {
    const s = journal.slots[slot];
    if (s.status === 'good' || s.status === 'trial' || s.status === 'staged') problems.push(...(await slotProblems(root, slot, s.version, `the ${s.status}`)));
  }
  for (const [slot, frozen] of chain.frozen) {
    if (journal.slots[slot].status === 'invalid') {
      chain.frozen.delete(slot); // being restaged, on purpose (not in these chains: each updates once)
      continue;
    }
    const now = await snapshot(join(root, 'slots', slot)).catch(() => new Map<string, string>());
    const changed = [...new Set([...now.keys(), ...frozen.tree.keys()])].filter((p) => now.get(p) !== frozen.tree.get(p));
    if (changed.length > 0) problems.push(`slot ${slot} (${frozen.version}) was active and has changed since: ${changed.join(', ')}`);
  }
  const active = journal.active;
  if (!chain.frozen.has(active)) chain.frozen.set(active, { version: journal.slots[active].version, tree: await snapshot(join(root, 'slots', active)) });
  return { journal, problems };
}

// ------------------------------------------------------------------ one child run

interface KillPlan {
  readonly phase: Phase;
  /** `boundary`: at the k-th announcement of the phase (the child is blocked there). `delay`: `delayMs` after entering it. */
  readonly mode: 'boundary' | 'delay';
  readonly k: number;
  readonly delayMs: number;
}

interface RunResult {
  readonly killed: boolean;
  /** Killed by the watchdog after 90 s: a hang, which fails the test. */
  readonly hung: boolean;
  /** Times the run found the root locked (by the lock of a process killed before it). */
  readonly lockWaits: number;
  /** Phase and announcement at the kill. */
  readonly at: { phase: string; what: string } | null;
  readonly code: number | null;
  readonly done: string | null;
  readonly decisions: string[];
  readonly tail: string[];
  readonly stderr: string;
}

/**
 * What earlier runs taught about each phase: announcements and ms of recent full
 * passes, by phase and by phase + the state the run started from (from the same state
 * a run takes the same path, so its passes are the best scale for a kill point).
 */
const learned = new Map<string, { count: number; ms: number }[]>();

function learn(keys: readonly string[], count: number, ms: number): void {
  for (const key of keys) {
    const seen = learned.get(key) ?? [];
    seen.push({ count, ms });
    if (seen.length > 40) seen.shift();
    learned.set(key, seen);
  }
}

/** The first lock wait of each run that had one, with the kill before it (for the verbose report). */
const lockNotes: string[] = [];

function runChild(root: string, plan: KillPlan | null, start: string, lastKill: string): Promise<RunResult> {
  // The app's own run (a Node start) only where this run may be killed in it, and in the run that must converge.
  const runApp = plan === null || plan.phase === 'app' || plan.phase === 'app:trial';
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [CHILD, root], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, CHAOS_SYNC: '1', CHAOS_DIST: dist.dir, CHAOS_APP: runApp ? '1' : '0' } });
    child.stdin!.on('error', () => undefined); // answers racing the kill
    let buffer = '';
    let stderr = '';
    let phase = 'boot';
    let phaseStart = performance.now();
    let inPhase = 0;
    let entered = false;
    let killed = false;
    let at: RunResult['at'] = null;
    let done: string | null = null;
    let lockWaits = 0;
    const decisions: string[] = [];
    const tail: string[] = [];
    const timers: NodeJS.Timeout[] = [];
    const kill = (what: string): void => {
      if (killed) return;
      killed = true;
      at = { phase, what };
      child.kill('SIGKILL');
    };
    if (plan?.phase === 'boot' && plan.mode === 'delay') timers.push(setTimeout(() => kill(`+${plan.delayMs.toFixed(1)} ms after spawn`), plan.delayMs));
    let hung = false;
    timers.push(
      setTimeout(() => {
        hung = true;
        kill('watchdog');
      }, 90_000),
    );
    const onLine = (line: string): void => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      if (line.startsWith('done ')) done = line;
      if (!line.startsWith('M ')) return;
      const space = line.indexOf(' ', 2);
      const p = line.slice(2, space);
      const what = line.slice(space + 1);
      if (what.startsWith('decision ')) decisions.push(what);
      if (what.startsWith('locked, retrying')) {
        if (lockWaits === 0) lockNotes.push(`${what} after: ${lastKill}`);
        lockWaits++;
      }
      if (p !== phase) {
        learn([phase, `${start}|${phase}`], inPhase, performance.now() - phaseStart);
        phase = p;
        phaseStart = performance.now();
        inPhase = 0;
      }
      if (!killed && plan) {
        if (p === plan.phase) {
          if (!entered && plan.mode === 'delay') timers.push(setTimeout(() => kill(`+${plan.delayMs.toFixed(1)} ms in phase`), plan.delayMs));
          entered = true;
          if (plan.mode === 'boundary' && inPhase === plan.k) return kill(what);
        } else if (entered) return kill(what); // the phase ended first: kill at its end
      }
      inPhase++;
      if (!killed) child.stdin!.write('g');
    };
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString('utf8');
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('exit', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ killed: killed && !hung && signal === 'SIGKILL', hung, lockWaits, at, code, done, decisions, tail, stderr });
    });
  });
}

// ------------------------------------------------------------------ chains

interface Stats {
  kills: number;
  lockWaits: number;
  runs: number;
  chains: number;
  byPhase: Map<string, number>;
  byPoint: Map<string, number>;
  states: Map<string, number>;
  outcomes: Map<string, number>;
  modes: Map<string, number>;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** The phases the next run goes through, from the journal it starts with. */
function reachable(j: Journal, variant: Variant, shape: Shape): Phase[] {
  const inactive = j.slots[other(ACTIVE[shape])];
  if (j.trial) {
    // After a revert (a failing probe, or the launcher's crash-loop revert) the old release starts again.
    const reverts = variant === 'fail' || j.attempts >= j.maxAttempts;
    return ['boot', 'launch:trial', 'app:trial', 'confirm:trial', 'check', ...(reverts ? (['launch', 'app', 'confirm'] as const) : [])];
  }
  if (inactive.status === 'staged' && inactive.version === TARGET[variant]) return PHASES.filter((p) => p !== 'download' && p !== 'stage');
  return [...PHASES];
}

/** True once the update is over: committed, or reverted and marked bad. */
function converged(j: Journal, variant: Variant, shape: Shape): boolean {
  const updated = j.slots[other(ACTIVE[shape])];
  return !j.trial && updated.version === TARGET[variant] && (updated.status === 'good' || updated.status === 'bad');
}

function choosePlan(random: () => number, phases: readonly Phase[], start: string): KillPlan {
  // Every phase the run will go through about equally likely; boot (Node starting, nothing
  // written yet) less, download and stage (most file operations) more.
  const weight = (p: Phase): number => (p === 'boot' ? 1 : p === 'download' || p === 'stage' ? 6 : 3);
  const weighted = phases.flatMap((p) => Array.from({ length: weight(p) }, () => p));
  const phase = weighted[Math.floor(random() * weighted.length)]!;
  // Scaled by one earlier full pass of the phase, so the kill mostly lands inside it.
  const passes = learned.get(`${start}|${phase}`) ?? learned.get(phase) ?? [];
  const seen = passes.length > 0 ? passes[Math.floor(random() * passes.length)]! : { count: 8, ms: 30 };
  const mode = phase === 'boot' || random() < 0.45 ? 'delay' : 'boundary';
  const bootMs = 250;
  return {
    phase,
    mode,
    k: Math.floor(random() * Math.max(1, seen.count)),
    delayMs: random() * (phase === 'boot' ? bootMs : Math.max(2, seen.ms)),
  };
}

/** Where the journal stands, in a few words (for the report). */
function describeState(j: Journal | null): string {
  if (!j) return 'no journal';
  const s = (x: SlotName): string => `${x}=${j.slots[x].version ?? '-'}/${j.slots[x].status}`;
  return `active ${j.active}${j.trial ? ` trial#${j.attempts}` : ''} ${s('a')} ${s('b')}`;
}

async function runChain(id: number, variant: Variant, shape: Shape, random: () => number, stats: Stats): Promise<void> {
  const root = join(feed.dir, `chain-${id}`);
  await cp(templates.get(`${shape}-${variant}`)!, root, { recursive: true });
  const from = ACTIVE[shape];
  const to = other(from);
  const chain: ChainState = { frozen: new Map() };
  const first = await rootProblems(root, chain);
  expect(first.problems).toEqual([]);
  const history: string[] = [];
  let crashLoopRevert = false;
  let last: Journal | null = first.journal;
  for (let kills = 0; ; ) {
    // A converged root (or one killed often enough) gets a run that is not killed: it must converge.
    const start = `${shape}-${variant}: ${describeState(last)}`;
    const plan = kills < MAX_KILLS_PER_CHAIN && last && !converged(last, variant, shape) ? choosePlan(random, reachable(last, variant, shape), start) : null;
    const run = await runChild(root, plan, start, history.at(-2) ?? 'none');
    stats.runs++;
    // A trial that used up its starts is reverted by the next launch (a crash loop), and only such a trial.
    const usedUp = last !== null && last.trial && last.attempts >= last.maxAttempts;
    if (usedUp) crashLoopRevert = true;
    for (const d of run.decisions) {
      if (d.startsWith('decision revert-then-run')) expect(usedUp, `${d} after ${describeState(last)}\n${history.join('\n')}`).toBe(true);
    }
    if (run.lockWaits > 0) stats.lockWaits++;
    const context = (): string => `seed ${SEED}, chain ${id} (${variant}, ${shape} root), root ${root}\n${history.join('\n')}\nlast run:\n${run.tail.join('\n')}\n${run.stderr}`;
    expect(run.hung, `a run hung\n${context()}`).toBe(false);
    if (!run.killed) {
      expect(run.code, `the run after the last kill failed\n${context()}`).toBe(0);
      expect(run.done, context()).not.toBeNull();
      const { journal, problems } = await rootProblems(root, chain);
      expect(problems, context()).toEqual([]);
      const target = TARGET[variant];
      const reverted = variant === 'fail' || crashLoopRevert;
      if (reverted) {
        expect(run.done, context()).toBe(`done 1.0.0 ${from} known-bad`);
        expect(journal, context()).toMatchObject({ active: from, previous: to, trial: false, attempts: 0, slots: { [from]: { version: '1.0.0', status: 'good' }, [to]: { version: target, status: 'bad' } } });
        expect(journal!.bad, context()).toEqual([target]);
      } else {
        expect(run.done, context()).toBe(`done ${target} ${to} up-to-date`);
        expect(journal, context()).toMatchObject({ active: to, previous: from, trial: false, attempts: 0, slots: { [from]: { version: '1.0.0', status: 'good' }, [to]: { version: target, status: 'good' } } });
        expect(journal!.bad, context()).toEqual([]);
      }
      // Converged: the launcher starts it without counting, the channel offers nothing.
      expect(decideLaunch(journal!)).toMatchObject({ action: 'run', counted: false, slot: journal!.active });
      const again = await new Updater(feed.options(root, { channel: variant })).checkForUpdates();
      expect(again).toMatchObject({ available: false, reason: reverted ? 'known-bad' : 'up-to-date' });
      bump(stats.outcomes, `${variant}, ${shape} root: ${reverted ? (variant === 'fail' && !crashLoopRevert ? 'reverted by the probe' : 'reverted by the launcher (crash loop)') : 'committed'}`);
      stats.chains++;
      return;
    }
    kills++;
    stats.kills++;
    const at = run.at!;
    bump(stats.byPhase, at.phase);
    bump(stats.byPoint, `${at.phase}: ${at.what.replace(/\+[\d.]+ ms/, '+delay').replace(/(chunks|files)\/\d+/g, '$1/N').replace(/\/sha256\/\w+/, '')}`);
    bump(stats.modes, plan!.mode);
    history.push(`kill ${kills}: plan ${plan!.phase} ${plan!.mode} k=${plan!.k} +${plan!.delayMs.toFixed(1)}ms -> at ${at.phase} "${at.what}"`);
    const { journal, problems } = await rootProblems(root, chain);
    expect(problems, `after kill ${kills} at ${at.phase} "${at.what}"\n${context()}`).toEqual([]);
    history.push(`  state: ${describeState(journal)}`);
    bump(stats.states, describeState(journal));
    last = journal;
  }
}

describe('SIGKILL anywhere in an update, then start again', () => {
  it(`after each of >= ${KILLS} kills the root starts a complete release, and the next runs converge`, { timeout: 120_000 + KILLS * 1_500 }, async () => {
    const stats: Stats = { kills: 0, lockWaits: 0, runs: 0, chains: 0, byPhase: new Map(), byPoint: new Map(), states: new Map(), outcomes: new Map(), modes: new Map() };
    const started = performance.now();
    const cpu = process.cpuUsage();
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (stats.kills < KILLS && !failed) {
        const id = next++;
        try {
          // Each chain has its own generator, so a seed replays the same plans whatever the interleaving.
          await runChain(id, id % 2 === 0 ? 'ok' : 'fail', id % 4 < 2 ? 'fresh' : 'second', rng(SEED + id * 7919), stats);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const used = process.cpuUsage(cpu);
    const parentCpu = ((used.user + used.system) / 1e6).toFixed(1);
    const table = (m: Map<string, number>): string =>
      [...m]
        .sort((x, y) => y[1] - x[1])
        .map(([k, v]) => `  ${String(v).padStart(5)}  ${k}`)
        .join('\n');
    console.log(
      [
        `kill-cycle: seed ${SEED}: ${stats.kills} kills in ${stats.chains} chains (${stats.runs} child runs) in ${seconds} s (this process: ${parentCpu} s of CPU)`,
        `kills by phase:\n${table(new Map(PHASES.map((p) => [p, stats.byPhase.get(p) ?? 0])))}`,
        `kill modes:\n${table(stats.modes)}`,
        `outcomes:\n${table(stats.outcomes)}`,
        `distinct kill points: ${stats.byPoint.size}; journal states seen after a kill: ${stats.states.size}; runs that waited for a lock: ${stats.lockWaits}`,
        process.env.TWINSLOT_CHAOS_VERBOSE ? `kill points:\n${table(stats.byPoint)}\nstates:\n${table(stats.states)}\nlock waits:\n${lockNotes.join('\n')}` : '',
      ].join('\n'),
    );
    expect(stats.kills).toBeGreaterThanOrEqual(KILLS);
    // Every phase was killed in, both endings were reached (a short run, TWINSLOT_CHAOS_KILLS < 200, may miss some).
    if (KILLS < 200) return;
    for (const phase of PHASES) expect(stats.byPhase.get(phase) ?? 0, `no kill in phase ${phase}`).toBeGreaterThan(0);
    for (const shape of ['fresh', 'second']) {
      expect([...stats.outcomes.keys()].some((k) => k === `ok, ${shape} root: committed`)).toBe(true);
      expect([...stats.outcomes.keys()].some((k) => k.startsWith(`fail, ${shape} root: `))).toBe(true);
    }
  });
});
