// What an app or an operator sees of an update: diagnostics-channel messages, the
// report hook and the logger, against a real feed on loopback with real probes.
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/manifest/keys.js';
import { DIAGNOSTICS_CHANNELS, type DiagnosticsMessages } from '../../src/observe/channels.js';
import type { Logger } from '../../src/observe/logger.js';
import type { UpdateReport } from '../../src/observe/report.js';
import { Updater } from '../../src/updater.js';
import { createFaultServer } from '../helpers/fault-server.js';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';

let feed: FeedFixture;
const cleanups: (() => void | Promise<void>)[] = [];

beforeEach(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0');
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await feed.close();
});

/** Every message of every twinslot channel about `root`, in order. */
function listen(root: string): { channel: string; message: DiagnosticsMessages[keyof DiagnosticsMessages] }[] {
  const seen: { channel: string; message: DiagnosticsMessages[keyof DiagnosticsMessages] }[] = [];
  for (const name of Object.values(DIAGNOSTICS_CHANNELS)) {
    const fn = (message: unknown): void => {
      const m = message as DiagnosticsMessages[keyof DiagnosticsMessages];
      if (m.installRoot === root) seen.push({ channel: name, message: m });
    };
    diagnosticsChannel.subscribe(name, fn);
    cleanups.push(() => void diagnosticsChannel.unsubscribe(name, fn));
  }
  return seen;
}

function captureLogger(): Logger & { lines: { level: string; message: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('observability of a real update', () => {
  it('diagnostics channels show the phases in order; reports carry versions, bytes by kind and duration', async () => {
    const root = await feed.install();
    const release = await feed.publish('2.0.0');
    const seen = listen(root);
    const reports: UpdateReport[] = [];
    const logger = captureLogger();
    const updater = new Updater(feed.options(root, { logger, report: (r) => void reports.push(r) }));

    await updater.checkForUpdates();
    await updater.downloadUpdate();
    await updater.installUpdate();
    expect(await updater.confirmStartup()).toMatchObject({ outcome: 'committed' });

    const phases = seen.filter((s) => s.channel === 'twinslot:phase').map((s) => s.message as DiagnosticsMessages['twinslot:phase']);
    expect(phases.map((p) => `${p.from}>${p.to}`)).toEqual([
      'idle>checking',
      'checking>available',
      'available>downloading',
      'downloading>downloaded',
      'downloaded>installing',
      'installing>installed',
      'installed>confirming',
      'confirming>idle',
    ]);
    // Each step's start comes before its phases end, and start/end pair by id.
    const steps = seen.filter((s) => s.channel.startsWith('twinslot:step:'));
    expect(steps.map((s) => `${s.channel.slice('twinslot:step:'.length)}:${'step' in s.message ? s.message.step : (s.message as DiagnosticsMessages['twinslot:step:end']).report.attempt}`)).toEqual([
      'start:check', 'end:check', 'start:download', 'end:download', 'start:install', 'end:install', 'start:confirm', 'end:confirm',
    ]);
    for (let i = 0; i < steps.length; i += 2) expect((steps[i]!.message as { id: number }).id).toBe((steps[i + 1]!.message as { id: number }).id);

    expect(reports.map((r) => [r.attempt, r.outcome, r.detail, r.fromVersion, r.toVersion])).toEqual([
      ['check', 'success', 'available', '1.0.0', '2.0.0'],
      ['download', 'success', null, '1.0.0', '2.0.0'],
      ['install', 'success', null, '1.0.0', '2.0.0'],
      ['confirm', 'success', 'committed', '1.0.0', '2.0.0'],
    ]);
    const download = reports[1]!;
    const kinds = download.bytesByKind!;
    expect(kinds.keep + kinds.copy + kinds.patch + kinds.fetch).toBe(release.manifest.files.reduce((s, f) => s + f.size, 0));
    expect(kinds.fetch).toBeGreaterThan(0);
    // Every byte fetched crossed the network once (the pack holds the fetched files).
    expect(download.bytesDownloaded).toBeGreaterThanOrEqual(kinds.fetch);
    expect(download.bytesDownloaded).toBeLessThanOrEqual(release.manifest.pack.size);
    expect(download).toMatchObject({ errorCode: null, revertReason: null, retries: 0, patchFallbacks: 0 });
    for (const r of reports) {
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(r.startedAt)).not.toBeNaN();
    }
    expect(reports[2]!.restartRequired).toBe(true);
    // The step:end message is the report the hook got, and it is plain JSON.
    const ends = steps.filter((s) => s.channel === 'twinslot:step:end').map((s) => (s.message as DiagnosticsMessages['twinslot:step:end']).report);
    expect(ends).toEqual(reports);
    expect(JSON.parse(JSON.stringify(reports))).toEqual(reports);

    // The logger: one info line per step, no warnings, and nothing per chunk.
    expect(logger.lines.filter((l) => l.level === 'info').map((l) => l.message.split(' ')[0])).toEqual(['check', 'download', 'install', 'confirm']);
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    expect(logger.lines.length).toBeLessThan(30);
  });

  it('a failed check reports its error code; a throwing report hook and logger never reach the updater', async () => {
    const root = await feed.install();
    const logger = captureLogger();
    const reports: UpdateReport[] = [];
    const updater = new Updater(
      feed.options(root, {
        trustedKeys: [generateKeyPair().publicKey.text],
        logger,
        report: (r) => {
          reports.push(r);
          throw new Error('telemetry is down');
        },
      }),
    );
    await expect(updater.checkForUpdates()).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ attempt: 'check', outcome: 'failure', errorCode: 'SIGNATURE_INVALID', bytesDownloaded: 0, bytesByKind: null });
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      expect.stringMatching(/^check failed: SIGNATURE_INVALID/),
      'the report hook failed: telemetry is down',
    ]);

    // An async hook that rejects, and a logger whose every method throws.
    const rejecting = new Updater(
      feed.options(root, {
        logger: { debug: () => { throw new Error('x'); }, info: () => { throw new Error('x'); }, warn: () => { throw new Error('x'); }, error: () => { throw new Error('x'); } },
        report: async () => { throw new Error('later'); },
      }),
    );
    expect(await rejecting.checkForUpdates()).toMatchObject({ available: false, reason: 'up-to-date' });
  });

  it('a revert after a failed post-start probe reports its reason', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0', { selfTest: 'fail' });
    const seen = listen(root);
    const logger = captureLogger();
    const reports: UpdateReport[] = [];
    const updater = new Updater(feed.options(root, { logger, report: (r) => void reports.push(r) }));
    await updater.checkForUpdates();
    await updater.downloadUpdate();
    await updater.installUpdate();
    expect(await updater.confirmStartup()).toMatchObject({ outcome: 'rolled-back' });

    expect(reports.at(-1)).toMatchObject({
      attempt: 'confirm',
      outcome: 'reverted',
      detail: 'rolled-back',
      revertReason: 'health-check-failed',
      fromVersion: '2.0.0',
      toVersion: '1.0.0',
      restartRequired: true,
      errorCode: null,
    });
    const revert = seen.filter((s) => s.channel === 'twinslot:revert').map((s) => s.message);
    expect(revert).toEqual([expect.objectContaining({ reason: 'health-check-failed', fromVersion: '2.0.0', toVersion: '1.0.0', from: 'b', to: 'a' })]);
    const warn = logger.lines.find((l) => l.level === 'warn');
    expect(warn?.message).toBe('reverted from 2.0.0 to 1.0.0 (health-check-failed)');
    expect(warn?.fields).toMatchObject({ reason: 'health-check-failed', failedProbes: [expect.stringContaining('--self-test')] });

    // 2.0.0 is now known bad: the next check says so.
    await updater.checkForUpdates();
    expect(reports.at(-1)).toMatchObject({ attempt: 'check', outcome: 'success', detail: 'known-bad' });
  });

  it('a retried blob request is a warning, a retry message and counted in the report', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    // The first blob request answers 503, the rest are served.
    const server = await createFaultServer(feed.feed, (n) => (n === 0 ? '503' : 'none'));
    cleanups.push(() => server.close());
    const seen = listen(root);
    const logger = captureLogger();
    const reports: UpdateReport[] = [];
    const updater = new Updater(
      feed.options(root, { feedUrl: `http://user:secret@${new URL(server.url).host}/`, connections: 1, logger, report: (r) => void reports.push(r), retry: { baseDelayMs: 1 } }),
    );
    await updater.checkForUpdates();
    await updater.downloadUpdate();

    const warns = logger.lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]!.message).toMatch(/^download failed \(NETWORK\); retry 1 in \d+ ms$/);
    expect(warns[0]!.fields).toMatchObject({ code: 'NETWORK', attempt: 1, mirror: 0, failover: false });
    const retries = seen.filter((s) => s.channel === 'twinslot:retry').map((s) => s.message as DiagnosticsMessages['twinslot:retry']);
    expect(retries).toHaveLength(1);
    // No credentials in what is published.
    expect(retries[0]!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/blobs\/sha256\/[0-9a-f]{64}$/);
    expect(JSON.stringify(seen)).not.toContain('secret');
    expect(reports.at(-1)).toMatchObject({ attempt: 'download', outcome: 'success', retries: 1 });
  });

  it('a mirror failover is logged as one and counted', async () => {
    const root = await feed.install();
    await feed.publish('2.0.0');
    // The primary serves wrong bytes: the chunks move to the mirror (the feed itself) at once.
    const server = await createFaultServer(feed.feed, () => 'wrong-bytes');
    cleanups.push(() => server.close());
    const logger = captureLogger();
    const reports: UpdateReport[] = [];
    const updater = new Updater(feed.options(root, { feedUrl: server.url, mirrors: [feed.url], connections: 1, logger, report: (r) => void reports.push(r) }));
    await updater.checkForUpdates();
    await updater.downloadUpdate();
    const warns = logger.lines.filter((l) => l.level === 'warn');
    expect(warns.map((w) => w.message)).toEqual(['download failed (CHECKSUM_MISMATCH); moving to mirror 1']);
    expect(warns[0]!.fields).toMatchObject({ failover: true, mirror: 1, attempt: 0, waitMs: 0 });
    expect(reports.at(-1)).toMatchObject({ attempt: 'download', outcome: 'success', retries: 1 });
  });
});
