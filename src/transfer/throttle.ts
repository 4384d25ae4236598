/**
 * One token bucket shared by every connection of an updater. The rate can change at
 * run time (0 = unlimited) and pause() holds every connection; waiters wake at least
 * every 50 ms to see such changes, so they take effect within 100 ms.
 *
 * The bucket holds at most 1/20 s of tokens, so a burst after an idle spell cannot
 * push any 1-second window much above the cap.
 *
 * @module
 */
import type { Clock } from '../io/clock.js';

const WAKE_MS = 50;

export class Throttle {
  readonly #clock: Clock;
  #rate: number;
  #tokens = 0;
  #last: number;
  #paused = false;

  constructor(clock: Clock, bytesPerSecond = 0) {
    this.#clock = clock;
    this.#rate = Throttle.check(bytesPerSecond);
    this.#last = clock.now();
  }

  static check(bytesPerSecond: number): number {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) throw new RangeError('bytes per second must be 0 (unlimited) or more');
    return Math.floor(bytesPerSecond);
  }

  get rate(): number {
    return this.#rate;
  }

  get paused(): boolean {
    return this.#paused;
  }

  setRate(bytesPerSecond: number): void {
    this.#refill();
    this.#rate = Throttle.check(bytesPerSecond);
    this.#tokens = Math.min(this.#tokens, this.#capacity());
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#last = this.#clock.now();
  }

  /** Lets `bytes` pass now when `take` would not wait; false (nothing taken) when it would. */
  tryTake(bytes: number): boolean {
    if (this.#paused) return false;
    if (this.#rate === 0) return true;
    this.#refill();
    if (this.#tokens < 0) return false;
    this.#tokens -= bytes;
    return true;
  }

  /** Waits until `bytes` may pass. The debt model lets one large piece through, then makes everyone wait it off. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.#paused) {
        await this.#clock.sleep(WAKE_MS, signal);
        continue;
      }
      if (this.#rate === 0) return;
      this.#refill();
      if (this.#tokens >= 0) {
        this.#tokens -= bytes;
        return;
      }
      const waitMs = Math.ceil((-this.#tokens / this.#rate) * 1000);
      await this.#clock.sleep(Math.min(WAKE_MS, Math.max(1, waitMs)), signal);
    }
  }

  #capacity(): number {
    return Math.max(16 * 1024, this.#rate / 20);
  }

  #refill(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    if (this.#rate > 0) this.#tokens = Math.min(this.#capacity(), this.#tokens + (elapsed / 1000) * this.#rate);
  }
}
