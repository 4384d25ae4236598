/**
 * What every flow step needs: the boundaries, the resolved configuration, and the
 * way to emit events. Built once per Updater; steps receive it as plain data.
 *
 * @module
 */
import type { UpdaterEvents } from '../events.js';
import type { Spawner } from '../health/probes.js';
import type { Clock, RandomSource } from '../io/clock.js';
import type { FileSystem } from '../io/file-system.js';
import type { TrustedKeys } from '../manifest/envelope.js';
import { systemClock, systemRandom } from '../io/clock.js';
import { nodeFileSystem } from '../io/file-system.js';
import { type ResolvedConfig, type UpdaterOptions, parseConfigFile, resolveConfig } from '../options.js';
import { readIfExists } from '../slots/atomic-file.js';
import { DEFAULT_HTTP, defaultDispatcher } from '../transfer/http.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../transfer/retry.js';
import { Throttle } from '../transfer/throttle.js';
import type { RootLayout } from '../slots/layout.js';
import type { HttpSettings } from '../transfer/http.js';
import { type FlowObserver, quietFlowObserver } from '../observe/observer.js';

export type Emit = <K extends keyof UpdaterEvents>(event: K, ...args: UpdaterEvents[K]) => void;

/** How packs are fetched: shared by every download of one updater. */
export interface TransferSettings {
  readonly connections: number;
  readonly throttle: Throttle;
  /** Feed base URLs to fetch blobs from, primary first. */
  readonly mirrors: readonly URL[];
  readonly retry: RetryPolicy;
  readonly minBytesPerSecond: number;
  readonly graceMs: number;
}

export interface FlowContext {
  readonly fs: FileSystem;
  readonly layout: RootLayout;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly spawner: Spawner | undefined;
  readonly http: HttpSettings;
  readonly transfer: TransferSettings;
  readonly config: ResolvedConfig;
  readonly trust: TrustedKeys;
  readonly emit: Emit;
  /** Retries, received bytes and log lines go to the Updater's observer. */
  readonly observe: FlowObserver;
}

/** Builds the context from options and the resolved configuration. */
export function createFlowContext(
  options: UpdaterOptions,
  layout: RootLayout,
  config: ResolvedConfig,
  emit: Emit,
  throttle?: Throttle,
  observe: FlowObserver = quietFlowObserver,
): FlowContext {
  const clock = options.clock ?? systemClock;
  return {
    fs: options.fs ?? nodeFileSystem,
    layout,
    clock,
    random: options.random ?? systemRandom,
    spawner: options.spawner,
    http: {
      ...DEFAULT_HTTP,
      dispatcher: options.dispatcher ?? defaultDispatcher(options.connectTimeoutMs),
      headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_HTTP.headersTimeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_HTTP.bodyTimeoutMs,
    },
    transfer: {
      connections: options.connections ?? 4,
      throttle: throttle ?? new Throttle(clock, options.maxBytesPerSecond ?? 0),
      mirrors: [config.feedUrl, ...config.mirrors],
      retry: { ...DEFAULT_RETRY, ...options.retry },
      minBytesPerSecond: options.minBytesPerSecond ?? 1024,
      graceMs: options.slowGraceMs ?? 10_000,
    },
    config,
    trust: { keys: config.keys, threshold: config.threshold },
    emit,
    observe,
  };
}

/** Reads `<root>/twinslot.json` (if any) and merges it with code options. */
export async function loadConfig(options: UpdaterOptions, layout: RootLayout): Promise<ResolvedConfig> {
  const text = await readIfExists(options.fs ?? nodeFileSystem, layout.config);
  return resolveConfig(options, text ? parseConfigFile(text.toString('utf8')) : null);
}

export function feedUrl(ctx: FlowContext, path: string): URL {
  return new URL(path, ctx.config.feedUrl);
}

/** The blob's URL on every mirror, primary first. */
export function blobUrls(ctx: FlowContext, sha256: string): URL[] {
  return ctx.transfer.mirrors.map((base) => new URL(`blobs/sha256/${sha256}`, base));
}
