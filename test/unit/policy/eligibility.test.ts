import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChannelDocument } from '../../../src/manifest/channel.js';
import { rolloutBucket } from '../../../src/policy/bucket.js';
import { type InstallFacts, decideUpdate, downloadStopReason, holdNewRelease } from '../../../src/policy/eligibility.js';

const POINTER = { url: 'releases/2.0.0/linux-x64.json', sha256: 'a'.repeat(64), size: 100 };
const ID = createHash('sha256').update('install').digest('hex').slice(0, 32);

function channel(overrides: Partial<ChannelDocument> = {}): ChannelDocument {
  return {
    app: 'com.example.app',
    channel: 'stable',
    sequence: 1,
    expires: Date.UTC(2030, 0, 1),
    release: { version: '2.0.0', platforms: { 'linux-x64': POINTER } },
    rollout: { rings: { '*': 100 }, halted: false },
    revoked: [],
    critical: false,
    minimumVersion: null,
    root: 1,
    ...overrides,
  };
}

function facts(overrides: Partial<InstallFacts> = {}): InstallFacts {
  return { platform: 'linux-x64', currentVersion: '1.0.0', bad: [], ring: null, installId: ID, allowDowngrade: false, ...overrides };
}

const rings = (r: Record<string, number>): Partial<ChannelDocument> => ({ rollout: { rings: r, halted: false } });

describe('decideUpdate', () => {
  it('offers a newer release for this platform', () => {
    expect(decideUpdate(channel(), facts())).toEqual({ available: true, version: '2.0.0', pointer: POINTER, critical: false, fullUpdate: false });
  });

  it('passes the critical flag on', () => {
    expect(decideUpdate(channel({ critical: true }), facts())).toMatchObject({ available: true, critical: true });
  });

  it('offers the release to a fresh install (no current version)', () => {
    expect(decideUpdate(channel({ minimumVersion: '1.5.0' }), facts({ currentVersion: null }))).toMatchObject({ available: true, fullUpdate: false });
  });

  it('says no-release when the channel offers none', () => {
    expect(decideUpdate(channel({ release: null }), facts())).toEqual({ available: false, reason: 'no-release', version: null });
  });

  it('says no-platform when this platform is not built', () => {
    expect(decideUpdate(channel(), facts({ platform: 'win32-x64' }))).toEqual({ available: false, reason: 'no-platform', version: '2.0.0' });
  });

  it('says up-to-date on the same version', () => {
    expect(decideUpdate(channel(), facts({ currentVersion: '2.0.0' }))).toMatchObject({ available: false, reason: 'up-to-date' });
  });

  it('refuses a downgrade unless allowed', () => {
    expect(decideUpdate(channel(), facts({ currentVersion: '2.0.1' }))).toMatchObject({ available: false, reason: 'downgrade' });
    expect(decideUpdate(channel(), facts({ currentVersion: '2.0.0-rc.1' }))).toMatchObject({ available: true });
    expect(decideUpdate(channel({ release: { version: '2.0.0-rc.1', platforms: { 'linux-x64': POINTER } } }), facts({ currentVersion: '2.0.0' }))).toMatchObject({
      available: false,
      reason: 'downgrade',
    });
    expect(decideUpdate(channel(), facts({ currentVersion: '2.0.1', allowDowngrade: true }))).toMatchObject({ available: true, version: '2.0.0' });
  });

  it('refuses a revoked version, even when a downgrade is allowed', () => {
    expect(decideUpdate(channel({ revoked: ['2.0.0'] }), facts())).toMatchObject({ available: false, reason: 'revoked' });
    expect(decideUpdate(channel({ revoked: ['2.0.0'] }), facts({ currentVersion: '3.0.0', allowDowngrade: true }))).toMatchObject({ reason: 'revoked' });
    expect(decideUpdate(channel({ revoked: ['1.0.0'] }), facts())).toMatchObject({ available: true });
  });

  it('refuses a version this install reverted from', () => {
    expect(decideUpdate(channel(), facts({ bad: ['2.0.0'] }))).toMatchObject({ available: false, reason: 'known-bad' });
    expect(decideUpdate(channel(), facts({ bad: ['1.9.0'] }))).toMatchObject({ available: true });
  });

  it('refuses while the rollout is halted, even when skipping the rollout', () => {
    const halted = channel({ rollout: { rings: { '*': 100 }, halted: true } });
    expect(decideUpdate(halted, facts())).toMatchObject({ available: false, reason: 'halted' });
    expect(decideUpdate(halted, facts({ skipRollout: true }))).toMatchObject({ reason: 'halted' });
  });

  it('says not-in-rollout when the install\'s bucket is at or above the ring\'s percentage', () => {
    const bucket = rolloutBucket(ID, '2.0.0');
    expect(Number.isInteger(bucket)).toBe(false);
    expect(decideUpdate(channel(rings({ '*': Math.floor(bucket) })), facts())).toMatchObject({ available: false, reason: 'not-in-rollout' });
    expect(decideUpdate(channel(rings({ '*': Math.ceil(bucket) })), facts())).toMatchObject({ available: true });
    expect(decideUpdate(channel(rings({ '*': 0 })), facts())).toMatchObject({ reason: 'not-in-rollout' });
  });

  it('applies the ring of the install, and 0 to an unlisted ring without "*"', () => {
    const doc = channel(rings({ beta: 100, '*': 0 }));
    expect(decideUpdate(doc, facts({ ring: 'beta' }))).toMatchObject({ available: true });
    expect(decideUpdate(doc, facts({ ring: 'stable' }))).toMatchObject({ reason: 'not-in-rollout' });
    expect(decideUpdate(channel(rings({ beta: 100 })), facts({ ring: 'stable' }))).toMatchObject({ reason: 'not-in-rollout' });
  });

  it('lets a person skip the staged rollout when asked', () => {
    expect(decideUpdate(channel(rings({ '*': 0 })), facts({ skipRollout: true }))).toMatchObject({ available: true });
  });

  it('takes the full update path below minimumVersion only', () => {
    expect(decideUpdate(channel({ minimumVersion: '1.5.0' }), facts({ currentVersion: '1.4.9' }))).toMatchObject({ available: true, fullUpdate: true });
    expect(decideUpdate(channel({ minimumVersion: '1.5.0' }), facts({ currentVersion: '1.5.0' }))).toMatchObject({ available: true, fullUpdate: false });
    expect(decideUpdate(channel({ minimumVersion: '1.5.0' }), facts({ currentVersion: '1.6.0' }))).toMatchObject({ available: true, fullUpdate: false });
  });

  describe('a revoked running version', () => {
    it('moves to the channel release at once, even an older one, past a halt and the rollout, as critical', () => {
      const doc = channel({ revoked: ['2.1.0'], rollout: { rings: { '*': 0 }, halted: true } });
      expect(decideUpdate(doc, facts({ currentVersion: '2.1.0' }))).toEqual({ available: true, version: '2.0.0', pointer: POINTER, critical: true, fullUpdate: false });
    });

    it('does not move to a release that is itself revoked or known bad', () => {
      expect(decideUpdate(channel({ revoked: ['2.1.0', '2.0.0'] }), facts({ currentVersion: '2.1.0' }))).toMatchObject({ available: false, reason: 'revoked' });
      expect(decideUpdate(channel({ revoked: ['2.1.0'] }), facts({ currentVersion: '2.1.0', bad: ['2.0.0'] }))).toMatchObject({ available: false, reason: 'known-bad' });
    });

    it('an install not running a revoked version still refuses a downgrade', () => {
      expect(decideUpdate(channel({ revoked: ['2.1.0'] }), facts({ currentVersion: '2.0.5' }))).toMatchObject({ available: false, reason: 'downgrade' });
    });
  });
});

describe('downloadStopReason', () => {
  it('stops a download when the rollout is halted or the version being fetched is revoked', () => {
    expect(downloadStopReason(channel(), '2.0.0', facts())).toBeNull();
    expect(downloadStopReason(channel({ rollout: { rings: { '*': 100 }, halted: true } }), '2.0.0', facts())).toBe('halted');
    expect(downloadStopReason(channel({ revoked: ['2.0.0'] }), '2.0.0', facts())).toBe('revoked');
    // The channel moved on to 2.0.1 and revoked 2.0.0, which we were fetching.
    const moved = channel({ release: { version: '2.0.1', platforms: { 'linux-x64': POINTER } }, revoked: ['2.0.0'] });
    expect(downloadStopReason(moved, '2.0.0', facts())).toBe('revoked');
  });

  it('does not stop for a lowered percentage or a newer release, nor halt a download escaping a revoked running version', () => {
    expect(downloadStopReason(channel(rings({ '*': 0 })), '2.0.0', facts())).toBeNull();
    const newer = channel({ release: { version: '2.0.1', platforms: { 'linux-x64': POINTER } } });
    expect(downloadStopReason(newer, '2.0.0', facts())).toBeNull();
    const escape = channel({ rollout: { rings: { '*': 100 }, halted: true }, revoked: ['1.0.0'] });
    expect(downloadStopReason(escape, '2.0.0', facts())).toBeNull();
  });
});

describe('holdNewRelease', () => {
  it('holds until the release was offered confirmChecks times in a row, never a critical one', () => {
    expect([1, 2, 3].map((n) => holdNewRelease(n, 2, false))).toEqual([true, false, false]);
    expect(holdNewRelease(1, 1, false)).toBe(false);
    expect(holdNewRelease(1, 3, true)).toBe(false);
  });
});

