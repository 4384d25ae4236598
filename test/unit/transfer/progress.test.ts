import { describe, expect, it } from 'vitest';
import type { DownloadProgress } from '../../../src/events.js';
import { ProgressMeter } from '../../../src/transfer/progress.js';
import { fakeClock } from './fake-clock.js';

describe('ProgressMeter', () => {
  it('emits at most ten events a second however fast bytes arrive, then a final one', () => {
    const clock = fakeClock();
    const events: DownloadProgress[] = [];
    const meter = new ProgressMeter(clock, 10_000_000, (p) => events.push(p));
    for (let i = 0; i < 10_000; i++) {
      meter.add(1000);
      clock.advance(0.1); // 10,000 pieces in one simulated second
    }
    expect(events.length).toBeLessThanOrEqual(11);
    meter.finish();
    expect(events.at(-1)).toMatchObject({ transferred: 10_000_000, total: 10_000_000, percent: 100, etaSeconds: 0 });
  });

  it('reports a smoothed rate and an ETA', () => {
    const clock = fakeClock();
    const events: DownloadProgress[] = [];
    const meter = new ProgressMeter(clock, 100_000_000, (p) => events.push(p));
    for (let i = 0; i < 50; i++) {
      clock.advance(100);
      meter.add(100_000); // 1 MB/s
    }
    const last = events.at(-1)!;
    expect(last.bytesPerSecond).toBeGreaterThan(900_000);
    expect(last.bytesPerSecond).toBeLessThan(1_100_000);
    expect(last.etaSeconds).toBeGreaterThan(85);
    expect(last.etaSeconds).toBeLessThan(105);
  });
});
