/**
 * Whether this install should take the release a channel offers. Pure: it sees the
 * verified channel document and facts about the install, and returns a decision with
 * a reason the app can show.
 *
 * @module
 */
import semver from 'semver';
import type { ChannelDocument, ReleasePointer } from '../manifest/channel.js';
import { ringPercent, rolloutBucket } from './bucket.js';

export interface InstallFacts {
  readonly platform: string;
  /** Version in the active slot, null before the first install. */
  readonly currentVersion: string | null;
  /** Versions this install reverted from. */
  readonly bad: readonly string[];
  readonly ring: string | null;
  readonly installId: string;
  readonly allowDowngrade: boolean;
  /** A person asked to check now and the app lets them skip the staged rollout. */
  readonly skipRollout?: boolean;
}

/**
 * Why a check offers nothing: `no-release` (the channel offers none), `no-platform`
 * (not for this platform), `up-to-date`, `downgrade` (older than the running version
 * and `allowDowngrade` is off), `known-bad` (this install reverted from it before),
 * `revoked`, `halted` (the rollout is halted), `not-in-rollout` (this install's bucket
 * is outside its ring's percentage), `deferred` (an automatic check saw this release
 * for the first time and waits for the next check before fetching it; see
 * `AutoUpdateOptions.confirmChecks`).
 */
export type NotAvailableReason =
  | 'no-release'
  | 'no-platform'
  | 'up-to-date'
  | 'downgrade'
  | 'known-bad'
  | 'revoked'
  | 'halted'
  | 'not-in-rollout'
  | 'deferred';

export type Decision =
  | {
      readonly available: true;
      readonly version: string;
      readonly pointer: ReleasePointer;
      readonly critical: boolean;
      /** Below the channel's minimumVersion: take the full path, no patches. */
      readonly fullUpdate: boolean;
    }
  | { readonly available: false; readonly reason: NotAvailableReason; readonly version: string | null };

export function decideUpdate(doc: ChannelDocument, facts: InstallFacts): Decision {
  const release = doc.release;
  if (!release) return { available: false, reason: 'no-release', version: null };
  const version = release.version;
  const no = (reason: NotAvailableReason): Decision => ({ available: false, reason, version });
  const pointer = release.platforms[facts.platform];
  if (!pointer) return no('no-platform');
  // An install running a revoked version moves to the channel's release even if it is
  // older, at once: not subject to the rollout percentage or a halt.
  const escaping = facts.currentVersion !== null && doc.revoked.includes(facts.currentVersion);
  if (facts.currentVersion !== null) {
    const order = semver.compare(version, facts.currentVersion);
    if (order === 0) return no('up-to-date');
    if (order < 0 && !facts.allowDowngrade && !escaping) return no('downgrade');
  }
  if (doc.revoked.includes(version)) return no('revoked');
  if (facts.bad.includes(version)) return no('known-bad');
  if (escaping) return { available: true, version, pointer, critical: true, fullUpdate: false };
  if (doc.rollout.halted) return no('halted');
  if (!facts.skipRollout && rolloutBucket(facts.installId, version) >= ringPercent(doc.rollout.rings, facts.ring)) {
    return no('not-in-rollout');
  }
  const fullUpdate =
    doc.minimumVersion !== null && facts.currentVersion !== null && semver.lt(facts.currentVersion, doc.minimumVersion);
  return { available: true, version, pointer, critical: doc.critical, fullUpdate };
}

/**
 * Whether a download of `version` already under way should stop, judged on a channel
 * document fetched during it: the operator halted the rollout or revoked that
 * version. A download escaping a revoked running version is not stopped by a halt
 * (halts do not apply to it, as in {@link decideUpdate}).
 */
export function downloadStopReason(doc: ChannelDocument, version: string, facts: InstallFacts): 'halted' | 'revoked' | null {
  if (doc.revoked.includes(version)) return 'revoked';
  const decision = decideUpdate(doc, facts);
  return !decision.available && decision.reason === 'halted' ? 'halted' : null;
}

/**
 * Whether an automatic check should wait before fetching a release it is offered,
 * after `sightings` checks in a row (this one included) offered it. Waiting for a
 * second sighting gives the operator one check interval to halt a bad release
 * before the fleet fetches it, and spreads the fetches after a rollout step over two
 * intervals instead of bunching them into the first minutes. Critical releases are
 * fetched at once.
 */
export function holdNewRelease(sightings: number, confirmChecks: number, critical: boolean): boolean {
  return !critical && sightings < confirmChecks;
}
