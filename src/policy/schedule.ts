/**
 * When the next automatic check happens. Pure: time and randomness come in as
 * arguments.
 *
 * A fleet that polls on a fixed interval synchronises (every install started by the
 * same power cut or the same morning checks at the same second), so every delay is
 * jittered: uniform in [interval * (1 - jitter), interval * (1 + jitter)], which keeps
 * the mean rate and, at jitter 1, spreads the fleet over twice the interval. After
 * errors the interval doubles per consecutive error up to `maxBackoffMs`, with full
 * jitter (uniform in [0, backoff]) so a recovering origin is not hit by a wave. The
 * server's Cache-Control max-age is a floor, and a check that would fall in a quiet
 * window moves to the window's end (plus jitter).
 *
 * @module
 */

/** A daily window, in minutes after local midnight; `from > to` wraps past midnight. */
export interface QuietWindow {
  readonly from: number;
  readonly to: number;
}

export interface ScheduleSettings {
  readonly intervalMs: number;
  /** 0..1, default 1. */
  readonly jitter: number;
  readonly maxBackoffMs: number;
  readonly quiet: readonly QuietWindow[];
}

export interface ScheduleFacts {
  readonly now: number;
  /** Checks that failed in a row. */
  readonly errors: number;
  /** The server asked not to be asked again before this long after the last answer. */
  readonly maxAgeMs: number | null;
  /** A uniform random number in [0, 1). */
  readonly random: number;
  /** Minutes after local midnight of an epoch time (injected: time zones are I/O). */
  readonly minuteOfDay: (epochMs: number) => number;
}

/** Parses `"22:00-06:30"` into a quiet window. */
export function parseQuietWindow(text: string): QuietWindow {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!m) throw new RangeError(`a quiet window is "HH:MM-HH:MM", got ${JSON.stringify(text)}`);
  return { from: Number(m[1]) * 60 + Number(m[2]), to: Number(m[3]) * 60 + Number(m[4]) };
}

function inWindow(minute: number, w: QuietWindow): boolean {
  return w.from <= w.to ? minute >= w.from && minute < w.to : minute >= w.from || minute < w.to;
}

/** Milliseconds until the next check. */
export function nextCheckDelay(s: ScheduleSettings, f: ScheduleFacts): number {
  let delay: number;
  if (f.errors > 0) {
    const backoff = Math.min(s.maxBackoffMs, s.intervalMs * 2 ** Math.min(f.errors - 1, 30));
    delay = Math.max(1000, f.random * backoff);
  } else {
    delay = s.intervalMs * (1 - s.jitter + 2 * s.jitter * f.random);
  }
  if (f.maxAgeMs !== null) delay = Math.max(delay, f.maxAgeMs);
  return leaveQuiet(s, f, delay);
}

/**
 * Milliseconds until the first check after automatic updates start. It is drawn from
 * the steady-state spread of the later delays (uniform over the fixed part of the
 * interval, a falling ramp over the jittered part), so a fleet started together (a
 * power cut, a morning boot) is spread evenly from the first hour on. A start inside
 * a quiet window (a device rebooted at night) waits for the window's end like any
 * other check.
 */
export function firstCheckDelay(s: ScheduleSettings, f: Pick<ScheduleFacts, 'now' | 'random' | 'minuteOfDay'>): number {
  const a = s.intervalMs * (1 - s.jitter);
  const b = s.intervalMs * (1 + s.jitter);
  const u = f.random;
  const delay = u * s.intervalMs < a ? u * s.intervalMs : b - Math.sqrt(2 * s.intervalMs * (b - a) * (1 - u));
  return leaveQuiet(s, f, delay);
}

/** Moves a check due in `delay` ms out of the quiet windows, adding jitter when it moved. */
function leaveQuiet(s: ScheduleSettings, f: Pick<ScheduleFacts, 'now' | 'random' | 'minuteOfDay'>, delay: number): number {
  // Step forward a minute at a time (at most a day).
  let at = f.now + delay;
  for (let guard = 0; guard < 1440 && s.quiet.some((w) => inWindow(f.minuteOfDay(at), w)); guard++) at += 60_000;
  if (at !== f.now + delay) at += f.random * Math.min(s.intervalMs, 15 * 60_000) * s.jitter;
  return Math.round(at - f.now);
}
