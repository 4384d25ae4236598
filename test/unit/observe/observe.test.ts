import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { publish, redactUrl } from '../../../src/observe/channels.js';
import { checkLogger, safeLogger } from '../../../src/observe/logger.js';
import { Observer } from '../../../src/observe/observer.js';
import { Updater } from '../../../src/updater.js';
import { expectCode } from '../expect-code.js';

describe('logger and report options', () => {
  it('are checked at construction', () => {
    const e = expectCode(() => new Updater({ installRoot: '/tmp/x', logger: { debug() {}, info() {}, warn() {} } as never }), 'INVALID_OPTIONS');
    expect(e.message).toContain('logger.error');
    expectCode(() => new Updater({ installRoot: '/tmp/x', logger: 'console' as never }), 'INVALID_OPTIONS');
    expectCode(() => new Updater({ installRoot: '/tmp/x', report: {} as never }), 'INVALID_OPTIONS');
    expect(() => new Updater({ installRoot: '/tmp/x', logger: console, report: () => undefined })).not.toThrow();
    expect(() => checkLogger(console, 'x')).not.toThrow();
  });

  it('a throwing logger is contained', () => {
    const log = safeLogger({ debug: () => { throw new Error('no'); }, info() {}, warn() {}, error() {} });
    expect(() => log.debug('hi', { a: 1 })).not.toThrow();
  });
});

describe('diagnostics channels', () => {
  it('build no message while nobody subscribes', () => {
    let built = 0;
    publish('twinslot:phase', () => {
      built++;
      return { installRoot: '/r', from: 'idle', to: 'checking', event: 'check' };
    });
    expect(built).toBe(0);
    const got: unknown[] = [];
    const fn = (m: unknown): void => void got.push(m);
    diagnosticsChannel.subscribe('twinslot:phase', fn);
    try {
      publish('twinslot:phase', () => {
        built++;
        return { installRoot: '/r', from: 'idle', to: 'checking', event: 'check' };
      });
    } finally {
      diagnosticsChannel.unsubscribe('twinslot:phase', fn);
    }
    expect(built).toBe(1);
    expect(got).toEqual([{ installRoot: '/r', from: 'idle', to: 'checking', event: 'check' }]);
  });

  it('URLs lose credentials, query and fragment', () => {
    expect(redactUrl(new URL('https://u:p@cdn.example.com:8443/feed/blobs/sha256/ab?token=s#x'))).toBe('https://cdn.example.com:8443/feed/blobs/sha256/ab');
    expect(redactUrl('not a url')).toBe('(unparsable URL)');
  });
});

describe('Observer', () => {
  it('reports a step with the clock it is given, and a rejecting hook is logged', async () => {
    let now = 1_000_000;
    const errors: string[] = [];
    const reports: unknown[] = [];
    const observer = new Observer('/r', { debug() {}, info() {}, warn() {}, error: (m) => void errors.push(m) }, async (r) => {
      reports.push(r);
      throw new Error('offline');
    }, { now: () => now, sleep: async () => undefined });
    observer.begin('download', { fromVersion: '1.0.0', toVersion: '1.1.0' });
    observer.flow.received(100);
    observer.flow.received(23);
    observer.event('plan', [{ version: '1.1.0', bytes: { keep: 1, copy: 2, patch: 3, fetch: 4 }, files: { keep: 1, copy: 1, patch: 1, fetch: 1 }, downloadBytes: 9 }]);
    observer.event('patch-failed', [{ path: 'a', code: 'PATCH_FAILED', reason: 'bad' }]);
    now += 250;
    const report = observer.end({ value: null });
    expect(report).toMatchObject({ attempt: 'download', outcome: 'success', bytesDownloaded: 123, bytesByKind: { keep: 1, copy: 2, patch: 3, fetch: 4 }, patchFallbacks: 1, durationMs: 250 });
    expect(report!.startedAt).toBe(new Date(1_000_000).toISOString());
    await new Promise((r) => setImmediate(r));
    expect(reports).toHaveLength(1);
    expect(errors).toEqual(['the report hook failed: offline']);
  });
});
