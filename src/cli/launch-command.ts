/**
 * `twinslot launch`: the Node launcher. It runs at every start of the app, so it
 * imports only what the decision needs (the journal, the lock), not the updater.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { UpdateError } from '../errors.js';
import { nodeFileSystem } from '../io/file-system.js';
import { rootLayout } from '../slots/layout.js';
import { prepareLaunch } from '../slots/launch.js';
import { parse, required, str } from './args.js';

export async function launch(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const passThrough = dash >= 0 ? argv.slice(dash + 1) : [];
  const p = parse('launch', own, { root: { type: 'string' } }, 0);
  required(p, 'launch', 'root');
  const root = resolve(str(p, 'root'));
  const plan = await prepareLaunch(nodeFileSystem, rootLayout(root), (ms) => delay(ms));
  if (plan.decision.action === 'revert-then-run') {
    process.stderr.write(`twinslot: reverted to ${plan.version} (slot ${plan.slot}): ${plan.decision.reason}\n`);
  }
  const child = spawn(plan.entry, passThrough, {
    stdio: 'inherit',
    cwd: process.cwd(),
    env: {
      ...process.env,
      TWINSLOT_ROOT: root,
      TWINSLOT_SLOT: plan.slot,
      TWINSLOT_VERSION: plan.version,
      TWINSLOT_LAUNCHED: '1',
      // How an app restarts itself through this launcher (the trial count), e.g. after an install.
      TWINSLOT_RELAUNCH: JSON.stringify([process.execPath, ...process.execArgv, resolve(process.argv[1] ?? ''), 'launch', '--root', root, '--']),
    },
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return new Promise((resolvePromise, reject) => {
    child.on('error', (err) => reject(new UpdateError('STATE_CORRUPT', `cannot start ${plan.entry}: ${err.message}`, { cause: err })));
    child.on('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolvePromise(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15, SIGABRT: 6 } as Record<string, number>)[signal];
}

