/**
 * The release a slot holds, from the signed manifest stored beside it. The stored
 * bytes are verified again with the trusted keys whenever they are read: a file on
 * disk is no more trusted than one from the network.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { UpdateError } from '../errors.js';
import { DOCUMENT_LIMITS, type TrustedKeys, openEnvelope } from '../manifest/envelope.js';
import { type ReleaseManifest, parseReleaseManifest } from '../manifest/release.js';
import { loadTrust, readSlotManifest } from '../slots/journal-store.js';
import type { SlotName } from '../slots/state-file.js';
import type { FlowContext } from './context.js';
import { currentKeys } from './root-chain.js';

export interface VerifiedRelease {
  readonly manifest: ReleaseManifest;
  /** The envelope bytes as served and stored. */
  readonly bytes: Buffer;
  /** SHA-256 of the envelope bytes (what the channel document pins). */
  readonly sha256: string;
}

/** Verifies and parses release manifest bytes; `expect` pins what it must describe. */
export function verifyRelease(
  ctx: FlowContext,
  bytes: Buffer,
  expect: { version?: string; what: string },
  keys: TrustedKeys = ctx.trust,
): VerifiedRelease {
  const opened = openEnvelope(bytes, keys, expect.what, DOCUMENT_LIMITS.release);
  const manifest = parseReleaseManifest(opened.signed);
  const { appId, platform } = ctx.config;
  if (manifest.app !== appId || manifest.platform !== platform || (expect.version !== undefined && manifest.version !== expect.version)) {
    throw new UpdateError(
      'WRONG_TARGET',
      `${expect.what} is for ${manifest.app} ${manifest.version} on ${manifest.platform}, expected ${appId} ${expect.version ?? ''} on ${platform}`.replace('  ', ' '),
      { details: { app: manifest.app, version: manifest.version, platform: manifest.platform } },
    );
  }
  return { manifest, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * The verified release of `slot`, or null when there is none or it no longer verifies.
 * A slot installed before a key rotation carries a manifest signed by the pinned keys;
 * it verifies under those or under the newest root's.
 */
export async function loadSlotRelease(ctx: FlowContext, slot: SlotName): Promise<VerifiedRelease | null> {
  const bytes = await readSlotManifest(ctx.fs, ctx.layout.slotManifest(slot));
  if (!bytes) return null;
  const trust = await loadTrust(ctx.fs, ctx.layout).catch(() => null);
  const keySets = trust?.root ? [currentKeys(ctx, trust), ctx.trust] : [ctx.trust];
  for (const keys of keySets) {
    try {
      return verifyRelease(ctx, bytes, { what: `the manifest of slot ${slot}` }, keys);
    } catch {
      // try the next key set
    }
  }
  return null;
}
