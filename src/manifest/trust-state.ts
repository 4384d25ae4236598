/**
 * Trust state (`<root>/trust.json`): what this install has already trusted, so a
 * replayed old channel document (rollback) or a stale one (freeze) is refused.
 * Pure functions only; the file itself is written by slots/ with the atomic recipe.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import type { ChannelDocument } from './channel.js';
import { isPlainObject } from './envelope.js';

/** What one channel has taught this install. */
export interface TrustedChannel {
  /** Highest sequence accepted. */
  readonly sequence: number;
  /** SHA-256 of the signed bytes accepted at that sequence. */
  readonly sha256: string;
}

/** The content of trust.json. */
export interface TrustState {
  readonly version: 1;
  /** Random id of this install; the rollout bucket derives from it. */
  readonly installId: string;
  /** Version of the newest trusted root key document (1 = the keys pinned in code). */
  readonly rootVersion: number;
  /** That root's keys and threshold, once rotated past the pinned keys (rootVersion > 1). */
  readonly root?: { readonly keys: readonly string[]; readonly threshold: number } | undefined;
  readonly channels: Readonly<Record<string, TrustedChannel>>;
}

/** A fresh trust state for a new install. */
export function newTrustState(installId: string): TrustState {
  return { version: 1, installId, rootVersion: 1, channels: {} };
}

/** Parses trust.json; a damaged file is `STATE_CORRUPT`, never silently reset (that would reopen rollback). */
export function parseTrustState(text: string): TrustState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UpdateError('STATE_CORRUPT', 'trust.json is not valid JSON', { cause: err });
  }
  if (!isPlainObject(value) || value.version !== 1) throw new UpdateError('STATE_CORRUPT', 'trust.json has an unknown format');
  const { installId, rootVersion, channels } = value;
  if (typeof installId !== 'string' || !/^[0-9a-f]{32}$/.test(installId)) throw new UpdateError('STATE_CORRUPT', 'trust.json has no valid installId');
  if (typeof rootVersion !== 'number' || !Number.isSafeInteger(rootVersion) || rootVersion < 1) {
    throw new UpdateError('STATE_CORRUPT', 'trust.json has no valid rootVersion');
  }
  if (!isPlainObject(channels)) throw new UpdateError('STATE_CORRUPT', 'trust.json has no channels');
  let root: TrustState['root'];
  if (rootVersion > 1) {
    const r = value.root;
    if (
      !isPlainObject(r) ||
      !Array.isArray(r.keys) ||
      r.keys.length === 0 ||
      !r.keys.every((k) => typeof k === 'string' && /^ed25519:[A-Za-z0-9+/]{43}=$/.test(k)) ||
      !Number.isSafeInteger(r.threshold) ||
      (r.threshold as number) < 1 ||
      (r.threshold as number) > r.keys.length
    ) {
      throw new UpdateError('STATE_CORRUPT', 'trust.json has a rotated root without valid keys');
    }
    root = { keys: r.keys as string[], threshold: r.threshold as number };
  }
  const out: Record<string, TrustedChannel> = {};
  for (const [name, entry] of Object.entries(channels)) {
    if (!isPlainObject(entry) || !Number.isSafeInteger(entry.sequence) || typeof entry.sha256 !== 'string') {
      throw new UpdateError('STATE_CORRUPT', `trust.json has a damaged entry for channel ${JSON.stringify(name)}`);
    }
    out[name] = { sequence: entry.sequence as number, sha256: entry.sha256 };
  }
  return root ? { version: 1, installId, rootVersion, root, channels: out } : { version: 1, installId, rootVersion, channels: out };
}

export function serializeTrustState(state: TrustState): string {
  return JSON.stringify(state, null, 2) + '\n';
}

/**
 * Checks a verified channel document against what is trusted and the clock. Returns
 * the trust state to persist (unchanged when nothing new was learnt).
 */
export function admitChannelDocument(
  state: TrustState,
  doc: ChannelDocument,
  signedSha256: string,
  now: number,
  expected: { app: string; channel: string },
): TrustState {
  if (doc.app !== expected.app || doc.channel !== expected.channel) {
    throw new UpdateError(
      'WRONG_TARGET',
      `the feed served the channel document of ${doc.app}/${doc.channel}, expected ${expected.app}/${expected.channel}`,
      { details: { app: doc.app, channel: doc.channel } },
    );
  }
  const known = state.channels[doc.channel];
  if (known && doc.sequence < known.sequence) {
    throw new UpdateError('ROLLBACK_REJECTED', `channel ${doc.channel} sequence ${doc.sequence} is lower than the trusted ${known.sequence}`, {
      details: { sequence: doc.sequence, trusted: known.sequence },
    });
  }
  if (known && doc.sequence === known.sequence && signedSha256 !== known.sha256) {
    throw new UpdateError('ROLLBACK_REJECTED', `channel ${doc.channel} sequence ${doc.sequence} was reused for different content`, {
      details: { sequence: doc.sequence },
    });
  }
  if (doc.expires <= now) {
    throw new UpdateError('MANIFEST_EXPIRED', `channel ${doc.channel} document expired at ${new Date(doc.expires).toISOString()}`, {
      details: { expires: doc.expires, now },
    });
  }
  if (known && known.sequence === doc.sequence) return state;
  return { ...state, channels: { ...state.channels, [doc.channel]: { sequence: doc.sequence, sha256: signedSha256 } } };
}
