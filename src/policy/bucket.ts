/**
 * Staged-rollout buckets. An install's bucket for a release is the first 32 bits of
 * SHA-256(install id + version) scaled to [0, 100): stable across checks, independent
 * between releases, and raising a percentage only ever adds installs.
 *
 * @module
 */
import { createHash } from 'node:crypto';

export function rolloutBucket(installId: string, version: string): number {
  const digest = createHash('sha256').update(installId + version).digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100;
}

/**
 * The percentage that applies to `ring`: its own entry, else the `*` entry. A ring
 * the operator did not list (and no `*`) gets 0: staged rollout fails closed.
 */
export function ringPercent(rings: Readonly<Record<string, number>>, ring: string | null): number {
  if (Object.keys(rings).length === 0) return 100;
  if (ring !== null && Object.hasOwn(rings, ring)) return rings[ring]!;
  return Object.hasOwn(rings, '*') ? rings['*']! : 0;
}
