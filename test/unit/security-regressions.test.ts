// The index of named security regressions: each attack from the TUF threat list and
// each updater CVE or incident in ../shared/research/security.md that applies to
// twinslot, as a test that runs here, against a real feed server on loopback and real
// install roots. Deeper variants live beside the code they test (SECURITY.md maps them);
// the bspatch CVEs are in test/unit/delta/cve-regressions.test.ts.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSampleApp } from '../../examples/demo/sample-app.mjs';
import type { ProbeResult } from '../../src/health/probes.js';
import { DOCUMENT_LIMITS, openEnvelope, sealEnvelope } from '../../src/manifest/envelope.js';
import { generateKeyPair } from '../../src/manifest/keys.js';
import { publishRelease } from '../../src/publish/release.js';
import { Updater } from '../../src/updater.js';
import { type FaultServer, createFaultServer } from '../helpers/fault-server.js';
import { APP, type FeedFixture, PLATFORM, createFeedFixture } from '../helpers/fixture.js';
import { type SignedManifest, publishTampered, readSigned } from '../helpers/tampered-release.js';
import { expectCode, expectRejectCode } from './expect-code.js';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

let feed: FeedFixture;
let v2: SignedManifest;
let channelSigned: SignedManifest;
const servers: FaultServer[] = [];
let n = 0;

beforeAll(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0', { channel: 'base' });
  v2 = await readSigned((await feed.publish('2.0.0')).manifestPath);
  channelSigned = (JSON.parse(await readFile(join(feed.feed, 'channels', 'stable.json'), 'utf8')) as { signed: SignedManifest }).signed;
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await feed.close();
});

/** A fresh install of 1.0.0 updating from `channel` (default stable). */
async function root(channel = 'stable', extra: Parameters<FeedFixture['options']>[1] = {}): Promise<{ dir: string; updater: Updater }> {
  const dir = await feed.install(`root-${n++}`, 'base');
  return { dir, updater: new Updater(feed.options(dir, { channel, retry: { baseDelayMs: 5, maxDelayMs: 20, attemptsPerMirror: 2 }, ...extra })) };
}

/** Writes channel `name`: the stable channel's signed content, edited, sealed with `keys`. */
async function channel(name: string, edit: (s: SignedManifest) => void, keys = [feed.key]): Promise<Buffer> {
  const signed = structuredClone(channelSigned);
  signed.channel = name;
  edit(signed);
  const bytes = Buffer.from(sealEnvelope(signed, keys));
  await writeFile(join(feed.feed, 'channels', `${name}.json`), bytes);
  return bytes;
}

const blobRequests = (): number => feed.requests.filter((r) => r.path.includes('/blobs/')).length;

describe('TUF attacks (research/security.md §1)', () => {
  it('A1 arbitrary software: a channel document signed by an unknown key is SIGNATURE_INVALID, no blob fetched', async () => {
    await channel('a1', () => undefined, [generateKeyPair()]);
    const { updater } = await root('a1');
    const before = blobRequests();
    await expectRejectCode(updater.downloadUpdate(), 'SIGNATURE_INVALID');
    expect(blobRequests()).toBe(before);
  });

  it('A2 rollback, and go-tuf CVE-2022-29173 (floor compared against 0): an older channel document after a restart is ROLLBACK_REJECTED', async () => {
    const older = await channel('a2', (s) => {
      s.sequence = 5;
    });
    const { dir, updater } = await root('a2');
    await updater.checkForUpdates();
    await channel('a2', (s) => {
      s.sequence = 6;
    });
    await updater.checkForUpdates();
    // A new Updater (a restart) must remember sequence 6 from trust.json.
    await writeFile(join(feed.feed, 'channels', 'a2.json'), older);
    await expectRejectCode(new Updater(feed.options(dir, { channel: 'a2' })).checkForUpdates(), 'ROLLBACK_REJECTED');
  });

  it('A4 freeze: an expired channel document is MANIFEST_EXPIRED; an unparseable expiry is INVALID_MANIFEST, never "no expiry"', async () => {
    await channel('a4', (s) => {
      s.expires = '2001-01-01T00:00:00Z';
    });
    await expectRejectCode((await root('a4')).updater.checkForUpdates(), 'MANIFEST_EXPIRED');
    await channel('a4b', (s) => {
      s.expires = 'never';
    });
    await expectRejectCode((await root('a4b')).updater.checkForUpdates(), 'INVALID_MANIFEST');
  });

  it('A5 endless data: a channel document past its 1 MiB cap is TOO_LARGE', async () => {
    await channel('a5', (s) => {
      s.revoked = Array.from({ length: 50_000 }, (_, i) => `9.${i}.0-padding-padding-padding`);
    });
    expect((await readFile(join(feed.feed, 'channels', 'a5.json'))).length).toBeGreaterThan(1024 * 1024);
    await expectRejectCode((await root('a5')).updater.checkForUpdates(), 'TOO_LARGE');
  });

  it('A6 slow retrieval: a one-byte-at-a-time blob server is dropped as too slow (NETWORK)', async () => {
    const drip = await createFaultServer(feed.feed, () => 'drip');
    servers.push(drip);
    const { updater } = await root('stable', { feedUrl: drip.url, minBytesPerSecond: 50_000, slowGraceMs: 200 });
    const err = await expectRejectCode(updater.downloadUpdate(), 'NETWORK');
    expect(err.message).toMatch(/too slow/);
  });

  it('A8 mix-and-match: the 1.0.0 manifest served where the channel pins 2.0.0 is CHECKSUM_MISMATCH', async () => {
    const url = 'releases/2.0.0/mixed.json';
    await mkdir(join(feed.feed, 'releases', '2.0.0'), { recursive: true });
    await writeFile(join(feed.feed, url), await readFile(join(feed.feed, 'releases', '1.0.0', `${PLATFORM}.json`)));
    await channel('a8', (s) => {
      s.release.platforms[PLATFORM].url = url;
    });
    await expectRejectCode((await root('a8')).updater.checkForUpdates(), 'CHECKSUM_MISMATCH');
  });

  it('A9 wrong target: a validly signed release for another app is WRONG_TARGET', async () => {
    await publishTampered(feed, v2, '2.0.1', (s) => {
      s.app = 'com.example.other';
    }, { channel: 'a9' });
    await expectRejectCode((await root('a9')).updater.checkForUpdates(), 'WRONG_TARGET');
  });

  it('A11 threshold abuse: one key signing twice does not make 2 of 2 (two distinct keys do)', () => {
    const other = generateKeyPair();
    const trust = { keys: [feed.key.publicKey, other.publicKey], threshold: 2 };
    expectCode(() => openEnvelope(sealEnvelope(channelSigned, [feed.key, feed.key]), trust, 'channel', DOCUMENT_LIMITS.channel), 'SIGNATURE_INVALID');
    expect(openEnvelope(sealEnvelope(channelSigned, [feed.key, other]), trust, 'channel', DOCUMENT_LIMITS.channel).signed).toEqual(channelSigned);
  });
});

describe('updater CVEs and incidents (research/security.md §4)', () => {
  it("Doyensec 2020 electron-updater signature bypass and CVE-2024-39698: quotes, $(), backticks and %VARS% in manifest strings stay literal and never reach a shell", async () => {
    const build = join(feed.dir, 'build-shell');
    await writeSampleApp(build, { version: '3.0.0', selfTest: 'pass', payloadBytes: 1000, seed: 's' });
    const names = ["it's.txt", '$(touch pwned-name).txt', '%TEMP%x.exe', 'a;b`touch pwned-tick`.txt'];
    for (const name of names) await writeFile(join(build, name), name);
    const argv = ["'; touch pwned-quote; '", '$(touch pwned-subst)', '`touch pwned-tick`', '%APPDATA%', '&& touch pwned-and'];
    await publishRelease({
      buildDir: build, feedDir: feed.feed, app: APP, version: '3.0.0', channel: 'shell', platform: PLATFORM, entry: 'bin/app', keys: [feed.key],
      probes: [{ when: 'pre-switch', command: ['bin/app', ...argv], timeoutMs: 20_000 }],
    });
    const { dir, updater } = await root('shell');
    const probes: ProbeResult[] = [];
    updater.on('health-check', (r) => probes.push(r));
    await updater.downloadUpdate();
    await updater.installUpdate();
    // The probe saw its arguments verbatim, and no shell ran any of them.
    expect(probes[0]?.output).toContain(argv.join(' '));
    const slot = join(dir, 'slots', 'b');
    for (const name of names) expect(await readFile(join(slot, name), 'utf8')).toBe(name);
    const everywhere = [...(await readdir(slot)), ...(await readdir(dir)), ...(await readdir(feed.dir))];
    expect(everywhere.filter((f) => f.startsWith('pwned'))).toEqual([]);
  });

  it('Sparkle GHSA-wc9m-r3v6-9p5h, RAUC CVE-2020-25860, Zoom CVE-2022-28756: the staged payload replaced after verification is caught before the switch', async () => {
    const { dir, updater } = await root();
    await updater.downloadUpdate();
    const app = join(dir, 'slots', 'b', 'bin', 'app');
    const bytes = await readFile(app);
    await writeFile(app, Buffer.from(bytes.toString('latin1').replace('sample app', 'evil!! app'), 'latin1'));
    await expectRejectCode(updater.installUpdate(), 'CHECKSUM_MISMATCH');
    expect(await updater.status()).toMatchObject({ active: 'a', trial: false });
  });

  it('Sparkle 2.9.5 (PR #2891): a symlink already in the inactive slot where a new file goes is replaced, never written through', async () => {
    const { dir, updater } = await root();
    const outside = join(feed.dir, `outside-${n}`);
    await writeFile(outside, 'untouched');
    await mkdir(join(dir, 'slots', 'b', 'bin'), { recursive: true });
    await symlink(outside, join(dir, 'slots', 'b', 'bin', 'app'));
    await updater.downloadUpdate();
    await updater.installUpdate();
    expect(await readFile(outside, 'utf8')).toBe('untouched');
  });

  it('Sparkle 2.9.6 GHSA-4v99-qgq9-6pxp: cleaning staging never follows a symlink out of the root', async () => {
    const { dir, updater } = await root();
    const outside = join(feed.dir, `outside-dir-${n}`);
    await mkdir(outside);
    await writeFile(join(outside, 'keep-me'), 'mine');
    await mkdir(join(dir, 'staging'), { recursive: true });
    await symlink(outside, join(dir, 'staging', 'files'));
    // Refused and removed (the link unlinked, not followed); the next attempt starts clean.
    await expectRejectCode(updater.downloadUpdate(), 'UNSAFE_PATH');
    await updater.downloadUpdate();
    expect(await readFile(join(outside, 'keep-me'), 'utf8')).toBe('mine');
  });

  it('Squirrel.Mac PR #85: a state file pointing outside the slots is STATE_CORRUPT, and the launcher refuses it', async () => {
    const { dir, updater } = await root();
    const state = join(dir, 'state');
    const text = await readFile(state, 'utf8');
    await writeFile(state, text.replace(/^entry-a .*$/m, 'entry-a ../../../../bin/sh'));
    await expectRejectCode(updater.status(), 'STATE_CORRUPT');
    const launched = await exec(process.execPath, [CLI, 'launch', '--root', dir]).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(launched).not.toBe(0);
  });

  it('python-tuf CVE-2021-41131 (role names as file names): a channel name with path characters is INVALID_OPTIONS', () => {
    for (const name of ['../stable', 'a/b', '..', 'stable\\x']) {
      expectCode(() => new Updater(feed.options('/r', { channel: name })), 'INVALID_OPTIONS');
    }
  });

  it('TrueConf CVE-2026-3502: a mirror serving its own re-signed channel and release cannot install anything', async () => {
    const rogue = generateKeyPair();
    const manifest = Buffer.from(sealEnvelope({ ...v2, version: '6.6.6' }, [rogue]));
    const url = 'releases/6.6.6/rogue.json';
    await mkdir(join(feed.feed, 'releases', '6.6.6'), { recursive: true });
    await writeFile(join(feed.feed, url), manifest);
    await channel('rogue', (s) => {
      s.sequence = 99;
      s.release = { ...s.release, version: '6.6.6', platforms: { [PLATFORM]: { url, sha256: createHash('sha256').update(manifest).digest('hex'), size: manifest.length } } };
    }, [rogue]);
    const { updater } = await root('rogue');
    const before = blobRequests();
    await expectRejectCode(updater.downloadUpdate(), 'SIGNATURE_INVALID');
    expect(blobRequests()).toBe(before);
  });

  it('ZeroTierOne #72 and Zip Slip: a local path from the server that leaves the slot is UNSAFE_PATH', async () => {
    await publishTampered(feed, v2, '2.0.2', (s) => {
      s.files[0].path = '../../escape';
    }, { channel: 'zip' });
    await expectRejectCode((await root('zip')).updater.checkForUpdates(), 'UNSAFE_PATH');
  });

  it('undici CVE-2026-22036 (unbounded Content-Encoding chain): an encoded blob is refused', async () => {
    const gzip = await createFaultServer(feed.feed, () => 'gzip');
    servers.push(gzip);
    const err = await expectRejectCode((await root('stable', { feedUrl: gzip.url })).updater.downloadUpdate(), 'NETWORK');
    expect(err.message).toMatch(/Content-Encoding/);
  });
});
