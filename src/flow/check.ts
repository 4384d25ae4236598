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
import { DOCUMENT_LIMITS, type TrustedKeys, openEnvelope } from '../manifest/envelope.js';
import { type TrustState, admitChannelDocument, newTrustState } from '../manifest/trust-state.js';
import { type Decision, type InstallFacts, decideUpdate, downloadStopReason } from '../policy/eligibility.js';
import { loadJournal, loadTrust, saveTrust } from '../slots/journal-store.js';
import type { Journal } from '../slots/state-file.js';
import { fetchDocument } from '../transfer/document.js';
import { type FlowContext, feedUrl } from './context.js';
import { currentKeys, followRootChain } from './root-chain.js';
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

/**
 * The last verified channel document of one updater and its ETag: the next check asks
 * with If-None-Match, and a 304 costs no parsing and no signature check. The cached
 * document still passes the freeze rule (its expiry) at every check.
 */
export interface ChannelCache {
  url: string | null;
  etag: string | null;
  doc: ChannelDocument | null;
  signedSha: string | null;
  /** The server's Cache-Control max-age at the last answer, if any. */
  maxAgeMs: number | null;
  /** 304 answers so far (for tests and the fleet benchmark). */
  notModified: number;
}

export function emptyChannelCache(): ChannelCache {
  return { url: null, etag: null, doc: null, signedSha: null, maxAgeMs: null, notModified: 0 };
}

/** Fetches and admits the channel document; the new sequence is durable when this returns. */
export async function fetchChannel(ctx: FlowContext, signal?: AbortSignal, cache?: ChannelCache): Promise<{ doc: ChannelDocument; trust: TrustState }> {
  let trust = await loadOrCreateTrust(ctx);
  const { channel, appId } = ctx.config;
  const what = `channel document ${channel}`;
  const url = feedUrl(ctx, `channels/${channel}.json`);
  const cached = cache && cache.url === url.href && cache.doc && cache.signedSha ? cache : null;
  const res = await fetchDocument(ctx.http, url, {
    maxBytes: DOCUMENT_LIMITS.channel,
    what,
    signal,
    etag: cached?.etag ?? null,
  });
  let doc: ChannelDocument;
  let signedSha: string;
  if (res.status === 304) {
    doc = cached!.doc!;
    signedSha = cached!.signedSha!;
    cache!.maxAgeMs = res.maxAgeMs;
    cache!.notModified++;
  } else {
    const verify = (keys: TrustedKeys): { doc: ChannelDocument; signedSha: string } => {
      const opened = openEnvelope(res.bytes, keys, what, DOCUMENT_LIMITS.channel);
      return { doc: parseChannelDocument(opened.signed), signedSha: createHash('sha256').update(opened.signedBytes).digest('hex') };
    };
    let verified: { doc: ChannelDocument; signedSha: string };
    try {
      verified = verify(currentKeys(ctx, trust));
    } catch (err) {
      // Perhaps the keys were rotated: follow the chain, then try once more.
      if (!(err instanceof UpdateError && err.code === 'SIGNATURE_INVALID')) throw err;
      const next = await followRootChain(ctx, trust, signal);
      if (next === trust) throw err;
      trust = next;
      verified = verify(currentKeys(ctx, trust));
    }
    if (verified.doc.root > trust.rootVersion) {
      // The feed says the keys moved on: follow, and the document must verify under the newest keys.
      trust = await followRootChain(ctx, trust, signal);
      if (verified.doc.root > trust.rootVersion) {
        throw new UpdateError('SIGNATURE_INVALID', `${what} names root key version ${verified.doc.root}, but the feed's chain ends at ${trust.rootVersion}`);
      }
      verified = verify(currentKeys(ctx, trust));
    }
    ({ doc, signedSha } = verified);
    if (cache) Object.assign(cache, { url: url.href, etag: res.etag, doc: null, signedSha: null, maxAgeMs: res.maxAgeMs });
  }
  const admitted = admitChannelDocument(trust, doc, signedSha, ctx.clock.now(), { app: appId, channel });
  if (admitted !== trust) {
    await saveTrust(ctx.fs, ctx.layout, admitted);
    trust = admitted;
  }
  // Cached only once admitted: a rejected document is never answered for by a 304.
  if (cache && res.status === 200) Object.assign(cache, { doc, signedSha });
  return { doc, trust };
}

/** The whole check. `journal` is null before the first install. */
export async function checkForUpdate(
  ctx: FlowContext,
  options: {
    signal?: AbortSignal | undefined;
    skipRollout?: boolean | undefined;
    journal?: Journal | null;
    cache?: ChannelCache | undefined;
    /** Asked before an offered release's manifest is fetched; true answers `deferred` instead. */
    hold?: ((offer: { version: string; critical: boolean }) => boolean) | undefined;
  } = {},
): Promise<CheckOutcome> {
  const journal = options.journal === undefined ? await loadJournal(ctx.fs, ctx.layout) : options.journal;
  const { doc, trust } = await fetchChannel(ctx, options.signal, options.cache);
  const facts = installFacts(ctx, journal, trust);
  const { currentVersion } = facts;
  const decision = decideUpdate(doc, { ...facts, skipRollout: options.skipRollout ?? false });
  if (!decision.available) {
    return {
      doc,
      decision,
      release: null,
      info: null,
      notAvailable: { reason: decision.reason, version: decision.version, currentVersion },
    };
  }
  if (options.hold?.({ version: decision.version, critical: decision.critical })) {
    const deferred: Decision = { available: false, reason: 'deferred', version: decision.version };
    return { doc, decision: deferred, release: null, info: null, notAvailable: { reason: 'deferred', version: decision.version, currentVersion } };
  }
  const release = await fetchRelease(ctx, decision.pointer, decision.version, options.signal, currentKeys(ctx, trust));
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

/**
 * A check during a download of `version` (conditional, so mostly a 304): whether the
 * channel now halts the rollout or revokes that version, so the download should stop.
 */
export async function recheckDuringDownload(
  ctx: FlowContext,
  journal: Journal,
  version: string,
  cache: ChannelCache,
  signal: AbortSignal,
): Promise<'halted' | 'revoked' | null> {
  const { doc, trust } = await fetchChannel(ctx, signal, cache);
  return downloadStopReason(doc, version, installFacts(ctx, journal, trust));
}

/** What policy needs to know about this install. */
function installFacts(ctx: FlowContext, journal: Journal | null, trust: TrustState): InstallFacts {
  return {
    platform: ctx.config.platform,
    currentVersion: journal ? journal.slots[journal.active].version : null,
    bad: journal?.bad ?? [],
    ring: ctx.config.ring,
    installId: trust.installId,
    allowDowngrade: ctx.config.allowDowngrade,
  };
}

/** Fetches a release manifest pinned by the channel: size cap, then hash, then signatures. */
export async function fetchRelease(
  ctx: FlowContext,
  pointer: { url: string; sha256: string; size: number },
  version: string,
  signal?: AbortSignal,
  keys: TrustedKeys = ctx.trust,
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
  return verifyRelease(ctx, res.bytes, { version, what }, keys);
}
