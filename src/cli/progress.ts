/**
 * Progress of long CLI work (hashing, diffing, downloading). On a terminal: one bar,
 * redrawn in place with \r at most 10 times a second. Anywhere else (CI logs, pipes,
 * files): no control characters at all, only a plain line now and then, and none for
 * work that ends within a few seconds, so a log gets a heartbeat, not a flood.
 *
 * @module
 */
import { formatBytes } from './format.js';

export interface ProgressSink {
  /** A terminal: draw a bar. */
  readonly tty: boolean;
  write(text: string): void;
}

export interface ProgressTiming {
  /** Least time between two redraws of the bar, ms. */
  readonly redrawMs: number;
  /** Plain mode: no line before a task has run this long, ms. */
  readonly plainAfterMs: number;
  /** Plain mode: least time between two lines, ms. */
  readonly plainEveryMs: number;
}

export const DEFAULT_TIMING: ProgressTiming = { redrawMs: 100, plainAfterMs: 2000, plainEveryMs: 5000 };

const BAR_WIDTH = 24;
const CLEAR = '\r\x1b[2K';

export class ProgressView {
  readonly #sink: ProgressSink;
  readonly #now: () => number;
  readonly #timing: ProgressTiming;
  #label: string | null = null;
  #startedAt = 0;
  #lastAt = -Infinity;
  /** A bar is on screen (tty) or a line was printed for this task (plain). */
  #shown = false;
  #last: { done: number; total: number; extra: string } | null = null;

  constructor(sink: ProgressSink, now: () => number = Date.now, timing: ProgressTiming = DEFAULT_TIMING) {
    this.#sink = sink;
    this.#now = now;
    this.#timing = timing;
  }

  update(label: string, done: number, total: number, extra = ''): void {
    const now = this.#now();
    if (label !== this.#label) {
      this.end();
      this.#label = label;
      this.#startedAt = now;
      this.#lastAt = -Infinity;
    }
    this.#last = { done, total, extra };
    if (this.#sink.tty) {
      // Always draw the first and the last state; in between, at most every redrawMs.
      if (now - this.#lastAt < this.#timing.redrawMs && done < total) return;
      this.#lastAt = now;
      this.#sink.write(CLEAR + bar(label, done, total, extra));
      this.#shown = true;
      return;
    }
    if (now - this.#startedAt < this.#timing.plainAfterMs || now - this.#lastAt < this.#timing.plainEveryMs) return;
    this.#lastAt = now;
    this.#sink.write(`${plain(label, done, total, extra)}\n`);
    this.#shown = true;
  }

  /** The task is over: the bar is wiped; in plain mode a task that printed lines gets a last one. */
  end(): void {
    if (this.#shown) {
      if (this.#sink.tty) this.#sink.write(CLEAR);
      else if (this.#label && this.#last) this.#sink.write(`${plain(this.#label, this.#last.total, this.#last.total, '')} done\n`);
    }
    this.#shown = false;
    this.#label = null;
    this.#last = null;
  }

  /** Makes room for another line (a note) without ending the task. */
  clearLine(): void {
    if (this.#shown && this.#sink.tty) {
      this.#sink.write(CLEAR);
      this.#lastAt = -Infinity; // redraw at the next update
    }
  }
}

function percent(done: number, total: number): number {
  return total <= 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
}

function bar(label: string, done: number, total: number, extra: string): string {
  const filled = Math.round((percent(done, total) / 100) * BAR_WIDTH);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(percent(done, total)).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)}${extra ? ` ${extra}` : ''}`;
}

function plain(label: string, done: number, total: number, extra: string): string {
  return `${label}: ${formatBytes(done)} / ${formatBytes(total)} (${percent(done, total)}%)${extra ? ` ${extra}` : ''}`;
}
