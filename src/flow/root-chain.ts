/**
 * Following the root key chain: from the newest trusted root, fetch
 * `keys/root.<N+1>.json` until there is none (404), verifying each step with the
 * previous keys and its own (manifest/root.ts). The newest root's keys then verify
 * channel documents; keys it removed are no longer trusted. The new root is durable in
 * trust.json before it is used.
 *
 * When the keys change, the channel floors learnt under the old keys are dropped: a
 * feed recovering from a stolen key may have to publish lower sequences than the
 * thief did (TUF's fast-forward recovery).
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import type { TrustedKeys } from '../manifest/envelope.js';
import { parsePublicKey } from '../manifest/keys.js';
import { MAX_ROOT_BYTES, MAX_ROOT_STEPS, rootPath, verifyRootStep } from '../manifest/root.js';
import type { TrustState } from '../manifest/trust-state.js';
import { saveTrust } from '../slots/journal-store.js';
import { fetchDocument } from '../transfer/document.js';
import { type FlowContext, feedUrl } from './context.js';

/** The keys channel documents must be signed with, per the trust state. */
export function currentKeys(ctx: FlowContext, trust: TrustState): TrustedKeys {
  if (!trust.root) return ctx.trust;
  return { keys: trust.root.keys.map((k) => parsePublicKey(k)), threshold: trust.root.threshold };
}

/** Walks the chain as far as the feed goes; returns the (saved) trust state. */
export async function followRootChain(ctx: FlowContext, trust: TrustState, signal?: AbortSignal): Promise<TrustState> {
  let state = trust;
  let keys = currentKeys(ctx, trust);
  for (let step = 0; ; step++) {
    const version = state.rootVersion + 1;
    let res;
    try {
      res = await fetchDocument(ctx.http, feedUrl(ctx, rootPath(version)), { maxBytes: MAX_ROOT_BYTES, what: `root key document ${version}`, signal });
    } catch (err) {
      // No next root: the chain ends here.
      if (err instanceof UpdateError && err.code === 'NETWORK' && (err.details as { status?: number }).status === 404) break;
      throw err;
    }
    if (res.status !== 200) break;
    if (step >= MAX_ROOT_STEPS) throw new UpdateError('INVALID_MANIFEST', `more than ${MAX_ROOT_STEPS} root rotations in one check`);
    const { root, trust: next } = verifyRootStep(res.bytes, keys, version, ctx.config.appId);
    keys = next;
    state = { ...state, rootVersion: version, root: { keys: root.keys, threshold: root.threshold }, channels: {} };
  }
  if (state !== trust) await saveTrust(ctx.fs, ctx.layout, state);
  return state;
}
