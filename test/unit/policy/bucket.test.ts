import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ringPercent, rolloutBucket } from '../../../src/policy/bucket.js';

/** 32-hex install ids as the library makes them, derived from a counter so the test is repeatable. */
function installIds(n: number, salt = ''): string[] {
  return Array.from({ length: n }, (_, i) => createHash('sha256').update(`${salt}${i}`).digest('hex').slice(0, 32));
}

describe('rolloutBucket', () => {
  it('is stable for the same install id and version', () => {
    const id = installIds(1)[0]!;
    expect(rolloutBucket(id, '2.0.0')).toBe(rolloutBucket(id, '2.0.0'));
  });

  it('is the first 32 bits of SHA-256(id + version) scaled to [0, 100)', () => {
    const id = installIds(1)[0]!;
    const top = createHash('sha256').update(id + '2.0.0').digest().readUInt32BE(0);
    expect(rolloutBucket(id, '2.0.0')).toBe((top / 2 ** 32) * 100);
  });

  it('stays in [0, 100) and is roughly uniform', () => {
    const ids = installIds(10_000);
    const buckets = ids.map((id) => rolloutBucket(id, '2.0.0'));
    for (const b of buckets) {
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(100);
    }
    const share = (limit: number): number => (buckets.filter((b) => b < limit).length / buckets.length) * 100;
    expect(share(10)).toBeGreaterThanOrEqual(9);
    expect(share(10)).toBeLessThanOrEqual(11);
    expect(share(50)).toBeGreaterThanOrEqual(48);
    expect(share(50)).toBeLessThanOrEqual(52);
    // Every tenth of the range gets its share: no clustering.
    for (let d = 0; d < 10; d++) {
      const n = buckets.filter((b) => b >= d * 10 && b < (d + 1) * 10).length;
      expect(n).toBeGreaterThan(850);
      expect(n).toBeLessThan(1150);
    }
  });

  it('is independent between releases: the same installs are not always first', () => {
    const ids = installIds(10_000, 'independent');
    const early1 = new Set(ids.filter((id) => rolloutBucket(id, '2.0.0') < 10));
    const both = ids.filter((id) => early1.has(id) && rolloutBucket(id, '2.1.0') < 10).length;
    // Independent: about 1% of installs are in the first 10% of both releases, not 10%.
    expect(both / ids.length).toBeLessThan(0.02);
    expect(both / ids.length).toBeGreaterThan(0.004);
  });
});

describe('ringPercent', () => {
  const rings = { '*': 20, beta: 100, canary: 0 };

  it('uses the ring\'s own entry', () => {
    expect(ringPercent(rings, 'beta')).toBe(100);
    expect(ringPercent(rings, 'canary')).toBe(0);
  });

  it('falls back to "*" for an unlisted ring and for no ring', () => {
    expect(ringPercent(rings, 'internal')).toBe(20);
    expect(ringPercent(rings, null)).toBe(20);
  });

  it('gives 0 to an unlisted ring when there is no "*" (fails closed)', () => {
    expect(ringPercent({ beta: 50 }, 'stable')).toBe(0);
    expect(ringPercent({ beta: 50 }, null)).toBe(0);
  });

  it('does not treat inherited object properties as rings', () => {
    expect(ringPercent({ beta: 50 }, 'constructor')).toBe(0);
    expect(ringPercent({ beta: 50 }, 'toString')).toBe(0);
  });

  it('gives 100 when no rollout is configured at all', () => {
    expect(ringPercent({}, 'beta')).toBe(100);
    expect(ringPercent({}, null)).toBe(100);
  });
});
