/**
 * The Updater: the one orchestrator. It sequences the flow steps (flow/), holds the
 * in-process phase (lifecycle.ts), the root lock and the typed events. Decisions are
 * made by the pure modules; every byte of I/O goes through the injected boundaries.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { UpdateError, isUpdateError } from './errors.js';
import type { UpdateInfo, UpdaterEvents } from './events.js';
import { type CheckOutcome, checkForUpdate } from './flow/check.js';
import { type Emit, type FlowContext, createFlowContext, loadConfig } from './flow/context.js';
import { stageRelease } from './flow/download.js';
import { type ConfirmResult, confirmTrial, revert, switchToUpdate } from './flow/switch.js';
import { systemClock } from './io/clock.js';
import { nodeFileSystem } from './io/file-system.js';
import { Throttle } from './transfer/throttle.js';
import { type ResolvedConfig, type UpdaterOptions, checkOptions } from './options.js';
import { BUSY, type Phase, type PhaseEvent, nextPhase } from './lifecycle.js';
import type { NotAvailableReason } from './policy/eligibility.js';
import { loadJournal, requireJournal } from './slots/journal-store.js';
import { type RootLayout, rootLayout } from './slots/layout.js';
import { type RootLock, lockRoot } from './slots/lock.js';
import { type Journal, type SlotName, type SlotStatus, otherSlot } from './slots/state-file.js';
import { writableSlot } from './slots/transitions.js';

/** What `checkForUpdates()` resolves to. */
export interface CheckResult {
  readonly available: boolean;
  /** The release on offer, when available. */
  readonly release: UpdateInfo | null;
  /** Why nothing is available, when not. */
  readonly reason: NotAvailableReason | null;
}

/** What `installUpdate()` resolves to. */
export interface InstallResult {
  readonly version: string;
  readonly slot: SlotName;
  /** Restart the app (through the launcher) to run the new slot. */
  readonly restartRequired: boolean;
}

/** What `status()` resolves to: the slot journal, for UIs and `twinslot status`. */
export interface UpdaterStatus {
  readonly installRoot: string;
  readonly installed: boolean;
  readonly phase: Phase;
  readonly active: SlotName | null;
  readonly activeVersion: string | null;
  readonly previous: SlotName | null;
  readonly previousVersion: string | null;
  readonly trial: boolean;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly slots: Readonly<Record<SlotName, { readonly version: string | null; readonly status: SlotStatus }>>;
  readonly bad: readonly string[];
}

export type { ConfirmResult };

/**
 * Keeps an app up to date from a signed feed, with A/B slots and automatic revert.
 *
 * @example
 * ```ts
 * const updater = new Updater({ installRoot, appId: 'com.example.app', feedUrl, trustedKeys: [pub] });
 * await updater.confirmStartup();            // at every start
 * updater.on('download-progress', (p) => bar.set(p.percent));
 * const { available } = await updater.checkForUpdates();
 * if (available) { await updater.downloadUpdate(); await updater.installUpdate(); relaunch(); }
 * ```
 */
export class Updater {
  readonly #options: UpdaterOptions;
  readonly #layout: RootLayout;
  readonly #events = new EventEmitter();
  #phase: Phase = 'idle';
  #config: ResolvedConfig | null = null;
  #checked: CheckOutcome | null = null;
  #lock: RootLock | null = null;
  readonly #throttle: Throttle;

  constructor(options: UpdaterOptions) {
    if (typeof options !== 'object' || options === null) throw new UpdateError('INVALID_OPTIONS', 'new Updater() needs an options object');
    checkOptions(options, 'new Updater()');
    if (typeof options.installRoot !== 'string') throw new UpdateError('INVALID_OPTIONS', 'new Updater(): installRoot is required');
    this.#options = options;
    this.#layout = rootLayout(options.installRoot);
    this.#throttle = new Throttle(options.clock ?? systemClock, options.maxBytesPerSecond ?? 0);
  }

  /** Caps the download rate of every connection together, in bytes per second; 0 = unlimited. Applies within 100 ms, also mid-download. */
  setThrottle(bytesPerSecond: number): void {
    if (!Number.isSafeInteger(bytesPerSecond) || bytesPerSecond < 0) {
      throw new UpdateError('INVALID_OPTIONS', 'setThrottle() takes 0 (unlimited) or a positive whole number of bytes per second');
    }
    this.#throttle.setRate(bytesPerSecond);
  }

  /** Holds every download connection until {@link resume}. */
  pause(): void {
    this.#throttle.pause();
  }

  resume(): void {
    this.#throttle.resume();
  }

  /** Listens to a lifecycle event. */
  on<K extends keyof UpdaterEvents>(event: K, listener: (...args: UpdaterEvents[K]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof UpdaterEvents>(event: K, listener: (...args: UpdaterEvents[K]) => void): this {
    this.#events.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof UpdaterEvents>(event: K, listener: (...args: UpdaterEvents[K]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Checks the channel. Resolves `{ available, release, reason }`; rejects with an UpdateError. */
  async checkForUpdates(options: { signal?: AbortSignal } = {}): Promise<CheckResult> {
    return this.#step<CheckResult>('check', async (ctx) => {
      this.#emit('checking-for-update');
      const journal = await loadJournal(ctx.fs, ctx.layout);
      const outcome = await checkForUpdate(ctx, { signal: options.signal, journal });
      this.#checked = outcome;
      if (outcome.info) {
        this.#emit('update-available', outcome.info);
        const staged = journal && !journal.trial ? journal.slots[otherSlot(journal.active)] : null;
        const event: PhaseEvent = staged?.status === 'staged' && staged.version === outcome.info.version ? 'found-staged' : 'found';
        return [event, { available: true, release: outcome.info, reason: null }];
      }
      this.#emit('update-not-available', outcome.notAvailable!);
      return ['none', { available: false, release: null, reason: outcome.notAvailable!.reason }];
    });
  }

  /** Downloads, verifies and stages the checked release into the inactive slot. */
  async downloadUpdate(options: { signal?: AbortSignal } = {}): Promise<UpdateInfo> {
    if (this.#phase === 'idle' || !this.#checked?.info) {
      const check = await this.checkForUpdates(options);
      if (!check.available) throw new UpdateError('INVALID_STATE', `no update to download (${check.reason})`);
    }
    if (this.#phase === 'downloaded') return this.#checked!.info!;
    return this.#step('download', async (ctx) => {
      const checked = this.#checked!;
      const info = checked.info!;
      if (!info.critical && this.#options.confirmDownload && !(await this.#options.confirmDownload(info))) {
        throw new UpdateError('ABORTED', `the download of ${info.version} was declined`);
      }
      const journal = await requireJournal(ctx.fs, ctx.layout);
      const slot = writableSlot(journal);
      const fullUpdate = checked.decision.available && checked.decision.fullUpdate;
      await stageRelease(ctx, journal, slot, checked.release!, { signal: options.signal, fullUpdate });
      this.#emit('update-downloaded', info);
      return ['downloaded', info];
    });
  }

  /** Re-checks the staged slot, runs pre-switch probes and switches to it on trial. */
  async installUpdate(): Promise<InstallResult> {
    return this.#step('install', async (ctx) => {
      const info = this.#checked?.info ?? null;
      if (info) {
        this.#emit('installing', info);
        if (!info.critical && this.#options.confirmInstall && !(await this.#options.confirmInstall(info))) {
          throw new UpdateError('ABORTED', `the install of ${info.version} was declined`);
        }
      }
      const { slot, manifest } = await switchToUpdate(ctx, info);
      const shown: UpdateInfo = info ?? {
        version: manifest.version,
        channel: ctx.config.channel,
        platform: manifest.platform,
        critical: false,
        size: manifest.pack.size,
        files: manifest.files.length,
        releaseDate: new Date(manifest.created).toISOString(),
        currentVersion: null,
      };
      this.#emit('installed', { ...shown, slot, restartRequired: true });
      return ['installed', { version: manifest.version, slot, restartRequired: true }];
    });
  }

  /**
   * Call at every start of the app. While a trial is pending it runs the post-start
   * probes and commits the slot, or reverts to the previous one (then restart the app).
   */
  async confirmStartup(): Promise<ConfirmResult> {
    return this.#step('confirm', async (ctx) => ['confirmed', await confirmTrial(ctx)]);
  }

  /** Goes back to the previous slot and marks the current release bad. */
  async rollback(): Promise<ConfirmResult> {
    return this.#step('rollback', async (ctx) => {
      const journal = await requireJournal(ctx.fs, ctx.layout);
      return ['rolled-back', await revert(ctx, journal, 'manual', [])];
    });
  }

  /** The slot journal, read without taking the lock. */
  async status(): Promise<UpdaterStatus> {
    const fs = this.#options.fs ?? nodeFileSystem;
    return describeJournal(this.#layout.root, this.#phase, await loadJournal(fs, this.#layout));
  }

  /** Runs one lifecycle step under the phase table and the root lock. */
  async #step<T>(event: PhaseEvent, body: (ctx: FlowContext) => Promise<[PhaseEvent, T]>): Promise<T> {
    const from = this.#phase;
    this.#phase = nextPhase(from, event);
    try {
      const ctx = await this.#context();
      this.#lock = await lockRoot(ctx.layout);
      try {
        const [done, value] = await body(ctx);
        this.#phase = nextPhase(this.#phase, done);
        return value;
      } finally {
        const lock = this.#lock;
        this.#lock = null;
        await lock.release();
      }
    } catch (err) {
      if (BUSY.has(this.#phase)) this.#phase = nextPhase(this.#phase, 'fail');
      const error = isUpdateError(err) ? err : new UpdateError('IO', err instanceof Error ? err.message : String(err), { cause: err });
      if (this.#events.listenerCount('error') > 0) this.#emit('error', error);
      throw error;
    }
  }

  async #context(): Promise<FlowContext> {
    this.#config ??= await loadConfig(this.#options, this.#layout);
    return createFlowContext(this.#options, this.#layout, this.#config, this.#emit, this.#throttle);
  }

  readonly #emit: Emit = (event, ...args) => {
    this.#events.emit(event, ...args);
  };
}

/** The public view of a journal. */
export function describeJournal(installRoot: string, phase: Phase, journal: Journal | null): UpdaterStatus {
  if (!journal) {
    return {
      installRoot,
      installed: false,
      phase,
      active: null,
      activeVersion: null,
      previous: null,
      previousVersion: null,
      trial: false,
      attempts: 0,
      maxAttempts: 0,
      slots: { a: { version: null, status: 'empty' }, b: { version: null, status: 'empty' } },
      bad: [],
    };
  }
  return {
    installRoot,
    installed: true,
    phase,
    active: journal.active,
    activeVersion: journal.slots[journal.active].version,
    previous: journal.previous,
    previousVersion: journal.previous ? journal.slots[journal.previous].version : null,
    trial: journal.trial,
    attempts: journal.attempts,
    maxAttempts: journal.maxAttempts,
    slots: {
      a: { version: journal.slots.a.version, status: journal.slots.a.status },
      b: { version: journal.slots.b.version, status: journal.slots.b.status },
    },
    bad: journal.bad,
  };
}
