import type { Clock } from '../../../src/io/clock.js';

/** A clock whose sleeps advance simulated time at once: a minute of throttling runs in milliseconds. */
export function fakeClock(start = 0): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      now += ms;
      await Promise.resolve();
    },
    advance: (ms) => {
      now += ms;
    },
  };
}
