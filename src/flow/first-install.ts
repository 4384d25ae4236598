/**
 * The first install of a root (`twinslot install`): check the channel, stage the
 * offered release into slot a, and write the journal with it committed. There is no
 * previous slot to protect yet, so no trial.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import { loadJournal } from '../slots/journal-store.js';
import { lockRoot } from '../slots/lock.js';
import { checkForUpdate } from './check.js';
import type { FlowContext } from './context.js';
import { stageRelease } from './download.js';

export async function installFirstRelease(ctx: FlowContext, signal?: AbortSignal): Promise<{ version: string }> {
  const lock = await lockRoot(ctx.layout);
  try {
    if (await loadJournal(ctx.fs, ctx.layout)) {
      throw new UpdateError('INVALID_STATE', `${ctx.layout.root} already has an installed app; use "twinslot update"`);
    }
    const outcome = await checkForUpdate(ctx, { signal, journal: null, skipRollout: true });
    if (!outcome.release || !outcome.info) {
      throw new UpdateError('INVALID_STATE', `channel ${ctx.config.channel} offers nothing to install for ${ctx.config.platform} (${outcome.notAvailable?.reason})`);
    }
    ctx.emit('update-available', outcome.info);
    await stageRelease(ctx, null, 'a', outcome.release, { signal });
    ctx.emit('update-downloaded', outcome.info);
    return { version: outcome.release.manifest.version };
  } finally {
    await lock.release();
  }
}
