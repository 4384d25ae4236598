/**
 * When and how long to wait before trying again: exponential backoff with full
 * jitter (a random wait between 0 and the exponential cap, so a fleet that failed
 * together does not retry together), and the server's Retry-After when it gives one.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import type { RandomSource } from '../io/clock.js';

/** How downloads retry: full-jitter exponential backoff, per mirror. */
export interface RetryPolicy {
  /** Tries per piece of work on each mirror. */
  readonly attemptsPerMirror: number;
  /** Backoff cap of the first retry, in ms; it doubles with each retry. */
  readonly baseDelayMs: number;
  /** Largest backoff cap, in ms. */
  readonly maxDelayMs: number;
  /** Longest Retry-After honoured; a longer one moves on to the next mirror. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attemptsPerMirror: 4,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
};

/** A uniform number in [0, 1) from injected randomness. */
export function uniform(random: RandomSource): number {
  const bytes = random(4);
  const n = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  return n / 2 ** 32;
}

/** Full-jitter backoff for the `attempt`-th retry (1-based). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: RandomSource): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(20, attempt - 1));
  return Math.floor(uniform(random) * cap);
}

/** Retry-After as delta-seconds or an HTTP date, in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (!value) return null;
  if (/^\d{1,9}$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/** Failures worth another try (possibly on another mirror). Bad options, aborts and full disks are not. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof UpdateError)) return true;
  return err.code === 'NETWORK' || err.code === 'CHECKSUM_MISMATCH' || err.code === 'TOO_LARGE';
}
