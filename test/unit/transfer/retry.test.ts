import { describe, expect, it } from 'vitest';
import { UpdateError } from '../../../src/errors.js';
import { DEFAULT_RETRY, backoffMs, isRetryable, parseRetryAfter } from '../../../src/transfer/retry.js';

describe('retry policy', () => {
  it('full jitter: waits spread between 0 and the exponential cap', () => {
    let n = 0;
    const random = () => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE((n++ * 2654435761) >>> 0);
      return b;
    };
    for (let attempt = 1; attempt <= 8; attempt++) {
      const cap = Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.baseDelayMs * 2 ** (attempt - 1));
      const waits = Array.from({ length: 200 }, () => backoffMs(DEFAULT_RETRY, attempt, random));
      expect(Math.max(...waits)).toBeLessThan(cap);
      expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...waits)).toBeGreaterThan(cap * 0.8);
      expect(Math.min(...waits)).toBeLessThan(cap * 0.2);
    }
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('7', 0)).toBe(7000);
    expect(parseRetryAfter(new Date(60_000).toUTCString(), 0)).toBe(60_000);
    expect(parseRetryAfter('soon', 0)).toBeNull();
    expect(parseRetryAfter(undefined, 0)).toBeNull();
  });

  it('retries network trouble and wrong bytes, not aborts or bad options', () => {
    expect(isRetryable(new UpdateError('NETWORK', 'x'))).toBe(true);
    expect(isRetryable(new UpdateError('CHECKSUM_MISMATCH', 'x'))).toBe(true);
    expect(isRetryable(new UpdateError('ABORTED', 'x'))).toBe(false);
    expect(isRetryable(new UpdateError('DISK_FULL', 'x'))).toBe(false);
  });
});
