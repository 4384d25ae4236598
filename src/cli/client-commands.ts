/**
 * Client commands, so a shell-driven device is a full client: install, update,
 * commit, rollback, status (launch is in launch-command.ts, kept light).
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UpdateError } from '../errors.js';
import { createFlowContext, loadConfig } from '../flow/context.js';
import { installFirstRelease } from '../flow/first-install.js';
import { nodeFileSystem } from '../io/file-system.js';
import { type ClientConfigFile, checkOptions, defaultPlatform } from '../options.js';
import { writeFileAtomic } from '../slots/atomic-file.js';
import { rootLayout } from '../slots/layout.js';
import { Updater } from '../updater.js';
import { UsageError, int, list, optStr, parse, required, str } from './args.js';
import { type Output, formatBytes } from './output.js';

export async function install(argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse(
    'install',
    argv,
    {
      feed: { type: 'string' },
      root: { type: 'string' },
      app: { type: 'string' },
      pub: { type: 'string', multiple: true },
      threshold: { type: 'string' },
      channel: { type: 'string' },
      ring: { type: 'string' },
      platform: { type: 'string' },
      'max-attempts': { type: 'string' },
    },
    0,
  );
  required(p, 'install', 'feed', 'root', 'app', 'pub', 'channel');
  const o = out(p.values.json === true);
  const root = resolve(str(p, 'root'));
  const config: ClientConfigFile = {
    feedUrl: str(p, 'feed'),
    appId: str(p, 'app'),
    trustedKeys: list(p, 'pub'),
    threshold: int(p, 'threshold', 1, 64) ?? 1,
    channel: str(p, 'channel'),
    ring: optStr(p, 'ring') ?? null,
    platform: optStr(p, 'platform') ?? defaultPlatform(),
    maxAttempts: int(p, 'max-attempts', 1, 100) ?? 3,
  };
  checkOptions(config, 'install');
  await mkdir(root, { recursive: true });
  const layout = rootLayout(root);
  const options = { installRoot: root };
  // The config is written first so a failed download can simply be retried.
  await writeFileAtomic(nodeFileSystem, layout.config, JSON.stringify({ version: 1, ...config }, null, 2) + '\n');
  const ctx = createFlowContext(options, layout, await loadConfig(options, layout), (event, ...args) => {
    if (event === 'download-progress') {
      const [progress] = args as [{ transferred: number; total: number }];
      o.progress('downloading', progress.transferred, progress.total);
    }
  });
  const { version } = await installFirstRelease(ctx);
  o.endProgress();
  o.data({ installed: true, version, root, slot: 'a' });
  o.line(`installed ${config.appId} ${version} into ${root} (slot a)`);
  return 0;
}

function updaterFor(p: ReturnType<typeof parse>, command: string): Updater {
  required(p, command, 'root');
  return new Updater({ installRoot: resolve(str(p, 'root')) });
}

export async function update(argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse('update', argv, { root: { type: 'string' } }, 0);
  const o = out(p.values.json === true);
  const updater = updaterFor(p, 'update');
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  updater.on('download-progress', (pr) => o.progress('downloading', pr.transferred, pr.total, pr.bytesPerSecond > 0 ? `${formatBytes(pr.bytesPerSecond)}/s` : ''));
  try {
    const check = await updater.checkForUpdates({ signal: controller.signal });
    if (!check.available) {
      if (check.restartRequired) {
        // The running release was revoked and the root went back to its previous slot.
        const now = await updater.status();
        o.data({ updated: false, reason: check.reason, restartRequired: true, activeVersion: now.activeVersion });
        o.line(`the running release was revoked: reverted to ${now.activeVersion ?? 'the previous slot'}; restart the app through the launcher`);
        return 0;
      }
      o.data({ updated: false, reason: check.reason });
      o.line(`no update: ${check.reason}`);
      return 0;
    }
    await updater.downloadUpdate({ signal: controller.signal });
    o.endProgress();
    const result = await updater.installUpdate();
    o.data({ updated: true, ...result });
    o.line(`switched to ${result.version} (slot ${result.slot}, on trial); restart the app through the launcher, then run "twinslot commit"`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Exit code of `commit` when the trial was reverted: the caller must restart the app. */
export const EXIT_ROLLED_BACK = 10;

export async function commit(argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse('commit', argv, { root: { type: 'string' } }, 0);
  const o = out(p.values.json === true);
  const result = await updaterFor(p, 'commit').confirmStartup();
  o.data(result);
  if (result.outcome === 'no-trial') o.line(`nothing to commit: ${result.version} is committed`);
  else if (result.outcome === 'committed') o.line(`committed ${result.version}`);
  else o.line(`rolled back from ${result.fromVersion} to ${result.toVersion} (${result.reason}); restart the app`);
  return result.outcome === 'rolled-back' ? EXIT_ROLLED_BACK : 0;
}

export async function rollback(argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse('rollback', argv, { root: { type: 'string' } }, 0);
  const o = out(p.values.json === true);
  const result = await updaterFor(p, 'rollback').rollback();
  o.data(result);
  if (result.outcome === 'rolled-back') o.line(`rolled back from ${result.fromVersion} to ${result.toVersion}; restart the app`);
  return 0;
}

export async function status(argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse('status', argv, { root: { type: 'string' } }, 0);
  const o = out(true); // the slot journal as JSON, always
  const s = await updaterFor(p, 'status').status();
  const { phase: _phase, ...journal } = s;
  o.data(journal);
  return 0;
}
