/**
 * The Updater's observer: one place that turns lifecycle steps, events and transfer
 * notices into log lines, diagnostics-channel messages and attempt reports. The
 * orchestrator calls it at step boundaries and routes every emitted event through
 * it, so the flow steps stay unaware of logging (they only see {@link FlowObserver}).
 *
 * @module
 */
import { type UpdateError } from '../errors.js';
import type { UpdaterEvents } from '../events.js';
import type { Clock } from '../io/clock.js';
import type { Phase, PhaseEvent } from '../lifecycle.js';
import { publish, redactUrl } from './channels.js';
import { type Logger, safeLogger, silentLogger } from './logger.js';
import type { AttemptKind, ReportHook, UpdateReport } from './report.js';

/** A download request failed and will be tried again. */
export interface RetryNotice {
  readonly url: URL;
  readonly code: string;
  readonly attempt: number;
  readonly mirror: number;
  readonly failover: boolean;
  readonly waitMs: number;
}

/** What flow steps may tell the observer, through their context. */
export interface FlowObserver {
  readonly log: Logger;
  retry(notice: RetryNotice): void;
  /** Blob bytes received from the network. */
  received(bytes: number): void;
}

/** For contexts built outside an Updater (the CLI's first install, tests). */
export const quietFlowObserver: FlowObserver = { log: silentLogger, retry() {}, received() {} };

interface Attempt {
  id: number;
  step: AttemptKind;
  startedAt: number;
  detail: string | null;
  fromVersion: string | null;
  toVersion: string | null;
  bytesDownloaded: number;
  bytesByKind: UpdateReport['bytesByKind'];
  patchFallbacks: number;
  retries: number;
  revertReason: UpdateReport['revertReason'];
  restartRequired: boolean;
}

/** Failures that are the caller's doing or expected, not the update's: a warning, not an error. */
const EXPECTED = new Set(['ABORTED', 'INVALID_STATE', 'LOCKED']);

let nextId = 1;

export class Observer {
  readonly #root: string;
  readonly #log: Logger;
  readonly #hook: ReportHook | undefined;
  readonly #clock: Clock;
  #current: Attempt | null = null;

  constructor(installRoot: string, logger: Logger | undefined, hook: ReportHook | undefined, clock: Clock) {
    this.#root = installRoot;
    this.#log = safeLogger(logger);
    this.#hook = hook;
    this.#clock = clock;
  }

  get log(): Logger {
    return this.#log;
  }

  readonly flow: FlowObserver = {
    log: this.#logProxy(),
    retry: (n) => {
      if (this.#current) this.#current.retries++;
      const url = redactUrl(n.url);
      const message = n.failover ? `download failed (${n.code}); moving to mirror ${n.mirror}` : `download failed (${n.code}); retry ${n.attempt} in ${n.waitMs} ms`;
      this.#log.warn(message, { url, code: n.code, attempt: n.attempt, mirror: n.mirror, failover: n.failover, waitMs: n.waitMs });
      publish('twinslot:retry', () => ({ installRoot: this.#root, url, code: n.code, attempt: n.attempt, mirror: n.mirror, failover: n.failover, waitMs: n.waitMs }));
    },
    received: (bytes) => {
      if (this.#current) this.#current.bytesDownloaded += bytes;
    },
  };

  #logProxy(): Logger {
    return { debug: (m, f) => this.#log.debug(m, f), info: (m, f) => this.#log.info(m, f), warn: (m, f) => this.#log.warn(m, f), error: (m, f) => this.#log.error(m, f) };
  }

  phase(from: Phase, to: Phase, event: PhaseEvent): void {
    if (from === to) return;
    this.#log.debug(`phase ${from} -> ${to}`, { from, to, event });
    publish('twinslot:phase', () => ({ installRoot: this.#root, from, to, event }));
  }

  /** A step starts; `known` carries what a check already found. */
  begin(step: AttemptKind, known: { fromVersion: string | null; toVersion: string | null }): void {
    const attempt: Attempt = {
      id: nextId++,
      step,
      startedAt: this.#clock.now(),
      detail: null,
      ...known,
      bytesDownloaded: 0,
      bytesByKind: null,
      patchFallbacks: 0,
      retries: 0,
      revertReason: null,
      restartRequired: false,
    };
    this.#current = attempt;
    this.#log.debug(`${step} started`, { step, id: attempt.id });
    publish('twinslot:step:start', () => ({ installRoot: this.#root, id: attempt.id, step }));
  }

  /** Every event the Updater emits passes here first. */
  event<K extends keyof UpdaterEvents>(name: K, args: UpdaterEvents[K]): void {
    const a = this.#current;
    const arg = args[0] as never;
    switch (name) {
      case 'update-available':
      case 'update-downloaded':
      case 'installing':
      case 'installed': {
        const info = arg as UpdaterEvents['installing'][0];
        if (a) Object.assign(a, { fromVersion: info.currentVersion, toVersion: info.version });
        if (a && name === 'update-available') a.detail = 'available';
        if (a && name === 'installed') a.restartRequired = true;
        return;
      }
      case 'update-not-available': {
        const info = arg as UpdaterEvents['update-not-available'][0];
        if (a) Object.assign(a, { fromVersion: a.fromVersion ?? info.currentVersion, toVersion: a.toVersion ?? info.version, detail: info.reason });
        return;
      }
      case 'plan': {
        const plan = arg as UpdaterEvents['plan'][0];
        if (a) a.bytesByKind = { ...plan.bytes };
        return;
      }
      case 'patch-failed': {
        const info = arg as UpdaterEvents['patch-failed'][0];
        if (a) a.patchFallbacks++;
        this.#log.warn(`patch for ${info.path} failed (${info.code}); fetching the file whole`, { ...info });
        publish('twinslot:patch:fallback', () => ({ installRoot: this.#root, ...info }));
        return;
      }
      case 'committed': {
        const info = arg as UpdaterEvents['committed'][0];
        if (a) Object.assign(a, { fromVersion: info.previousVersion, toVersion: info.version, detail: 'committed' });
        return;
      }
      case 'rolled-back': {
        const { results, ...info } = arg as UpdaterEvents['rolled-back'][0];
        if (a) Object.assign(a, { fromVersion: info.fromVersion, toVersion: info.toVersion, revertReason: info.reason, restartRequired: true });
        if (a && a.step === 'confirm') a.detail = 'rolled-back';
        this.#log.warn(`reverted from ${info.fromVersion} to ${info.toVersion} (${info.reason})`, { ...info, failedProbes: results.filter((r) => !r.ok).map((r) => r.name) });
        publish('twinslot:revert', () => ({ installRoot: this.#root, ...info }));
        return;
      }
      default:
        return;
    }
  }

  /** The step ended: `result` is the step's value, or the error it rejects with. */
  end(result: { value: unknown } | { error: UpdateError }): UpdateReport | null {
    const a = this.#current;
    if (!a) return null;
    this.#current = null;
    const now = this.#clock.now();
    const failed = 'error' in result;
    if (!failed && a.step === 'confirm' && a.detail === null) {
      // Nothing was on trial: the result names the running version.
      const value = result.value as { outcome?: string; version?: string | null } | null;
      a.detail = value?.outcome ?? null;
      a.fromVersion = a.toVersion = value?.version ?? null;
    }
    const report: UpdateReport = {
      attempt: a.step,
      outcome: failed ? 'failure' : a.revertReason ? 'reverted' : 'success',
      detail: a.detail,
      fromVersion: a.fromVersion,
      toVersion: a.toVersion,
      bytesDownloaded: a.bytesDownloaded,
      bytesByKind: a.bytesByKind,
      patchFallbacks: a.patchFallbacks,
      retries: a.retries,
      startedAt: new Date(a.startedAt).toISOString(),
      durationMs: Math.max(0, now - a.startedAt),
      errorCode: failed ? result.error.code : null,
      revertReason: a.revertReason,
      restartRequired: a.restartRequired,
    };
    const fields = { ...report } as Record<string, unknown>;
    if (failed) {
      const level = EXPECTED.has(result.error.code) ? 'warn' : 'error';
      this.#log[level](`${a.step} failed: ${result.error.code}: ${result.error.message}`, fields);
    } else {
      this.#log.info(`${a.step} ${report.outcome}${describe(report)}`, fields);
    }
    publish('twinslot:step:end', () => ({ installRoot: this.#root, id: a.id, report }));
    this.#deliver(report);
    return report;
  }

  /** Hands the report to the app's hook; whatever it throws or rejects is logged, never rethrown. */
  #deliver(report: UpdateReport): void {
    if (!this.#hook) return;
    const fail = (err: unknown): void => this.#log.error(`the report hook failed: ${err instanceof Error ? err.message : String(err)}`, { attempt: report.attempt });
    try {
      const pending = this.#hook(report);
      if (pending && typeof (pending as Promise<void>).then === 'function') (pending as Promise<void>).then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  }
}

function describe(r: UpdateReport): string {
  const versions = r.fromVersion || r.toVersion ? ` (${r.fromVersion ?? '-'} -> ${r.toVersion ?? '-'})` : '';
  return `${r.detail ? `: ${r.detail}` : ''}${versions} in ${r.durationMs} ms`;
}
