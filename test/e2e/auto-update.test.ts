// Conditional checks and the background scheduler against a real HTTP server.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/io/clock.js';
import { Updater } from '../../src/updater.js';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';

let feed: FeedFixture;

beforeEach(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0');
});

afterEach(async () => {
  await feed.close();
});

const channelRequests = () => feed.requests.filter((r) => r.path.endsWith('/channels/stable.json'));

/** A clock whose sleeps return at once (yielding to the event loop) and move time forward. */
function fastClock(start = Date.now()): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      slept.push(ms);
      now += ms;
      await new Promise((r) => setTimeout(r, 5));
      if (signal?.aborted) throw signal.reason;
    },
  };
}

describe('conditional checks', () => {
  it('an unchanged channel answers 304 and the check gives the same answer; a new release is seen at once', async () => {
    const root = await feed.install();
    feed.requests.length = 0;
    const updater = new Updater(feed.options(root));
    expect(await updater.checkForUpdates()).toMatchObject({ available: false, reason: 'up-to-date' });
    expect(await updater.checkForUpdates()).toMatchObject({ available: false, reason: 'up-to-date' });
    expect(channelRequests().map((r) => r.status)).toEqual([200, 304]);
    await feed.publish('2.0.0');
    expect(await updater.checkForUpdates()).toMatchObject({ available: true, release: { version: '2.0.0' } });
    expect(await updater.checkForUpdates()).toMatchObject({ available: true, release: { version: '2.0.0' } });
    expect(channelRequests().map((r) => r.status)).toEqual([200, 304, 200, 304]);
  });

  it('a 304 does not extend a document past its expiry (freeze protection)', async () => {
    const root = await feed.install();
    feed.requests.length = 0;
    const clock = fastClock();
    const updater = new Updater(feed.options(root, { clock }));
    await updater.checkForUpdates();
    clock.sleep(31 * 24 * 3_600_000).catch(() => undefined); // the fixture's documents expire after 30 days
    await new Promise((r) => setTimeout(r, 10));
    await expect(updater.checkForUpdates()).rejects.toMatchObject({ code: 'MANIFEST_EXPIRED' });
    expect(channelRequests().map((r) => r.status)).toEqual([200, 304]);
  });
});

describe('startAutoUpdate', () => {
  it('checks on jittered intervals, downloads what it finds, and stops on stopAutoUpdate', async () => {
    const root = await feed.install();
    const clock = fastClock();
    const updater = new Updater(feed.options(root, { clock }));
    const downloaded: string[] = [];
    updater.on('update-downloaded', (info) => downloaded.push(info.version));
    let checks = 0;
    updater.on('checking-for-update', () => checks++);
    updater.startAutoUpdate({ intervalMs: 60_000, jitter: 0.5 });
    while (checks < 3) await new Promise((r) => setTimeout(r, 10));
    await feed.publish('2.0.0');
    while (downloaded.length === 0) await new Promise((r) => setTimeout(r, 10));
    await updater.stopAutoUpdate();
    const after = checks;
    await new Promise((r) => setTimeout(r, 50));
    expect(checks).toBe(after);
    expect(downloaded).toEqual(['2.0.0']);
    expect((await updater.status()).slots.b).toMatchObject({ version: '2.0.0', status: 'staged' });
    // The first delay lies in [0, interval x (1 + jitter)]; later ones stay within interval x [0.5, 1.5].
    expect(clock.slept[0]).toBeLessThanOrEqual(90_000);
    // (Other sleeps in the list are the transfer engine's short waits, under a second.)
    for (const ms of clock.slept.slice(1).filter((x) => x >= 1000)) {
      expect(ms).toBeGreaterThanOrEqual(30_000);
      expect(ms).toBeLessThanOrEqual(90_000);
    }
    // Unchanged checks cost a 304.
    expect(channelRequests().filter((r) => r.status === 304).length).toBeGreaterThanOrEqual(2);
  });

  it('backs off after errors and refuses bad options', async () => {
    const root = await feed.install();
    const clock = fastClock();
    const updater = new Updater(feed.options(root, { clock, feedUrl: 'http://127.0.0.1:9/' }));
    const errors: string[] = [];
    updater.on('error', (e) => errors.push(e.code));
    updater.startAutoUpdate({ intervalMs: 60_000, jitter: 0, maxBackoffMs: 600_000 });
    while (errors.length < 6) await new Promise((r) => setTimeout(r, 10));
    await updater.stopAutoUpdate();
    // Stopping may abort a check in flight (ABORTED); every other error is the dead origin.
    const real = errors.filter((c) => c !== 'ABORTED');
    expect(real.length).toBeGreaterThanOrEqual(5);
    expect(new Set(real)).toEqual(new Set(['NETWORK']));
    // Full jitter under a growing cap: never above 60 s x 2^(n-1), capped at 600 s.
    clock.slept.slice(1, 6).forEach((ms, i) => expect(ms).toBeLessThanOrEqual(Math.min(600_000, 60_000 * 2 ** i)));
    expect(() => updater.startAutoUpdate({ intervalMs: 10 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => updater.startAutoUpdate({ jitter: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => updater.startAutoUpdate({ quietHours: ['25:00-01:00'] })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});

describe('channels and rollout at run time', () => {
  it('setChannel follows another channel; moving to an older release needs allowDowngrade', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0-beta.1', { channel: 'beta' });
    const updater = new Updater(feed.options(root));
    expect(await updater.checkForUpdates()).toMatchObject({ available: false, reason: 'up-to-date' });
    updater.setChannel('beta');
    expect(await updater.checkForUpdates()).toMatchObject({ available: true, release: { version: '2.0.0-beta.1', channel: 'beta' } });
    await updater.downloadUpdate();
    await updater.installUpdate();
    expect(await updater.confirmStartup()).toMatchObject({ outcome: 'committed', version: '2.0.0-beta.1' });

    updater.setChannel('stable');
    expect(await updater.checkForUpdates()).toMatchObject({ available: false, reason: 'downgrade' });
    updater.setChannel('stable', { allowDowngrade: true });
    expect(await updater.checkForUpdates()).toMatchObject({ available: true, release: { version: '1.0.0' } });
    expect(() => updater.setChannel('no such/channel')).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('a release at 0% is not offered, except to an explicit check that ignores the rollout (never when halted)', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    const { editChannel } = await import('../../src/publish/channel-doc.js');
    await editChannel({ feedDir: feed.feed, channel: 'stable', keys: [feed.key] }, (c) => {
      c.rollout = { rings: { '*': 0 }, halted: false };
    });
    const updater = new Updater(feed.options(root));
    expect(await updater.checkForUpdates()).toMatchObject({ available: false, reason: 'not-in-rollout' });
    expect(await updater.checkForUpdates({ ignoreRollout: true })).toMatchObject({ available: true, release: { version: '2.0.0' } });
    await editChannel({ feedDir: feed.feed, channel: 'stable', keys: [feed.key] }, (c) => {
      c.rollout = { rings: { '*': 100 }, halted: true };
    });
    expect(await updater.checkForUpdates({ ignoreRollout: true })).toMatchObject({ available: false, reason: 'halted' });
  });

  it('a halt stops a download in progress at the next check; after resume it continues from the kept chunks', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0', { payloadBytes: 1024 * 1024 });
    const { editChannel } = await import('../../src/publish/channel-doc.js');
    const setHalted = (halted: boolean) =>
      editChannel({ feedDir: feed.feed, channel: 'stable', keys: [feed.key] }, (c) => {
        c.rollout = { ...c.rollout, halted };
      });
    const clock = fastClock();
    // Throttled in simulated time: the download spans many check intervals.
    const updater = new Updater(feed.options(root, { clock, maxBytesPerSecond: 16 * 1024 }));
    const errors: { code: string; details: Record<string, unknown> }[] = [];
    updater.on('error', (e) => errors.push(e));
    const downloaded: string[] = [];
    updater.on('update-downloaded', (info) => downloaded.push(info.version));
    let transferred = 0;
    updater.on('download-progress', (p) => (transferred = p.transferred));
    updater.startAutoUpdate({ intervalMs: 60_000, jitter: 0 });
    while (transferred === 0) await new Promise((r) => setTimeout(r, 5));
    await setHalted(true);
    while (errors.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(errors[0]).toMatchObject({ code: 'ABORTED', details: { channel: 'halted', version: '2.0.0' } });
    const stoppedAt = transferred;
    expect(stoppedAt).toBeLessThan(1024 * 1024);
    expect(downloaded).toEqual([]);
    expect((await updater.status()).slots.b).toMatchObject({ status: 'invalid' });
    // While halted, later checks start nothing new.
    const before = feed.requests.filter((r) => r.path.includes('/blobs/')).length;
    const checksBefore = channelRequests().length;
    while (channelRequests().length < checksBefore + 3) await new Promise((r) => setTimeout(r, 5));
    expect(feed.requests.filter((r) => r.path.includes('/blobs/')).length).toBe(before);
    expect(downloaded).toEqual([]);

    // Resumed: the download picks up where it stopped instead of starting over.
    let resumedTotal = 0;
    updater.on('download-progress', (p) => (resumedTotal = p.total));
    updater.setThrottle(0);
    await setHalted(false);
    while (downloaded.length === 0) await new Promise((r) => setTimeout(r, 5));
    await updater.stopAutoUpdate();
    expect(downloaded).toEqual(['2.0.0']);
    expect(resumedTotal).toBeLessThan(1024 * 1024 - stoppedAt + 5 * 64 * 1024);
    expect((await updater.status()).slots.b).toMatchObject({ version: '2.0.0', status: 'staged' });
  });

  it('waits for a second check before fetching a new release: a halt in between means nothing is fetched; critical ones go at once', async () => {
    const root = await feed.install();
    const { editChannel } = await import('../../src/publish/channel-doc.js');
    const edit = (f: (c: { rollout: { rings: Record<string, number>; halted: boolean }; critical: boolean }) => void) =>
      editChannel({ feedDir: feed.feed, channel: 'stable', keys: [feed.key] }, f);
    const clock = fastClock();
    const updater = new Updater(feed.options(root, { clock }));
    const reasons: string[] = [];
    updater.on('update-not-available', (i) => reasons.push(i.reason));
    const downloaded: string[] = [];
    updater.on('update-downloaded', (info) => downloaded.push(info.version));
    const releaseRequests = () => feed.requests.filter((r) => r.path.includes('/releases/') || r.path.includes('/blobs/')).length;
    expect(() => updater.startAutoUpdate({ confirmChecks: 0 })).toThrow(/confirmChecks/);

    // Seen once, then halted: never fetched.
    await feed.publish('2.0.0');
    feed.requests.length = 0;
    updater.startAutoUpdate({ intervalMs: 60_000, jitter: 0 });
    while (!reasons.includes('deferred')) await new Promise((r) => setTimeout(r, 5));
    await updater.stopAutoUpdate();
    expect(releaseRequests()).toBe(0);
    await edit((c) => (c.rollout = { ...c.rollout, halted: true }));
    updater.startAutoUpdate({ intervalMs: 60_000, jitter: 0 });
    while (!reasons.includes('halted')) await new Promise((r) => setTimeout(r, 5));
    await updater.stopAutoUpdate();
    expect(releaseRequests()).toBe(0);

    // Resumed: seen again from scratch, deferred once, fetched at the second check.
    await edit((c) => (c.rollout = { ...c.rollout, halted: false }));
    reasons.length = 0;
    updater.startAutoUpdate({ intervalMs: 60_000, jitter: 0 });
    while (downloaded.length === 0) await new Promise((r) => setTimeout(r, 5));
    await updater.stopAutoUpdate();
    expect(reasons).toEqual(['deferred']);
    expect(downloaded).toEqual(['2.0.0']);

    // A critical release is fetched at the first check that offers it.
    await feed.publish('3.0.0');
    await edit((c) => (c.critical = true));
    reasons.length = 0;
    updater.startAutoUpdate({ intervalMs: 60_000, jitter: 0 });
    while (downloaded.length < 2) await new Promise((r) => setTimeout(r, 5));
    await updater.stopAutoUpdate();
    expect(reasons).toEqual([]);
    expect(downloaded).toEqual(['2.0.0', '3.0.0']);
  });
});

