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
import { type ChannelCache, type CheckOutcome, checkForUpdate, emptyChannelCache, recheckDuringDownload } from './flow/check.js';
import { type Emit, type FlowContext, createFlowContext, loadConfig } from './flow/context.js';
import { stageRelease } from './flow/download.js';
import { type ConfirmResult, confirmTrial, revert, switchToUpdate } from './flow/switch.js';
import { type QuietWindow, type ScheduleSettings, firstCheckDelay, nextCheckDelay, parseQuietWindow } from './policy/schedule.js';
import { systemClock, systemRandom } from './io/clock.js';
import { nodeFileSystem } from './io/file-system.js';
import { Throttle } from './transfer/throttle.js';
import { type ResolvedConfig, type UpdaterOptions, checkOptions } from './options.js';
import { BUSY, type Phase, type PhaseEvent, nextPhase } from './lifecycle.js';
import { type NotAvailableReason, holdNewRelease } from './policy/eligibility.js';
import { loadJournal, peekJournal, requireJournal } from './slots/journal-store.js';
import { type RootLayout, rootLayout } from './slots/layout.js';
import { type RootLock, lockRoot } from './slots/lock.js';
import { type Journal, type SlotName, type SlotStatus, otherSlot } from './slots/state-file.js';
import { writableSlot } from './slots/transitions.js';
import { Observer } from './observe/observer.js';
import type { AttemptKind } from './observe/report.js';

/** What `checkForUpdates()` resolves to. */
export interface CheckResult {
  /** True when a release is on offer for this install. */
  readonly available: boolean;
  /** The release on offer, when available. */
  readonly release: UpdateInfo | null;
  /** Why nothing is available, when not. */
  readonly reason: NotAvailableReason | null;
  /**
   * The running release was revoked by the channel and the check already reverted to
   * the previous slot (a `rolled-back` event with reason `revoked` was emitted):
   * restart the app through the launcher.
   */
  readonly restartRequired?: true;
}

/** Options of {@link Updater.startAutoUpdate}. */
export interface AutoUpdateOptions {
  /** Mean time between checks, ms (default 4 hours, at least 1 000). */
  readonly intervalMs?: number;
  /** 0..1 (default 1): each delay is uniform in interval x [1 - jitter, 1 + jitter]; the first spreads a fleet started together evenly. */
  readonly jitter?: number;
  /** Longest wait after repeated errors, ms (default 24 hours). */
  readonly maxBackoffMs?: number;
  /** Daily windows without checks, local time, e.g. `["22:00-06:30"]`. */
  readonly quietHours?: readonly string[];
  /** Download what a check finds (default true); installing stays the app's call (`update-downloaded`). */
  readonly autoDownload?: boolean;
  /**
   * Checks in a row that must offer a new release before it is fetched (default 2,
   * 1 = at once; at most 10). The operator gets one interval to halt a bad release
   * before the fleet fetches it, and the fetches after a rollout step spread out.
   * Critical releases and the app's own `checkForUpdates()` calls never wait.
   */
  readonly confirmChecks?: number;
}

/** What `installUpdate()` resolves to. */
export interface InstallResult {
  /** The version switched to (on trial until `confirmStartup()` commits it). */
  readonly version: string;
  /** The slot it is in, now active. */
  readonly slot: SlotName;
  /** Restart the app (through the launcher) to run the new slot. */
  readonly restartRequired: boolean;
}

/** What `status()` resolves to: the slot journal, for UIs and `twinslot status`. */
export interface UpdaterStatus {
  /** The install root. */
  readonly installRoot: string;
  /** False until a first install wrote the slot journal. */
  readonly installed: boolean;
  /** What this Updater is doing right now. */
  readonly phase: Phase;
  /** The slot the launcher starts. */
  readonly active: SlotName | null;
  /** The version in it. */
  readonly activeVersion: string | null;
  /** The slot a revert goes back to. */
  readonly previous: SlotName | null;
  /** The version in it. */
  readonly previousVersion: string | null;
  /** True while the active slot is on trial (switched to, not yet committed). */
  readonly trial: boolean;
  /** Trial starts counted so far. */
  readonly attempts: number;
  /** Trial starts allowed before the launcher reverts. */
  readonly maxAttempts: number;
  /** Each slot's version and status. */
  readonly slots: Readonly<Record<SlotName, {
    /** The version in the slot, null when empty. */
    readonly version: string | null;
    /** Where the slot is in its life. */
    readonly status: SlotStatus;
  }>>;
  /** Versions this install reverted from; they are not offered again. */
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
  readonly #observer: Observer;
  readonly #channelCache: ChannelCache = emptyChannelCache();
  #auto: { readonly controller: AbortController; readonly done: Promise<void>; readonly settings: ScheduleSettings } | null = null;
  #channel: { readonly name: string; readonly allowDowngrade: boolean } | null = null;
  /** The release automatic checks have offered so far, and how many times in a row. */
  #sighting: { readonly version: string; readonly count: number } | null = null;

  /**
   * Checks the options and does no I/O: `<root>/twinslot.json` is read, and merged
   * under these options, by the first operation.
   *
   * @throws {@link UpdateError} `INVALID_OPTIONS` when an option is malformed.
   */
  constructor(options: UpdaterOptions) {
    if (typeof options !== 'object' || options === null) throw new UpdateError('INVALID_OPTIONS', 'new Updater() needs an options object');
    checkOptions(options, 'new Updater()');
    if (typeof options.installRoot !== 'string') throw new UpdateError('INVALID_OPTIONS', 'new Updater(): installRoot is required');
    this.#options = options;
    this.#layout = rootLayout(options.installRoot);
    this.#throttle = new Throttle(options.clock ?? systemClock, options.maxBytesPerSecond ?? 0);
    this.#observer = new Observer(options.installRoot, options.logger, options.report, options.clock ?? systemClock);
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

  /** Lets downloads paused by {@link pause} continue where they stopped. */
  resume(): void {
    this.#throttle.resume();
  }

  /** Listens to a lifecycle event. */
  on<K extends keyof UpdaterEvents>(event: K, listener: (...args: UpdaterEvents[K]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Listens to the next occurrence of a lifecycle event only. */
  once<K extends keyof UpdaterEvents>(event: K, listener: (...args: UpdaterEvents[K]) => void): this {
    this.#events.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Removes a listener added with {@link on} or {@link once}. */
  off<K extends keyof UpdaterEvents>(event: K, listener: (...args: UpdaterEvents[K]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /**
   * Checks (and downloads) in the background until {@link stopAutoUpdate}: jittered
   * intervals so a fleet never polls in step, exponential backoff with full jitter
   * after errors, the server's Cache-Control max-age respected, no checks in quiet
   * hours. Checks are conditional (If-None-Match): an unchanged channel costs a 304
   * and no signature check. Errors are reported through the `error` event.
   */
  startAutoUpdate(options: AutoUpdateOptions = {}): void {
    const intervalMs = options.intervalMs ?? 4 * 3_600_000;
    const jitter = options.jitter ?? 1;
    const maxBackoffMs = options.maxBackoffMs ?? 24 * 3_600_000;
    if (!Number.isFinite(intervalMs) || intervalMs < 1000) throw new UpdateError('INVALID_OPTIONS', 'startAutoUpdate: intervalMs must be at least 1000');
    if (!(jitter >= 0 && jitter <= 1)) throw new UpdateError('INVALID_OPTIONS', 'startAutoUpdate: jitter must be from 0 to 1');
    if (!(maxBackoffMs >= intervalMs)) throw new UpdateError('INVALID_OPTIONS', 'startAutoUpdate: maxBackoffMs must be at least intervalMs');
    const confirmChecks = options.confirmChecks ?? 2;
    if (!Number.isInteger(confirmChecks) || confirmChecks < 1 || confirmChecks > 10) {
      throw new UpdateError('INVALID_OPTIONS', 'startAutoUpdate: confirmChecks must be a whole number from 1 to 10');
    }
    let quiet: QuietWindow[];
    try {
      quiet = (options.quietHours ?? []).map(parseQuietWindow);
    } catch (err) {
      throw new UpdateError('INVALID_OPTIONS', `startAutoUpdate: ${(err as Error).message}`);
    }
    void this.stopAutoUpdate();
    const controller = new AbortController();
    const clock = this.#options.clock ?? systemClock;
    const random = (): number => this.#uniform();
    const settings: ScheduleSettings = { intervalMs, jitter, maxBackoffMs, quiet };
    const loop = async (): Promise<void> => {
      let errors = 0;
      let delay = firstCheckDelay(settings, { now: clock.now(), random: random(), minuteOfDay });
      for (;;) {
        try {
          await clock.sleep(delay, controller.signal);
        } catch {
          return;
        }
        if (controller.signal.aborted) return;
        try {
          const result = await this.#check({ signal: controller.signal, confirmChecks });
          if (result.available && options.autoDownload !== false && this.#phase === 'available') await this.downloadUpdate({ signal: controller.signal });
          errors = 0;
        } catch (err) {
          if (controller.signal.aborted) return;
          // Another call of the app's own was running, or the operator stopped the
          // download: not the origin's fault, no backoff.
          const benign = err instanceof UpdateError && (err.code === 'INVALID_STATE' || (err.code === 'ABORTED' && err.details.channel !== undefined));
          if (!benign) errors++;
        }
        delay = nextCheckDelay(settings, { now: clock.now(), errors, maxAgeMs: this.#channelCache.maxAgeMs, random: random(), minuteOfDay });
      }
    };
    this.#auto = { controller, done: loop(), settings };
  }

  /** Stops {@link startAutoUpdate}; resolves when a check or download in progress has stopped. */
  async stopAutoUpdate(): Promise<void> {
    const auto = this.#auto;
    if (!auto) return;
    this.#auto = null;
    auto.controller.abort(new UpdateError('ABORTED', 'automatic updates were stopped'));
    await auto.done;
  }

  /**
   * Follows another channel from the next check on (`beta` -> `stable`, ...). Moving
   * to a channel whose release is older than the running one never downgrades unless
   * `allowDowngrade` is set here or in the options. A release already found or staged
   * from the old channel is forgotten; nothing on disk changes until the next update.
   */
  setChannel(name: string, options: { allowDowngrade?: boolean } = {}): void {
    checkOptions({ installRoot: this.#layout.root, channel: name }, 'setChannel()');
    this.#move(nextPhase(this.#phase, 'forget'), 'forget'); // refuses while busy
    this.#channel = { name, allowDowngrade: options.allowDowngrade ?? this.#options.allowDowngrade ?? false };
    this.#checked = null;
    this.#sighting = null;
  }

  /**
   * Checks the channel. Resolves `{ available, release, reason }`; rejects with an
   * UpdateError. `ignoreRollout` is for a user's explicit "check now": the newest
   * release is offered even outside this install's rollout percentage (never while
   * the channel is halted, never a revoked or bad release).
   */
  async checkForUpdates(options: { signal?: AbortSignal; ignoreRollout?: boolean } = {}): Promise<CheckResult> {
    return this.#check(options);
  }

  /** A check; automatic ones (`confirmChecks`) wait for repeated sightings of a new release. */
  async #check(options: { signal?: AbortSignal | undefined; ignoreRollout?: boolean; confirmChecks?: number }): Promise<CheckResult> {
    return this.#step<CheckResult>('check', async (ctx) => {
      this.#emit('checking-for-update');
      const journal = await loadJournal(ctx.fs, ctx.layout);
      // A release already staged in the inactive slot (not the slot on trial) needs no download.
      const inactive = journal && !journal.trial ? journal.slots[otherSlot(journal.active)] : null;
      const stagedVersion = inactive?.status === 'staged' ? inactive.version : null;
      const confirmChecks = options.confirmChecks;
      const hold =
        confirmChecks === undefined
          ? undefined
          : (offer: { version: string; critical: boolean }): boolean => {
              const count = this.#sighting?.version === offer.version ? this.#sighting.count + 1 : 1;
              this.#sighting = { version: offer.version, count };
              return offer.version !== stagedVersion && holdNewRelease(count, confirmChecks, offer.critical);
            };
      const outcome = await checkForUpdate(ctx, { signal: options.signal, journal, cache: this.#channelCache, skipRollout: options.ignoreRollout === true, hold });
      // Sightings count checks in a row: anything but an offer or a deferral starts over.
      if (!outcome.info && outcome.notAvailable?.reason !== 'deferred') this.#sighting = null;
      this.#checked = outcome;
      // The running release was revoked: go back to the previous slot now, without a download.
      const running = journal ? journal.slots[journal.active].version : null;
      const previous = journal?.previous ? journal.slots[journal.previous] : null;
      if (journal && running && outcome.doc.revoked.includes(running) && previous?.status === 'good' && previous.version && !outcome.doc.revoked.includes(previous.version)) {
        await revert(ctx, journal, 'revoked', []);
        this.#checked = null;
        this.#emit('update-not-available', { reason: 'revoked', version: running, currentVersion: previous.version });
        return ['none', { available: false, release: null, reason: 'revoked', restartRequired: true }];
      }
      if (outcome.info) {
        this.#emit('update-available', outcome.info);
        const event: PhaseEvent = stagedVersion === outcome.info.version ? 'found-staged' : 'found';
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
      const watch = this.#watchChannel(ctx, journal, info.version, options.signal);
      try {
        await stageRelease(ctx, journal, slot, checked.release!, { signal: watch.signal, fullUpdate });
      } catch (err) {
        throw watch.stopped ?? err;
      } finally {
        watch.stop();
      }
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

  /** The slot journal, read without taking the lock (and so without touching a save in progress). */
  async status(): Promise<UpdaterStatus> {
    const fs = this.#options.fs ?? nodeFileSystem;
    return describeJournal(this.#layout.root, this.#phase, await peekJournal(fs, this.#layout));
  }

  /**
   * While automatic updates run, a download keeps checking the channel on their
   * schedule (conditional, so mostly 304s): a halt or a revoke of the version being
   * fetched stops it at the next check, with the verified chunks kept for a resume.
   */
  #watchChannel(ctx: FlowContext, journal: Journal, version: string, outer: AbortSignal | undefined): { signal: AbortSignal; stopped: UpdateError | null; stop(): void } {
    const stopper = new AbortController();
    const ended = new AbortController();
    const watch = {
      signal: outer ? AbortSignal.any([outer, stopper.signal]) : stopper.signal,
      stopped: null as UpdateError | null,
      stop: (): void => ended.abort(),
    };
    const settings = this.#auto?.settings;
    if (!settings) return watch;
    const poll = async (): Promise<void> => {
      while (!ended.signal.aborted && !watch.signal.aborted) {
        const delay = nextCheckDelay(settings, { now: ctx.clock.now(), errors: 0, maxAgeMs: this.#channelCache.maxAgeMs, random: this.#uniform(), minuteOfDay });
        await ctx.clock.sleep(delay, ended.signal);
        if (ended.signal.aborted) return;
        const reason = await recheckDuringDownload(ctx, journal, version, this.#channelCache, ended.signal);
        if (reason) {
          watch.stopped = new UpdateError('ABORTED', `the download of ${version} stopped: the channel ${reason === 'halted' ? 'halted the rollout' : `revoked ${version}`}`, {
            details: { channel: reason, version },
          });
          stopper.abort(watch.stopped);
          return;
        }
      }
    };
    // A failed check does not stop a download that is going well.
    void poll().catch(() => undefined);
    return watch;
  }

  #uniform(): number {
    return Buffer.from((this.#options.random ?? systemRandom)(4)).readUInt32LE(0) / 2 ** 32;
  }

  /** Runs one lifecycle step under the phase table and the root lock. */
  async #step<T>(event: PhaseEvent & AttemptKind, body: (ctx: FlowContext) => Promise<[PhaseEvent, T]>): Promise<T> {
    this.#move(nextPhase(this.#phase, event), event);
    // A download or install continues what the last check found.
    const known = event === 'download' || event === 'install' ? this.#checked?.info : null;
    this.#observer.begin(event, { fromVersion: known?.currentVersion ?? null, toVersion: known?.version ?? null });
    let value: T;
    try {
      const ctx = await this.#context();
      this.#lock = await lockRoot(ctx.layout);
      try {
        const [done, result] = await body(ctx);
        this.#move(nextPhase(this.#phase, done), done);
        value = result;
      } finally {
        const lock = this.#lock;
        this.#lock = null;
        await lock.release();
      }
    } catch (err) {
      if (BUSY.has(this.#phase)) this.#move(nextPhase(this.#phase, 'fail'), 'fail');
      const error = isUpdateError(err) ? err : new UpdateError('IO', err instanceof Error ? err.message : String(err), { cause: err });
      this.#observer.end({ error });
      if (this.#events.listenerCount('error') > 0) this.#emit('error', error);
      throw error;
    }
    this.#observer.end({ value });
    return value;
  }

  /** Every phase change goes through here, so the observer sees each one. */
  #move(to: Phase, event: PhaseEvent): void {
    const from = this.#phase;
    this.#phase = to;
    this.#observer.phase(from, to, event);
  }

  async #context(): Promise<FlowContext> {
    this.#config ??= await loadConfig(this.#options, this.#layout);
    const config = this.#channel ? { ...this.#config, channel: this.#channel.name, allowDowngrade: this.#channel.allowDowngrade } : this.#config;
    return createFlowContext(this.#options, this.#layout, config, this.#emit, this.#throttle, this.#observer.flow);
  }

  readonly #emit: Emit = (event, ...args) => {
    this.#observer.event(event, args);
    this.#events.emit(event, ...args);
  };
}

/** Minutes after local midnight (the local time zone is read here, outside the pure schedule). */
function minuteOfDay(t: number): number {
  const d = new Date(t);
  return d.getHours() * 60 + d.getMinutes();
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
