/**
 * Download progress for UIs: bytes done of total, a smoothed rate and an ETA, emitted
 * at most every 100 ms (plus once at the end) so a fast download cannot flood a UI.
 *
 * @module
 */
import type { Clock } from '../io/clock.js';
import type { DownloadProgress } from '../events.js';

export class ProgressMeter {
  readonly #clock: Clock;
  readonly #emit: (p: DownloadProgress) => void;
  readonly #total: number;
  readonly #intervalMs: number;
  #transferred = 0;
  #rate = 0;
  #lastSampleAt: number;
  #lastSampleBytes = 0;
  #lastEmitAt = -Infinity;

  constructor(clock: Clock, total: number, emit: (p: DownloadProgress) => void, intervalMs = 100) {
    this.#clock = clock;
    this.#total = total;
    this.#emit = emit;
    this.#intervalMs = intervalMs;
    this.#lastSampleAt = clock.now();
  }

  get transferred(): number {
    return this.#transferred;
  }

  add(bytes: number): void {
    this.#transferred += bytes;
    const now = this.#clock.now();
    const elapsed = now - this.#lastSampleAt;
    if (elapsed >= this.#intervalMs) {
      const instant = ((this.#transferred - this.#lastSampleBytes) * 1000) / elapsed;
      // Exponential smoothing over roughly the last second.
      this.#rate = this.#rate === 0 ? instant : this.#rate * 0.7 + instant * 0.3;
      this.#lastSampleAt = now;
      this.#lastSampleBytes = this.#transferred;
    }
    if (now - this.#lastEmitAt >= this.#intervalMs) {
      this.#lastEmitAt = now;
      this.#emit(this.snapshot());
    }
  }

  /** Emits the final state. */
  finish(): void {
    this.#emit(this.snapshot());
  }

  snapshot(): DownloadProgress {
    const left = Math.max(0, this.#total - this.#transferred);
    return {
      total: this.#total,
      transferred: this.#transferred,
      percent: this.#total === 0 ? 100 : Math.min(100, (this.#transferred / this.#total) * 100),
      bytesPerSecond: Math.round(this.#rate),
      etaSeconds: this.#rate > 0 ? left / this.#rate : left === 0 ? 0 : null,
    };
  }
}
