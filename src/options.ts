/**
 * Updater options: what code may pass, what `<root>/twinslot.json` may hold, and how
 * the two merge (code wins). Options given in code are checked in the constructor;
 * the merged set is checked when the file is first read.
 *
 * @module
 */
import type { Dispatcher } from 'undici';
import { UpdateError } from './errors.js';
import type { Probe, Spawner } from './health/probes.js';
import { probeProblem } from './health/probes.js';
import type { Clock, RandomSource } from './io/clock.js';
import type { FileSystem } from './io/file-system.js';
import { type PublicKey, parsePublicKey } from './manifest/keys.js';
import { checkPlatform } from './manifest/fields.js';
import type { UpdateInfo } from './events.js';
import type { RetryPolicy } from './transfer/retry.js';
import { type Logger, checkLogger } from './observe/logger.js';
import type { ReportHook } from './observe/report.js';

/** Options of {@link Updater}. Only `installRoot` is required in code; the rest may come from `<root>/twinslot.json`. */
export interface UpdaterOptions {
  /** The install root holding `slots/`, `state`, `trust.json`. */
  readonly installRoot: string;
  /** App id; must match the feed's documents. */
  readonly appId?: string;
  /** Base URL of the feed (the folder holding `channels/`, `releases/`, `blobs/`). */
  readonly feedUrl?: string | URL;
  /** Trusted public keys, `ed25519:<base64>`. */
  readonly trustedKeys?: readonly string[];
  /** How many distinct trusted keys must sign (default 1). */
  readonly threshold?: number;
  /** Channel name (default `stable`). */
  readonly channel?: string;
  /** Rollout ring of this install (default none: the channel's `*` percentage applies). */
  readonly ring?: string | null;
  /** Platform id `os-arch` (default from `process.platform` and `process.arch`). */
  readonly platform?: string;
  /** Accept a channel offering a lower version than the running one (default false). */
  readonly allowDowngrade?: boolean;
  /** Trial starts allowed before the launcher reverts (default 3). */
  readonly maxAttempts?: number;
  /** Probes run by `confirmStartup()` after the release's own post-start probes. */
  readonly probes?: readonly Probe[];
  /** Probes run against the staged slot before the switch, after the release's own. */
  readonly preSwitchProbes?: readonly Probe[];
  /** All probes of one phase must finish within this many ms (default 120 000). */
  readonly probeDeadlineMs?: number;
  /** Asked before a download starts; false declines it (critical updates skip it). */
  readonly confirmDownload?: (info: UpdateInfo) => boolean | Promise<boolean>;
  /** Asked before the switch; false declines it (critical updates skip it). */
  readonly confirmInstall?: (info: UpdateInfo) => boolean | Promise<boolean>;
  /** Parallel connections per download (default 4). */
  readonly connections?: number;
  /** Download rate cap in bytes per second, 0 = unlimited (default). Change it later with `setThrottle()`. */
  readonly maxBytesPerSecond?: number;
  /** More feed base URLs serving the same blobs, tried in order when one fails. */
  readonly mirrors?: readonly (string | URL)[];
  /** Retry tuning for blob downloads. */
  readonly retry?: Partial<RetryPolicy>;
  /** A connection slower than this (after `slowGraceMs`) is dropped and retried (default 1024 B/s). */
  readonly minBytesPerSecond?: number;
  /** Grace before the minimum rate applies, ms (default 10 000). */
  readonly slowGraceMs?: number;
  /** TCP/TLS connect timeout of the default dispatcher, ms (default 10 000). */
  readonly connectTimeoutMs?: number;
  /** undici dispatcher for every request (custom CA, pinning, proxy). Default: undici's EnvHttpProxyAgent. */
  readonly dispatcher?: Dispatcher;
  /** Time limit for response headers, ms (default 30 000). */
  readonly headersTimeoutMs?: number;
  /** Longest silence inside a response body, ms (default 30 000). */
  readonly bodyTimeoutMs?: number;
  /**
   * Receives log lines at the points that matter: step starts and ends, phase
   * changes (debug), retries, mirror failovers, patch fallbacks and reverts (warn),
   * failures (error). Never per chunk. Default silent; `console` fits.
   */
  readonly logger?: Logger;
  /**
   * Called with an {@link UpdateReport} after every attempt (check, download,
   * install, confirm, rollback), whatever its outcome. Not awaited; whatever it
   * throws or rejects is logged through `logger` and never reaches the updater.
   */
  readonly report?: ReportHook;
  /** Injected boundaries, for tests and unusual hosts. */
  readonly clock?: Clock;
  /** Source of random bytes (rollout install id, jitter, backoff); default `crypto.randomBytes`. */
  readonly random?: RandomSource;
  /** The file-system boundary every slot, staging and journal write goes through; default node:fs. */
  readonly fs?: FileSystem;
  /** Starts command probes; default `child_process.spawn`. */
  readonly spawner?: Spawner;
}

/** What `<root>/twinslot.json` holds (written by `twinslot install`). */
export interface ClientConfigFile {
  readonly feedUrl?: string;
  readonly appId?: string;
  readonly trustedKeys?: readonly string[];
  readonly threshold?: number;
  readonly channel?: string;
  readonly ring?: string | null;
  readonly platform?: string;
  readonly maxAttempts?: number;
  readonly mirrors?: readonly string[];
  readonly probes?: readonly Probe[];
  readonly preSwitchProbes?: readonly Probe[];
}

/** The merged, checked configuration an updater runs with. */
export interface ResolvedConfig {
  readonly appId: string;
  /** Always ends with `/` so feed paths resolve under it. */
  readonly feedUrl: URL;
  /** Further feed base URLs for blobs. */
  readonly mirrors: readonly URL[];
  readonly keys: readonly PublicKey[];
  readonly threshold: number;
  readonly channel: string;
  readonly ring: string | null;
  readonly platform: string;
  readonly allowDowngrade: boolean;
  readonly maxAttempts: number;
  readonly probes: readonly Probe[];
  readonly preSwitchProbes: readonly Probe[];
  readonly probeDeadlineMs: number;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function defaultPlatform(): string {
  return `${process.platform}-${process.arch}`;
}

function bad(message: string): UpdateError {
  return new UpdateError('INVALID_OPTIONS', message);
}

/** Checks every option present; throws `INVALID_OPTIONS` naming the first bad one. */
export function checkOptions(o: Partial<UpdaterOptions> | ClientConfigFile, where: string): void {
  const opts = o as Partial<UpdaterOptions>;
  if ('installRoot' in opts && (typeof opts.installRoot !== 'string' || opts.installRoot === '')) throw bad(`${where}: installRoot must be a path`);
  if (opts.appId !== undefined && (typeof opts.appId !== 'string' || !ID.test(opts.appId))) throw bad(`${where}: appId must be an id like "com.example.app"`);
  if (opts.channel !== undefined && (typeof opts.channel !== 'string' || !ID.test(opts.channel))) throw bad(`${where}: channel must be a name like "stable"`);
  if (opts.ring !== undefined && opts.ring !== null && (typeof opts.ring !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(opts.ring))) {
    throw bad(`${where}: ring must be a name like "canary"`);
  }
  if (opts.feedUrl !== undefined) feedUrlOf(opts.feedUrl, where);
  if (opts.trustedKeys !== undefined) {
    if (!Array.isArray(opts.trustedKeys) || opts.trustedKeys.length === 0) throw bad(`${where}: trustedKeys must be a non-empty array`);
    for (const key of opts.trustedKeys) parsePublicKey(key);
  }
  if (opts.threshold !== undefined && (!Number.isSafeInteger(opts.threshold) || opts.threshold < 1)) throw bad(`${where}: threshold must be a positive integer`);
  if (opts.platform !== undefined) {
    try {
      checkPlatform(String(opts.platform), 'platform');
    } catch {
      throw bad(`${where}: platform must look like "linux-x64"`);
    }
  }
  if (opts.maxAttempts !== undefined && (!Number.isSafeInteger(opts.maxAttempts) || opts.maxAttempts < 1 || opts.maxAttempts > 100)) {
    throw bad(`${where}: maxAttempts must be an integer from 1 to 100`);
  }
  if (opts.mirrors !== undefined) {
    if (!Array.isArray(opts.mirrors)) throw bad(`${where}: mirrors must be an array of URLs`);
    for (const m of opts.mirrors) feedUrlOf(m, `${where}: mirrors`);
  }
  if (opts.connections !== undefined && (!Number.isSafeInteger(opts.connections) || opts.connections < 1 || opts.connections > 32)) {
    throw bad(`${where}: connections must be an integer from 1 to 32`);
  }
  if (opts.maxBytesPerSecond !== undefined && (!Number.isSafeInteger(opts.maxBytesPerSecond) || opts.maxBytesPerSecond < 0)) {
    throw bad(`${where}: maxBytesPerSecond must be 0 (unlimited) or a positive integer`);
  }
  if (opts.minBytesPerSecond !== undefined && (!Number.isSafeInteger(opts.minBytesPerSecond) || opts.minBytesPerSecond < 0)) {
    throw bad(`${where}: minBytesPerSecond must be a non-negative integer`);
  }
  for (const key of ['probeDeadlineMs', 'headersTimeoutMs', 'bodyTimeoutMs', 'slowGraceMs', 'connectTimeoutMs'] as const) {
    const v = opts[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw bad(`${where}: ${key} must be a positive integer (ms)`);
  }
  for (const key of ['probes', 'preSwitchProbes'] as const) {
    const list = opts[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw bad(`${where}: ${key} must be an array`);
    for (const probe of list) {
      const problem = probeProblem(probe);
      if (problem) throw bad(`${where}: ${key}: ${problem}`);
    }
  }
  if (opts.logger !== undefined) checkLogger(opts.logger, where);
  for (const key of ['confirmDownload', 'confirmInstall', 'report'] as const) {
    if (opts[key] !== undefined && typeof opts[key] !== 'function') throw bad(`${where}: ${key} must be a function`);
  }
}

function feedUrlOf(value: unknown, where: string): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw bad(`${where}: feedUrl is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`${where}: feedUrl must be http(s)`);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

/** Merges file config and code options (code wins) and checks that nothing required is missing. */
export function resolveConfig(code: UpdaterOptions, file: ClientConfigFile | null): ResolvedConfig {
  if (file) checkOptions(file, 'twinslot.json');
  const pick = <K extends keyof ClientConfigFile & keyof UpdaterOptions>(key: K): UpdaterOptions[K] | ClientConfigFile[K] =>
    code[key] !== undefined ? code[key] : file?.[key];
  const appId = pick('appId');
  const feedUrl = pick('feedUrl');
  const trustedKeys = pick('trustedKeys');
  const missing = [!appId && 'appId', !feedUrl && 'feedUrl', !trustedKeys && 'trustedKeys'].filter(Boolean);
  if (missing.length > 0) {
    throw bad(`missing ${missing.join(', ')}: pass them to new Updater() or run "twinslot install" to write ${code.installRoot}/twinslot.json`);
  }
  const keys = dedupeKeys((trustedKeys as readonly string[]).map((k) => parsePublicKey(k)));
  const threshold = (pick('threshold') as number | undefined) ?? 1;
  if (threshold > keys.length) throw bad(`threshold ${threshold} is more than the ${keys.length} trusted key(s)`);
  return {
    appId: appId as string,
    feedUrl: feedUrlOf(feedUrl, 'options'),
    mirrors: ((pick('mirrors') as readonly (string | URL)[] | undefined) ?? []).map((m) => feedUrlOf(m, 'mirrors')),
    keys,
    threshold,
    channel: (pick('channel') as string | undefined) ?? 'stable',
    ring: (pick('ring') as string | null | undefined) ?? null,
    platform: (pick('platform') as string | undefined) ?? defaultPlatform(),
    allowDowngrade: code.allowDowngrade ?? false,
    maxAttempts: (pick('maxAttempts') as number | undefined) ?? 3,
    probes: [...(file?.probes ?? []), ...(code.probes ?? [])],
    preSwitchProbes: [...(file?.preSwitchProbes ?? []), ...(code.preSwitchProbes ?? [])],
    probeDeadlineMs: code.probeDeadlineMs ?? 120_000,
  };
}

/** The same key listed twice (or under another spelling) counts once toward a threshold. */
function dedupeKeys(keys: readonly PublicKey[]): PublicKey[] {
  const seen = new Map<string, PublicKey>();
  for (const key of keys) seen.set(key.keyid, key);
  return [...seen.values()];
}

/** Parses `<root>/twinslot.json`. */
export function parseConfigFile(text: string): ClientConfigFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UpdateError('INVALID_OPTIONS', 'twinslot.json is not valid JSON', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('twinslot.json must hold an object');
  const probes = (value as ClientConfigFile).probes;
  if (probes?.some((p) => p.kind === 'function')) throw bad('twinslot.json cannot hold function probes');
  return value as ClientConfigFile;
}
