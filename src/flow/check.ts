/**
 * Step 1 of the flow (DESIGN.md §4): fetch the channel document, verify it, refuse
 * rollback and freeze, persist the new trusted sequence before anything else is
 * fetched, ask policy, and fetch + verify the release manifest it pins.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { UpdateError } from '../errors.js';
import type { NotAvailableInfo, UpdateInfo } from '../events.js';
import { type ChannelDocument, parseChannelDocument } from '../manifest/channel.js';
import { DOCUMENT_LIMITS, openEnvelope } from '../manifest/envelope.js';
import { type TrustState, admitChannelDocument, newTrustState } from '../manifest/trust-state.js';
import { type Decision, decideUpdate } from '../policy/eligibility.js';
import { loadJournal, loadTrust, saveTrust } from '../slots/journal-store.js';
import type { Journal } from '../slots/state-file.js';
import { fetchDocument } from '../transfer/document.js';
import { type FlowContext, feedUrl } from './context.js';
import { type VerifiedRelease, verifyRelease } from './slot-release.js';

export interface CheckOutcome {
  readonly doc: ChannelDocument;
  readonly decision: Decision;
  /** Set when an update is available. */
  readonly release: VerifiedRelease | null;
  readonly info: UpdateInfo | null;
  readonly notAvailable: NotAvailableInfo | null;
}

/** Loads trust.json, creating it (with a fresh install id) on first use. */
export async function loadOrCreateTrust(ctx: FlowContext): Promise<TrustState> {
  const existing = await loadTrust(ctx.fs, ctx.layout);
  if (existing) return existing;
  const trust = newTrustState(Buffer.from(ctx.random(16)).toString('hex'));
  await saveTrust(ctx.fs, ctx.layout, trust);
  return trust;
}

/** Fetches and admits the channel document; the new sequence is durable when this returns. */
export async function fetchChannel(ctx: FlowContext, signal?: AbortSignal): Promise<{ doc: ChannelDocument; trust: TrustState }> {
  let trust = await loadOrCreateTrust(ctx);
  const { channel, appId } = ctx.config;
  const what = `channel document ${channel}`;
  const res = await fetchDocument(ctx.http, feedUrl(ctx, `channels/${channel}.json`), {
    maxBytes: DOCUMENT_LIMITS.channel,
    what,
    signal,
  });
  if (res.status !== 200) throw new UpdateError('NETWORK', `${what}: unexpected answer`);
  const opened = openEnvelope(res.bytes, ctx.trust, what, DOCUMENT_LIMITS.channel);
  const doc = parseChannelDocument(opened.signed);
  const signedSha = createHash('sha256').update(opened.signedBytes).digest('hex');
  const admitted = admitChannelDocument(trust, doc, signedSha, ctx.clock.now(), { app: appId, channel });
  if (admitted !== trust) {
    await saveTrust(ctx.fs, ctx.layout, admitted);
    trust = admitted;
  }
  return { doc, trust };
}

/** The whole check. `journal` is null before the first install. */
export async function checkForUpdate(
  ctx: FlowContext,
  options: { signal?: AbortSignal | undefined; skipRollout?: boolean | undefined; journal?: Journal | null } = {},
): Promise<CheckOutcome> {
  const journal = options.journal === undefined ? await loadJournal(ctx.fs, ctx.layout) : options.journal;
  const { doc, trust } = await fetchChannel(ctx, options.signal);
  const currentVersion = journal ? journal.slots[journal.active].version : null;
  const decision = decideUpdate(doc, {
    platform: ctx.config.platform,
    currentVersion,
    bad: journal?.bad ?? [],
    ring: ctx.config.ring,
    installId: trust.installId,
    allowDowngrade: ctx.config.allowDowngrade,
    skipRollout: options.skipRollout ?? false,
  });
  if (!decision.available) {
    return {
      doc,
      decision,
      release: null,
      info: null,
      notAvailable: { reason: decision.reason, version: decision.version, currentVersion },
    };
  }
  const release = await fetchRelease(ctx, decision.pointer, decision.version, options.signal);
  const { manifest } = release;
  const info: UpdateInfo = {
    version: manifest.version,
    channel: ctx.config.channel,
    platform: manifest.platform,
    critical: decision.critical,
    size: manifest.pack.size,
    files: manifest.files.length,
    releaseDate: new Date(manifest.created).toISOString(),
    currentVersion,
  };
  return { doc, decision, release, info, notAvailable: null };
}

/** Fetches a release manifest pinned by the channel: size cap, then hash, then signatures. */
export async function fetchRelease(
  ctx: FlowContext,
  pointer: { url: string; sha256: string; size: number },
  version: string,
  signal?: AbortSignal,
): Promise<VerifiedRelease> {
  const what = `release manifest ${version}`;
  const maxBytes = Math.min(pointer.size, DOCUMENT_LIMITS.release);
  const res = await fetchDocument(ctx.http, feedUrl(ctx, pointer.url), { maxBytes, what, signal });
  if (res.status !== 200) throw new UpdateError('NETWORK', `${what}: unexpected answer`);
  const actual = createHash('sha256').update(res.bytes).digest('hex');
  if (res.bytes.length !== pointer.size || actual !== pointer.sha256) {
    throw new UpdateError('CHECKSUM_MISMATCH', `${what} does not match the hash the channel document pins`, {
      details: { expected: pointer.sha256, actual, size: res.bytes.length },
    });
  }
  return verifyRelease(ctx, res.bytes, { version, what });
}
