// Broken and hostile servers: every case ends in a verified, staged blob or in a
// typed UpdateError, never a corrupt slot; the active slot is never touched.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateError } from '../../src/errors.js';
import { Updater } from '../../src/updater.js';
import { type Fault, type FaultServer, createFaultServer } from '../helpers/fault-server.js';
import { type FeedFixture, createFeedFixture, snapshotTree } from '../helpers/fixture.js';

let feed: FeedFixture;
const servers: FaultServer[] = [];
let rootCount = 0;

beforeAll(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0', { channel: 'base' });
  await feed.publish('2.0.0', { payloadBytes: 640 * 1024, chunkSize: 64 * 1024 });
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await feed.close();
});

async function serve(pick: (n: number, range: string | null) => Fault): Promise<FaultServer> {
  const server = await createFaultServer(feed.feed, pick);
  servers.push(server);
  return server;
}

/** Installs 1.0.0 from the good server, then tries the update through `server`. */
async function attempt(server: FaultServer, extra: { mirrors?: string[]; minBytesPerSecond?: number; slowGraceMs?: number; connections?: number } = {}) {
  // The first install has to succeed: it comes from the well-behaved server.
  const root = await feed.install(`root-${rootCount++}`, 'base');
  const active = await snapshotTree(join(root, 'slots', 'a'));
  const updater = new Updater(
    feed.options(root, {
      feedUrl: server.url,
      retry: { baseDelayMs: 5, maxDelayMs: 20, attemptsPerMirror: 3 },
      ...extra,
    }),
  );
  let error: unknown = null;
  try {
    await updater.checkForUpdates();
    await updater.downloadUpdate();
  } catch (err) {
    error = err;
  }
  expect(await snapshotTree(join(root, 'slots', 'a'))).toEqual(active);
  const status = await updater.status();
  expect(status.active).toBe('a');
  if (error === null) {
    expect(status.slots.b).toEqual({ version: '2.0.0', status: 'staged' });
    // The staged tree is exactly the release: installUpdate re-checks every byte.
    await updater.installUpdate();
  } else {
    expect(status.slots.b.status).not.toBe('staged');
  }
  return { error: error as UpdateError | null, root };
}

const always = (fault: Fault) => () => fault;
const firstThen = (fault: Fault, times: number) => (n: number) => (n < times ? fault : 'none');

describe('transient faults are survived', () => {
  it.each<[Fault, number]>([
    ['wrong-content-range', 2],
    ['short-body', 2],
    ['reset', 3],
    ['503', 2],
    ['longer-body', 1],
  ])('%s (%i times) then good answers: verified and staged', async (fault, times) => {
    const server = await serve(firstThen(fault, times));
    const { error } = await attempt(server);
    expect(error).toBeNull();
    expect(server.blobRequests.filter((r) => r.fault === fault)).toHaveLength(times);
  });

  it('a body longer than the range, every time: the extra bytes are refused, the verified chunks kept', async () => {
    const server = await serve(always('longer-body'));
    const { error } = await attempt(server);
    expect(error).toBeNull();
  });

  it('a server that ignores Range: one connection reads the whole blob, still verified', async () => {
    const server = await serve(always('ignore-range'));
    const { error } = await attempt(server);
    expect(error).toBeNull();
  });

  it('a redirect to another path on the same server is followed', async () => {
    const server = await serve(always('redirect-to-copy'));
    const { error } = await attempt(server);
    expect(error).toBeNull();
  });

  it('an ETag change mid-download starts the blob over, using If-Range', async () => {
    // One connection: a cut-short first answer, then the blob changes before the retry.
    const server = await serve((n) => (n === 0 ? 'short-body' : n === 1 ? 'etag-change' : 'none'));
    const { error } = await attempt(server, { connections: 1 });
    expect(error).toBeNull();
    expect(server.blobRequests[1]).toMatchObject({ ifRange: '"v0"' });
    // After the change, the whole pack is fetched again from the first byte.
    expect(server.blobRequests[2]!.range).toMatch(/^bytes=0-/);
  });
});

describe('persistent faults end in a typed error', () => {
  it.each<[Fault, string, RegExp]>([
    ['wrong-content-range', 'NETWORK', /Content-Range/],
    ['short-body', 'NETWORK', /early|closed|terminated|socket/i],
    ['503', 'NETWORK', /503/],
    ['416', 'NETWORK', /416/],
    ['redirect-loop', 'NETWORK', /redirected more than/],
    ['wrong-bytes', 'CHECKSUM_MISMATCH', /does not match/],
    ['gzip', 'NETWORK', /Content-Encoding/],
  ])('%s -> %s', async (fault, code, message) => {
    const server = await serve(always(fault));
    const { error } = await attempt(server);
    expect(error).toBeInstanceOf(UpdateError);
    expect(error!.code).toBe(code);
    expect(error!.message).toMatch(message);
  });

  it('slow drip: dropped by the minimum-rate rule', async () => {
    const server = await serve(always('drip'));
    const { error } = await attempt(server, { minBytesPerSecond: 50_000, slowGraceMs: 200 });
    expect(error?.code).toBe('NETWORK');
    expect(error?.message).toMatch(/too slow/);
  });
});

describe('mirrors', () => {
  it('chunks fail over from a broken primary to the next mirror', async () => {
    const bad = await serve(always('wrong-bytes'));
    const good = await serve(always('none'));
    const { error } = await attempt(bad, { mirrors: [good.url] });
    expect(error).toBeNull();
    expect(bad.blobRequests.length).toBeGreaterThan(0);
    expect(good.blobRequests.length).toBeGreaterThan(0);
  });

  it('all mirrors bad: NETWORK, and the app keeps its active slot', async () => {
    const a = await serve(always('503'));
    const b = await serve(always('reset'));
    const { error } = await attempt(a, { mirrors: [b.url] });
    expect(error?.code).toBe('NETWORK');
  });
});
