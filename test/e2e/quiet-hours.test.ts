// Quiet hours of startAutoUpdate() against a real feed server: no check falls in a
// quiet window, not even the first one after a start inside it (a device rebooted at
// night). The clock is injected and fast; the window is in local time, as on a device.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/io/clock.js';
import { Updater } from '../../src/updater.js';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';

let feed: FeedFixture;

beforeEach(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0');
});

afterEach(async () => {
  await feed.close();
});

/** A clock whose sleeps return almost at once and move time forward. */
function fastClock(start: number): Clock {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      now += ms;
      await new Promise((r) => setTimeout(r, 2));
      if (signal?.aborted) throw signal.reason;
    },
  };
}

/** The next local `hour`:00 after now (so the feed's documents are neither in the future nor expired). */
function nextLocal(hour: number): number {
  const d = new Date();
  d.setHours(hour, 0, 0, 0);
  if (d.getTime() <= Date.now()) d.setDate(d.getDate() + 1);
  return d.getTime();
}

const localMinute = (t: number): number => new Date(t).getHours() * 60 + new Date(t).getMinutes();

async function checkTimes(start: number, quietHours: string[], count: number): Promise<number[]> {
  const root = await feed.install();
  const clock = fastClock(start);
  const updater = new Updater(feed.options(root, { clock }));
  const checks: number[] = [];
  updater.on('checking-for-update', () => checks.push(clock.now()));
  updater.startAutoUpdate({ intervalMs: 10 * 60_000, quietHours });
  const deadline = Date.now() + 10_000;
  while (checks.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await updater.stopAutoUpdate();
  return checks.slice(0, count);
}

describe('quiet hours', () => {
  it('a start inside a quiet window waits for its end, and later checks stay out of it', async () => {
    const start = nextLocal(23);
    const checks = await checkTimes(start, ['22:00-06:30'], 4);
    expect(checks).toHaveLength(4);
    // 23:00 -> the first check is at 06:30 at the earliest, spread by at most 10 minutes of jitter.
    expect(checks[0]! - start).toBeLessThan(9 * 3_600_000); // that same night's end (even across a DST change)
    expect(localMinute(checks[0]!)).toBeGreaterThanOrEqual(6 * 60 + 30);
    expect(localMinute(checks[0]!)).toBeLessThan(6 * 60 + 41);
    for (const t of checks) expect(localMinute(t) >= 22 * 60 || localMinute(t) < 6 * 60 + 30).toBe(false);
  });

  it('outside the window the first check comes within the jittered interval', async () => {
    const start = nextLocal(12);
    const [first] = await checkTimes(start, ['22:00-06:30'], 1);
    expect(first! - start).toBeLessThanOrEqual(20 * 60_000);
  });
});
