// Power loss at every operation of an update, not just a kill. The update runs
// through the FileSystem boundary against a simulator (test/helpers/crash-fs.ts) that
// keeps what was written apart from what was fsynced. For every mutating operation of
// a full update (check, download, stage, switch, trial start, commit or revert) we cut
// the power there, reboot the tree as a disk would leave it (unsynced data and
// directory entries lost; or directory entries kept but unsynced data lost; or a torn
// last write), and require that:
//   - the journal loads (a leftover is settled, never a corrupt state file),
//   - the slot the launcher starts, a trial's previous slot, and every slot marked
//     good hold complete files matching their release manifest,
//   - the update then converges: the new release committed (or reverted and marked bad
//     when its probe fails).
// Then each fsync call site is disabled in turn (a mutation): the suite must find a
// crash point that breaks one of these rules, which shows the fsync is load-bearing.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowContext, loadConfig } from '../../src/flow/context.js';
import { installFirstRelease } from '../../src/flow/first-install.js';
import { DOCUMENT_LIMITS, openEnvelope } from '../../src/manifest/envelope.js';
import { parseReleaseManifest } from '../../src/manifest/release.js';
import { loadJournal } from '../../src/slots/journal-store.js';
import { rootLayout } from '../../src/slots/layout.js';
import { prepareLaunch } from '../../src/slots/launch.js';
import type { Journal, SlotName } from '../../src/slots/state-file.js';
import { decideLaunch } from '../../src/slots/transitions.js';
import { Updater } from '../../src/updater.js';
import { CrashFs, type RebootMode } from '../helpers/crash-fs.js';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';

const MODES: RebootMode[] = ['lose', 'meta', 'torn'];
const RELEASE = { payloadBytes: 6000, chunkSize: 4096, probes: [] };

let feed: FeedFixture;
let root: string;
/** The root with 1.0.0 (slot a, good) and 1.1.0 (slot b, active, committed), offered 1.2.0. */
let base: CrashFs;

function options(fs: CrashFs, probeOk: boolean): ConstructorParameters<typeof Updater>[0] {
  return feed.options(root, {
    fs,
    probes: [{ kind: 'function', name: 'app works', run: () => probeOk }],
    retry: { attemptsPerMirror: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
}

/** What the app does at a start: the launcher's decision (counting a trial start), then confirmStartup. */
async function start(fs: CrashFs, probeOk: boolean): Promise<void> {
  await prepareLaunch(fs, rootLayout(root), async () => undefined);
  await new Updater(options(fs, probeOk)).confirmStartup();
}

/** One full cycle from any state: start the app, then update if something is offered, then start again. */
async function cycle(fs: CrashFs, probeOk: boolean): Promise<void> {
  await start(fs, probeOk);
  const updater = new Updater(options(fs, probeOk));
  const check = await updater.checkForUpdates();
  if (!check.available) return;
  await updater.downloadUpdate();
  await updater.installUpdate();
  await start(fs, probeOk);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Every rule a rebooted root must satisfy; returns the broken ones. */
async function violations(fs: CrashFs): Promise<string[]> {
  const layout = rootLayout(root);
  let journal: Journal | null;
  try {
    journal = await loadJournal(fs, layout);
  } catch (err) {
    return [`journal does not load: ${(err as Error).message}`];
  }
  if (!journal) return ['journal is gone'];
  const files = fs.files();
  const rel = (path: string): string => path.slice(root.length + 1);
  const problems: string[] = [];
  const checkSlot = (slot: SlotName, why: string): void => {
    const version = journal!.slots[slot].version;
    const stored = files.get(rel(layout.slotManifest(slot)));
    if (!stored) return void problems.push(`${why} slot ${slot} has no manifest`);
    let manifest;
    try {
      manifest = parseReleaseManifest(openEnvelope(stored.data, { keys: [feed.key.publicKey], threshold: 1 }, 'slot manifest', DOCUMENT_LIMITS.release).signed);
    } catch (err) {
      return void problems.push(`${why} slot ${slot} manifest is damaged: ${(err as Error).message}`);
    }
    if (manifest.version !== version) problems.push(`${why} slot ${slot}: journal says ${version}, manifest ${manifest.version}`);
    for (const f of manifest.files) {
      const got = files.get(rel(join(layout.slotDir(slot), f.path)));
      if (!got) problems.push(`${why} slot ${slot} lacks ${f.path}`);
      else if (got.data.length !== f.size || sha(got.data) !== f.sha256) problems.push(`${why} slot ${slot}: ${f.path} has the wrong bytes`);
      else if (got.mode !== f.mode) problems.push(`${why} slot ${slot}: ${f.path} has mode ${got.mode.toString(8)}`);
    }
  };
  checkSlot(decideLaunch(journal).slot, 'launched');
  if (journal.trial && journal.previous) checkSlot(journal.previous, 'revert target');
  for (const slot of ['a', 'b'] as const) if (journal.slots[slot].status === 'good') checkSlot(slot, 'good');
  return problems;
}

interface Outcome {
  /** Operations the power was cut at (each rebooted in every mode). */
  readonly points: number;
  readonly failures: string[];
}

/** Cuts the power at every operation of a cycle, in every mode; stops at the first failure when `firstOnly`. */
async function enumerate(probeOk: boolean, skipSync: string | null, firstOnly: boolean): Promise<Outcome> {
  const dry = base.reboot('all');
  dry.skipSyncFrom(skipSync);
  await cycle(dry, probeOk);
  const total = dry.ops;
  const failures: string[] = [];
  let points = 0;
  for (let op = 1; op <= total; op++) {
    for (const mode of MODES) {
      const fs = base.reboot('all');
      fs.skipSyncFrom(skipSync);
      fs.crashAt(op);
      await cycle(fs, probeOk).catch(() => undefined);
      if (!fs.crashed) continue;
      if (mode === MODES[0]) points++;
      const after = fs.reboot(mode);
      const broken = await violations(after);
      if (broken.length === 0) {
        // It must also converge from here.
        try {
          await cycle(after, probeOk);
          await cycle(after, probeOk);
          const journal = (await loadJournal(after, rootLayout(root)))!;
          const want = probeOk ? '1.2.0' : '1.1.0';
          const active = journal.slots[journal.active];
          if (active.version !== want || journal.trial) broken.push(`did not converge: active ${active.version}, trial ${journal.trial}`);
          if (!probeOk && !journal.bad.includes('1.2.0')) broken.push('the failed release is not marked bad');
          broken.push(...(await violations(after)));
        } catch (err) {
          broken.push(`did not converge: ${(err as Error).message}`);
        }
      }
      if (broken.length > 0) {
        failures.push(`op ${op}/${total} (${mode}): ${broken.join('; ')}`);
        if (firstOnly) return { points, failures };
      }
    }
  }
  return { points, failures };
}

beforeAll(async () => {
  feed = await createFeedFixture();
  root = await mkdtemp(join(tmpdir(), 'twinslot-power-'));
  base = new CrashFs(root);
  await feed.publish('1.0.0', RELEASE);
  const layout = rootLayout(root);
  const opts = options(base, true);
  await installFirstRelease(createFlowContext(opts, layout, await loadConfig(opts, layout), () => undefined));
  await feed.publish('1.1.0', RELEASE);
  await cycle(base, true);
  await feed.publish('1.2.0', RELEASE);
  const journal = (await loadJournal(base, layout))!;
  expect(journal).toMatchObject({ active: 'b', trial: false, slots: { a: { version: '1.0.0', status: 'good' }, b: { version: '1.1.0', status: 'good' } } });
}, 60_000);

afterAll(async () => {
  await feed?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const results: Record<string, number> = {};

describe('power loss at every operation of an update', () => {
  it('an update that commits: every crash point leaves a bootable root and converges', async () => {
    const { points, failures } = await enumerate(true, null, false);
    results.commit = points;
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
    expect(points).toBeGreaterThan(60);
  }, 300_000);

  it('an update whose probe fails: every crash point leaves a bootable root and converges on the old release', async () => {
    const { points, failures } = await enumerate(false, null, false);
    results.revert = points;
    expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
    expect(points).toBeGreaterThan(60);
  }, 300_000);

  it('every fsync is load-bearing: disabling any one call site breaks a crash point', async () => {
    const probe = base.reboot('all');
    await cycle(probe, true);
    await cycle(probe, false); // nothing offered: same sites
    const sites = [...probe.syncSites].sort();
    expect(sites.length).toBeGreaterThan(3);
    const survivors: string[] = [];
    for (const site of sites) {
      const { failures } = await enumerate(true, site, true);
      const alsoRevert = failures.length > 0 ? failures : (await enumerate(false, site, true)).failures;
      if (alsoRevert.length === 0) survivors.push(site);
    }
    results.mutations = sites.length - survivors.length;
    process.stdout.write(
      `power-loss: ${results.commit} + ${results.revert} crash points, each rebooted ${MODES.length} ways (${(results.commit! + results.revert!) * MODES.length} reboots); ` +
        `${results.mutations}/${sites.length} fsync mutations caught (${sites.join(', ')})\n`,
    );
    expect(survivors, `fsyncs whose removal no crash point notices: ${survivors.join(', ')}`).toEqual([]);
  }, 600_000);
});
