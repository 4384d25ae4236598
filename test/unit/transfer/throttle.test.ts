import { describe, expect, it } from 'vitest';
import { Throttle } from '../../../src/transfer/throttle.js';
import { fakeClock } from './fake-clock.js';

/** Takes `piece`-byte pieces until `untilMs` of simulated time; returns [time, cumulative bytes] samples. */
async function consume(throttle: Throttle, clock: ReturnType<typeof fakeClock>, piece: number, untilMs: number, onTick?: (t: number) => void) {
  const samples: [number, number][] = [];
  let bytes = 0;
  while (clock.now() < untilMs) {
    await throttle.take(piece);
    bytes += piece;
    samples.push([clock.now(), bytes]);
    onTick?.(clock.now());
    clock.advance(1); // the network delivering the next piece takes a moment
  }
  return samples;
}

function bytesBetween(samples: [number, number][], from: number, to: number): number {
  const at = (t: number) => samples.filter(([time]) => time <= t).at(-1)?.[1] ?? 0;
  return at(to) - at(from);
}

describe('Throttle', () => {
  it('holds the mean rate to the cap over a simulated minute', async () => {
    const clock = fakeClock();
    const throttle = new Throttle(clock, 20_000_000);
    const samples = await consume(throttle, clock, 64 * 1024, 60_000);
    const mean = samples.at(-1)![1] / 60;
    expect(Math.abs(mean - 20_000_000) / 20_000_000).toBeLessThan(0.01);
    // No 1-second window above 110% of the cap.
    for (let t = 0; t + 1000 <= 60_000; t += 100) expect(bytesBetween(samples, t, t + 1000)).toBeLessThanOrEqual(22_000_000);
  });

  it('is shared: two consumers together get the cap, not twice it', async () => {
    const clock = fakeClock();
    const throttle = new Throttle(clock, 1_000_000);
    let total = 0;
    const one = async () => {
      while (clock.now() < 10_000) {
        await throttle.take(16 * 1024);
        total += 16 * 1024;
      }
    };
    await Promise.all([one(), one()]);
    expect(total / 10).toBeLessThan(1_100_000);
    expect(total / 10).toBeGreaterThan(900_000);
  });

  it('a new rate set mid-transfer applies within 100 ms', async () => {
    const clock = fakeClock();
    const throttle = new Throttle(clock, 5_000_000);
    let changed = false;
    const samples = await consume(throttle, clock, 32 * 1024, 4000, (t) => {
      if (!changed && t >= 2000) {
        throttle.setRate(500_000);
        changed = true;
      }
    });
    expect(bytesBetween(samples, 2100, 3100)).toBeLessThanOrEqual(500_000 * 1.1);
    expect(bytesBetween(samples, 1000, 2000)).toBeGreaterThan(4_500_000);
  });

  it('0 means unlimited, and pause() holds every taker until resume()', async () => {
    const clock = fakeClock();
    const throttle = new Throttle(clock, 0);
    await throttle.take(1e9);
    expect(clock.now()).toBe(0);
    throttle.pause();
    let passed = false;
    const waiting = throttle.take(10).then(() => (passed = true));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(clock.now()).toBeGreaterThan(0);
    expect(passed).toBe(false);
    throttle.resume();
    await waiting;
    expect(passed).toBe(true);
  });

  it('an aborted signal ends the wait', async () => {
    const clock = fakeClock();
    const throttle = new Throttle(clock, 1);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(throttle.take(100, controller.signal)).rejects.toThrow('stop');
  });

  it('refuses a negative rate', () => {
    expect(() => new Throttle(fakeClock(), -1)).toThrow(RangeError);
  });
});
