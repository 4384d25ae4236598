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
import { DEFAULT_HTTP } from '../transfer/http.js';
import type { RootLayout } from '../slots/layout.js';
import type { HttpSettings } from '../transfer/http.js';

export type Emit = <K extends keyof UpdaterEvents>(event: K, ...args: UpdaterEvents[K]) => void;

export interface FlowContext {
  readonly fs: FileSystem;
  readonly layout: RootLayout;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly spawner: Spawner | undefined;
  readonly http: HttpSettings;
  readonly config: ResolvedConfig;
  readonly trust: TrustedKeys;
  readonly emit: Emit;
}

/** Builds the context from options and the resolved configuration. */
export function createFlowContext(options: UpdaterOptions, layout: RootLayout, config: ResolvedConfig, emit: Emit): FlowContext {
  return {
    fs: options.fs ?? nodeFileSystem,
    layout,
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    spawner: options.spawner,
    http: {
      ...DEFAULT_HTTP,
      dispatcher: options.dispatcher,
      headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_HTTP.headersTimeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_HTTP.bodyTimeoutMs,
    },
    config,
    trust: { keys: config.keys, threshold: config.threshold },
    emit,
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

export function blobUrl(ctx: FlowContext, sha256: string): URL {
  return feedUrl(ctx, `blobs/sha256/${sha256}`);
}
