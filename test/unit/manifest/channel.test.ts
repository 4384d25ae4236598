import { describe, expect, it } from 'vitest';
import { CHANNEL_TYPE, parseChannelDocument } from '../../../src/manifest/channel.js';
import { expectCode } from '../expect-code.js';

const HASH = 'a'.repeat(64);

function channelDoc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: CHANNEL_TYPE,
    spec: 1,
    app: 'com.example.app',
    channel: 'stable',
    sequence: 5,
    expires: '2030-01-02T03:04:05Z',
    release: {
      version: '2.0.0',
      platforms: { 'linux-x64': { url: 'releases/2.0.0/linux-x64.json', sha256: HASH, size: 1234 } },
    },
    rollout: { rings: { '*': 50, beta: 100 }, halted: false },
    revoked: ['1.0.1'],
    critical: false,
    minimumVersion: '1.0.0',
    ...overrides,
  };
}

function withRelease(release: Record<string, unknown>): Record<string, unknown> {
  return channelDoc({ release: { version: '2.0.0', platforms: {}, ...release } });
}

function withPointer(pointer: Record<string, unknown>): Record<string, unknown> {
  return withRelease({ platforms: { 'linux-x64': { url: 'releases/2.0.0/linux-x64.json', sha256: HASH, size: 10, ...pointer } } });
}

describe('parseChannelDocument', () => {
  it('parses a valid document', () => {
    const doc = parseChannelDocument(channelDoc());
    expect(doc).toEqual({
      app: 'com.example.app',
      channel: 'stable',
      sequence: 5,
      expires: Date.UTC(2030, 0, 2, 3, 4, 5),
      release: { version: '2.0.0', platforms: { 'linux-x64': { url: 'releases/2.0.0/linux-x64.json', sha256: HASH, size: 1234 } } },
      rollout: { rings: { '*': 50, beta: 100 }, halted: false },
      revoked: ['1.0.1'],
      critical: false,
      minimumVersion: '1.0.0',
      root: 1,
    });
  });

  it('accepts a null release and a null minimumVersion', () => {
    const doc = parseChannelDocument(channelDoc({ release: null, minimumVersion: null }));
    expect(doc.release).toBeNull();
    expect(doc.minimumVersion).toBeNull();
  });

  it('accepts a leap day', () => {
    expect(parseChannelDocument(channelDoc({ expires: '2028-02-29T00:00:00Z' })).expires).toBe(Date.UTC(2028, 1, 29));
  });

  it('accepts fractional seconds in the expiry', () => {
    expect(parseChannelDocument(channelDoc({ expires: '2030-01-02T03:04:05.250Z' })).expires).toBe(Date.UTC(2030, 0, 2, 3, 4, 5, 250));
  });

  it.each([
    ['not an object', 'channel'],
    ['an array', []],
    ['null', null],
  ])('refuses a document that is %s', (_name, value) => {
    expectCode(() => parseChannelDocument(value), 'INVALID_MANIFEST');
  });

  it.each([
    ['an unknown _type', { _type: 'twinslot/release' }],
    ['a missing _type', { _type: undefined }],
    ['an unknown spec', { spec: 2 }],
    ['a spec as string', { spec: '1' }],
    ['a numeric app', { app: 7 }],
    ['an app id with a slash', { app: 'com/example' }],
    ['an app id starting with a dot', { app: '.app' }],
    ['a sequence of 0', { sequence: 0 }],
    ['a float sequence', { sequence: 1.5 }],
    ['a string sequence', { sequence: '5' }],
    ['expires "never"', { expires: 'never' }],
    ['expires without Z', { expires: '2030-01-02T03:04:05' }],
    ['expires with an offset', { expires: '2030-01-02T03:04:05+01:00' }],
    ['expires on 2026-02-31', { expires: '2026-02-31T00:00:00Z' }],
    ['expires at hour 24', { expires: '2026-01-01T24:00:00Z' }],
    ['expires on 2027-02-29 (no leap year)', { expires: '2027-02-29T00:00:00Z' }],
    ['expires on a leap second', { expires: '2026-12-31T23:59:60Z' }],
    ['expires as a date only', { expires: '2030-01-02' }],
    ['expires as a number', { expires: 1893553445000 }],
    ['a string critical', { critical: 'yes' }],
    ['revoked not an array', { revoked: '1.0.0' }],
    ['revoked with a non-semver entry', { revoked: ['v1'] }],
    ['revoked with a number', { revoked: [1] }],
    ['a bad minimumVersion', { minimumVersion: '1.0' }],
    ['a missing rollout', { rollout: undefined }],
    ['rollout without halted', { rollout: { rings: {} } }],
    ['a ring percentage over 100', { rollout: { rings: { beta: 101 }, halted: false } }],
    ['a negative ring percentage', { rollout: { rings: { beta: -1 }, halted: false } }],
    ['an invalid ring name', { rollout: { rings: { 'be ta': 10 }, halted: false } }],
    ['a release version that is not semver', { release: { version: 'latest', platforms: {} } }],
  ])('refuses %s with INVALID_MANIFEST', (_name, overrides) => {
    const doc = channelDoc(overrides);
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete doc[k];
    expectCode(() => parseChannelDocument(doc), 'INVALID_MANIFEST');
  });

  it.each(['_type', 'spec', 'app', 'channel', 'sequence', 'expires', 'release', 'rollout', 'revoked', 'critical', 'minimumVersion'])(
    'refuses a document without %s',
    (field) => {
      const doc = channelDoc();
      delete doc[field];
      expectCode(() => parseChannelDocument(doc), 'INVALID_MANIFEST');
    },
  );

  it('names the bad field in the error details', () => {
    const err = expectCode(() => parseChannelDocument(channelDoc({ sequence: -3 })), 'INVALID_MANIFEST');
    expect(err.details).toEqual({ field: 'channel.sequence' });
  });

  it.each([
    ['an absolute url', { url: '/releases/2.0.0/linux-x64.json' }],
    ['a url with ..', { url: 'releases/../keys/root.1.json' }],
    ['a url with a scheme', { url: 'https://evil.example/x.json' }],
    ['a url with a backslash', { url: 'releases\\x.json' }],
    ['a url with an empty segment', { url: 'releases//x.json' }],
    ['a bad sha256', { sha256: 'A'.repeat(64) }],
    ['a short sha256', { sha256: 'a'.repeat(63) }],
    ['a size of 0', { size: 0 }],
    ['a string size', { size: '10' }],
  ])('refuses a release pointer with %s', (_name, pointer) => {
    expectCode(() => parseChannelDocument(withPointer(pointer)), 'INVALID_MANIFEST');
  });

  it('refuses a platform key that is not os-arch', () => {
    const pointer = { url: 'r.json', sha256: HASH, size: 1 };
    expectCode(() => parseChannelDocument(withRelease({ platforms: { Linux: pointer } })), 'INVALID_MANIFEST');
    expect(parseChannelDocument(withRelease({ platforms: { 'darwin-arm64': pointer } })).release?.platforms['darwin-arm64']).toEqual(pointer);
  });
});
