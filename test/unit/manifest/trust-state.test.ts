import { describe, expect, it } from 'vitest';
import type { ChannelDocument } from '../../../src/manifest/channel.js';
import { type TrustState, admitChannelDocument, newTrustState, parseTrustState, serializeTrustState } from '../../../src/manifest/trust-state.js';
import { expectCode } from '../expect-code.js';

const INSTALL_ID = '0123456789abcdef0123456789abcdef';
const NOW = Date.UTC(2026, 5, 1);
const TARGET = { app: 'com.example.app', channel: 'stable' };
const H1 = '1'.repeat(64);
const H2 = '2'.repeat(64);

function doc(overrides: Partial<ChannelDocument> = {}): ChannelDocument {
  return {
    app: 'com.example.app',
    channel: 'stable',
    sequence: 10,
    expires: NOW + 86_400_000,
    release: null,
    rollout: { rings: {}, halted: false },
    revoked: [],
    critical: false,
    minimumVersion: null,
    root: 1,
    ...overrides,
  };
}

function trusted(sequence: number, sha256: string): TrustState {
  return { ...newTrustState(INSTALL_ID), channels: { stable: { sequence, sha256 } } };
}

describe('admitChannelDocument', () => {
  it('records the first document of a channel', () => {
    const state = newTrustState(INSTALL_ID);
    const next = admitChannelDocument(state, doc(), H1, NOW, TARGET);
    expect(next.channels).toEqual({ stable: { sequence: 10, sha256: H1 } });
    expect(next.installId).toBe(INSTALL_ID);
    expect(state.channels).toEqual({}); // not mutated
  });

  it('records a higher sequence and keeps other channels', () => {
    const state: TrustState = { ...trusted(10, H1), channels: { stable: { sequence: 10, sha256: H1 }, beta: { sequence: 99, sha256: H2 } } };
    const next = admitChannelDocument(state, doc({ sequence: 11 }), H2, NOW, TARGET);
    expect(next.channels).toEqual({ stable: { sequence: 11, sha256: H2 }, beta: { sequence: 99, sha256: H2 } });
  });

  it('returns the same object when the document is the one already trusted', () => {
    const state = trusted(10, H1);
    expect(admitChannelDocument(state, doc(), H1, NOW, TARGET)).toBe(state);
  });

  it('rejects a lower sequence (rollback)', () => {
    const err = expectCode(() => admitChannelDocument(trusted(10, H1), doc({ sequence: 9 }), H2, NOW, TARGET), 'ROLLBACK_REJECTED');
    expect(err.details).toEqual({ sequence: 9, trusted: 10 });
  });

  it('rejects an equal sequence with different content', () => {
    expectCode(() => admitChannelDocument(trusted(10, H1), doc({ sequence: 10 }), H2, NOW, TARGET), 'ROLLBACK_REJECTED');
  });

  it('rejects an expired document (freeze), also at the exact expiry instant', () => {
    expectCode(() => admitChannelDocument(newTrustState(INSTALL_ID), doc({ expires: NOW - 1 }), H1, NOW, TARGET), 'MANIFEST_EXPIRED');
    expectCode(() => admitChannelDocument(newTrustState(INSTALL_ID), doc({ expires: NOW }), H1, NOW, TARGET), 'MANIFEST_EXPIRED');
    expect(admitChannelDocument(newTrustState(INSTALL_ID), doc({ expires: NOW + 1 }), H1, NOW, TARGET).channels.stable?.sequence).toBe(10);
  });

  it('rejects an expired replay of the trusted document', () => {
    expectCode(() => admitChannelDocument(trusted(10, H1), doc({ expires: NOW - 1 }), H1, NOW, TARGET), 'MANIFEST_EXPIRED');
  });

  it('rejects the document of another app or channel', () => {
    expectCode(() => admitChannelDocument(newTrustState(INSTALL_ID), doc({ app: 'com.other.app' }), H1, NOW, TARGET), 'WRONG_TARGET');
    const err = expectCode(() => admitChannelDocument(newTrustState(INSTALL_ID), doc({ channel: 'beta' }), H1, NOW, TARGET), 'WRONG_TARGET');
    expect(err.details).toEqual({ app: 'com.example.app', channel: 'beta' });
  });

  it('checks the sequence of the channel asked for, not of others', () => {
    const state: TrustState = { ...newTrustState(INSTALL_ID), channels: { beta: { sequence: 500, sha256: H2 } } };
    expect(admitChannelDocument(state, doc({ sequence: 1 }), H1, NOW, TARGET).channels.stable).toEqual({ sequence: 1, sha256: H1 });
  });
});

describe('parseTrustState / serializeTrustState', () => {
  it('round-trips', () => {
    const key = `ed25519:${Buffer.alloc(32, 7).toString('base64')}`;
    const state: TrustState = { version: 1, installId: INSTALL_ID, rootVersion: 3, root: { keys: [key], threshold: 1 }, channels: { stable: { sequence: 10, sha256: H1 } } };
    const text = serializeTrustState(state);
    expect(text.endsWith('\n')).toBe(true);
    expect(parseTrustState(text)).toEqual(state);
    expect(parseTrustState(serializeTrustState(newTrustState(INSTALL_ID)))).toEqual(newTrustState(INSTALL_ID));
  });

  it('a rotated root must name its keys and a threshold they can meet', () => {
    const key = `ed25519:${Buffer.alloc(32, 7).toString('base64')}`;
    const base = { version: 1, installId: INSTALL_ID, rootVersion: 2, channels: {} };
    for (const root of [undefined, { keys: [], threshold: 1 }, { keys: [key], threshold: 2 }, { keys: ['ed25519:short'], threshold: 1 }, { keys: [key] }]) {
      expectCode(() => parseTrustState(JSON.stringify({ ...base, root })), 'STATE_CORRUPT');
    }
    expect(parseTrustState(JSON.stringify({ ...base, root: { keys: [key], threshold: 1 } })).root).toEqual({ keys: [key], threshold: 1 });
  });

  const valid = { version: 1, installId: INSTALL_ID, rootVersion: 1, channels: { stable: { sequence: 3, sha256: H1 } } };
  it.each([
    ['not JSON', '{"version":1,'],
    ['an empty file', ''],
    ['an array', '[]'],
    ['null', 'null'],
    ['another version', JSON.stringify({ ...valid, version: 2 })],
    ['a missing installId', JSON.stringify({ ...valid, installId: undefined })],
    ['a short installId', JSON.stringify({ ...valid, installId: 'abc' })],
    ['an uppercase installId', JSON.stringify({ ...valid, installId: INSTALL_ID.toUpperCase() })],
    ['rootVersion 0', JSON.stringify({ ...valid, rootVersion: 0 })],
    ['a string rootVersion', JSON.stringify({ ...valid, rootVersion: '1' })],
    ['no channels', JSON.stringify({ ...valid, channels: undefined })],
    ['channels as an array', JSON.stringify({ ...valid, channels: [] })],
    ['a channel without a sequence', JSON.stringify({ ...valid, channels: { stable: { sha256: H1 } } })],
    ['a float sequence', JSON.stringify({ ...valid, channels: { stable: { sequence: 1.5, sha256: H1 } } })],
    ['a channel without a hash', JSON.stringify({ ...valid, channels: { stable: { sequence: 1 } } })],
    ['a channel entry that is a number', JSON.stringify({ ...valid, channels: { stable: 3 } })],
  ])('refuses %s with STATE_CORRUPT', (_name, text) => {
    expectCode(() => parseTrustState(text), 'STATE_CORRUPT');
  });
});
