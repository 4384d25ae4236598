import { describe, expect, it } from 'vitest';
import { type ScheduleSettings, firstCheckDelay, nextCheckDelay, parseQuietWindow } from '../../../src/policy/schedule.js';

const HOUR = 3_600_000;
const settings: ScheduleSettings = { intervalMs: HOUR, jitter: 1, maxBackoffMs: 24 * HOUR, quiet: [] };
const utcMinute = (t: number): number => new Date(t).getUTCHours() * 60 + new Date(t).getUTCMinutes();
const facts = (over: Partial<Parameters<typeof nextCheckDelay>[1]> = {}) => ({ now: Date.UTC(2026, 0, 1, 12), errors: 0, maxAgeMs: null, random: 0.5, minuteOfDay: utcMinute, ...over });

describe('nextCheckDelay', () => {
  it('jitters uniformly around the interval, keeping the mean', () => {
    expect(nextCheckDelay(settings, facts({ random: 0 }))).toBe(0);
    expect(nextCheckDelay(settings, facts({ random: 0.5 }))).toBe(HOUR);
    expect(nextCheckDelay(settings, facts({ random: 0.999999 }))).toBeCloseTo(2 * HOUR, -3);
    expect(nextCheckDelay({ ...settings, jitter: 0.1 }, facts({ random: 0 }))).toBe(0.9 * HOUR);
    expect(nextCheckDelay({ ...settings, jitter: 0 }, facts({ random: 0.9 }))).toBe(HOUR);
    let sum = 0;
    for (let i = 0; i < 1000; i++) sum += nextCheckDelay(settings, facts({ random: (i + 0.5) / 1000 }));
    expect(sum / 1000 / HOUR).toBeCloseTo(1, 2);
  });

  it('backs off exponentially after errors, with full jitter, up to the cap', () => {
    expect(nextCheckDelay(settings, facts({ errors: 1, random: 0.5 }))).toBe(HOUR / 2);
    expect(nextCheckDelay(settings, facts({ errors: 3, random: 0.5 }))).toBe(2 * HOUR);
    expect(nextCheckDelay(settings, facts({ errors: 40, random: 0.5 }))).toBe(12 * HOUR);
    expect(nextCheckDelay(settings, facts({ errors: 3, random: 0 }))).toBe(1000); // never a busy loop
  });

  it('never asks again before the server said it may', () => {
    expect(nextCheckDelay(settings, facts({ random: 0, maxAgeMs: 600_000 }))).toBe(600_000);
    expect(nextCheckDelay(settings, facts({ random: 0.5, maxAgeMs: 600_000 }))).toBe(HOUR);
  });

  it('moves a check out of a quiet window (also one that wraps past midnight)', () => {
    const night = parseQuietWindow('22:00-06:30');
    const at2130 = Date.UTC(2026, 0, 1, 21, 30);
    const delay = nextCheckDelay({ ...settings, jitter: 0, quiet: [night] }, facts({ now: at2130 }));
    // 22:30 falls in the window; the check moves to 06:30 (no jitter here).
    expect(new Date(at2130 + delay).toISOString()).toBe('2026-01-02T06:30:00.000Z');
    const noon = parseQuietWindow('12:00-13:00');
    const d2 = nextCheckDelay({ ...settings, intervalMs: 60_000, jitter: 0, quiet: [noon] }, facts({ now: Date.UTC(2026, 0, 1, 11, 59, 30) }));
    expect(new Date(Date.UTC(2026, 0, 1, 11, 59, 30) + d2).getUTCHours()).toBe(13);
  });

  it('parses quiet windows strictly', () => {
    expect(parseQuietWindow('00:00-23:59')).toEqual({ from: 0, to: 1439 });
    for (const bad of ['24:00-01:00', '9:00-10:00', '09:00', '09:00-10:60', '']) expect(() => parseQuietWindow(bad)).toThrow(RangeError);
  });
});

describe('firstCheckDelay', () => {
  const first = (over: Partial<typeof settings> = {}, random = 0.5, now = Date.UTC(2026, 0, 1, 12)) => firstCheckDelay({ ...settings, ...over }, { now, random, minuteOfDay: utcMinute });

  it('spreads a fleet started together over the steady-state range of later delays', () => {
    // jitter 1: a falling ramp over [0, 2 x interval]; u = 0 -> 0, u -> 1 -> the far end.
    expect(first({}, 0)).toBe(0);
    expect(first({}, 0.999999)).toBeGreaterThan(1.99 * HOUR);
    expect(first({}, 0.999999)).toBeLessThanOrEqual(2 * HOUR);
    // jitter 0: uniform over one interval.
    expect(first({ jitter: 0 }, 0.25)).toBe(HOUR / 4);
    const delays = Array.from({ length: 1000 }, (_, i) => first({}, (i + 0.5) / 1000));
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
    // The ramp puts as many first checks in the first hour as a steady fleet makes in an hour: 3/4 of them.
    expect(delays.filter((d) => d < HOUR).length / 1000).toBeCloseTo(0.75, 2);
  });

  it('does not check inside a quiet window: a device started at night waits for the morning', () => {
    const night = parseQuietWindow('22:00-06:30');
    const at2300 = Date.UTC(2026, 0, 1, 23, 0);
    const delay = first({ jitter: 0, quiet: [night] }, 0.5, at2300);
    expect(new Date(at2300 + delay).toISOString()).toBe('2026-01-02T06:30:00.000Z');
    // With jitter, the wake-up after the window is spread over up to 15 minutes.
    const spread = first({ quiet: [night] }, 0.5, at2300);
    expect(at2300 + spread).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 2, 6, 30));
    expect(at2300 + spread).toBeLessThan(Date.UTC(2026, 0, 2, 6, 46));
    // Outside the window nothing moves.
    expect(first({ jitter: 0, quiet: [night] }, 0.5, Date.UTC(2026, 0, 1, 12))).toBe(HOUR / 2);
  });
});
