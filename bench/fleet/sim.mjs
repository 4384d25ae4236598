// One simulated day of a fleet polling a channel document on a real origin.
//
// Each install is a small state object (id, ring, version, ETag + last verified
// document, trust state, errors) run through the library's own client pieces from
// dist/: fetchDocument (conditional GET with If-None-Match), openEnvelope +
// parseChannelDocument on a 200 only (a 304 reuses the cached verified document, as
// fetchChannel does with its ChannelCache), admitChannelDocument (rollback/expiry),
// decideUpdate (rollout percentages, rings, halt), holdNewRelease (a new release is fetched at its second offer in a row) and nextCheckDelay (jitter,
// backoff, max-age) for the next check.
//
// Time is virtual: a priority queue holds every install's next check (and the
// publisher's channel edits) in simulated milliseconds; the driver pops them in order
// and issues each real HTTP request when the real clock reaches the mapped time
// (t0 + v / compression). A check is counted in the simulated minute it was scheduled
// for; its next check is scheduled from that same virtual time, so the virtual
// timeline does not depend on how busy this machine is (the lag is measured instead).
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { setImmediate as yieldLoop, setTimeout as sleep } from 'node:timers/promises';
import { REPO } from '../lib/dist.mjs';
import { EventHeap } from './heap.mjs';

const dist = (p) => import(new URL(`file://${REPO}/dist/${p}`).href);
const { fetchDocument } = await dist('transfer/document.js');
const { DOCUMENT_LIMITS, openEnvelope } = await dist('manifest/envelope.js');
const { parseChannelDocument } = await dist('manifest/channel.js');
const { admitChannelDocument, newTrustState } = await dist('manifest/trust-state.js');
const { verifyRelease } = await dist('flow/slot-release.js');
const { decideUpdate, holdNewRelease } = await dist('policy/eligibility.js');
const { ringPercent, rolloutBucket } = await dist('policy/bucket.js');
const { nextCheckDelay } = await dist('policy/schedule.js');

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** 32-bit integer hash (lowbias32). */
function mix(x) {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d);
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A uniform number in [0, 1) for install `i`'s `n`-th draw: reproducible from the seed, independent of event order. */
export function draw(seed, i, n) {
  return mix(mix(mix(seed) ^ i) ^ n) / 2 ** 32;
}

/** Install ids as real installs have them (16 random bytes, hex), derived from the seed so a run can be repeated. */
export function installIds(seed, count) {
  return Array.from({ length: count }, (_, i) => createHash('sha256').update(`twinslot-fleet:${seed}:${i}`).digest('hex').slice(0, 32));
}

/**
 * Signature checks as the library does them, once per distinct document body: the
 * first install that receives a given body verifies it with openEnvelope (or
 * verifyRelease); later installs that receive the very same bytes reuse that result.
 * The cost is the devices' CPU, not the origin's; `verifyAll` checks every 200.
 */
export function makeVerifier({ publicKey, app, platform, verifyAll }) {
  const trust = { keys: [publicKey], threshold: 1 };
  const channels = new Map();
  const releases = new Map();
  const stats = { channelVerified: 0, channelReused: 0, releaseVerified: 0, releaseReused: 0, verifyMs: 0 };
  return {
    stats,
    channel(bytes, what) {
      const key = sha256(bytes);
      const hit = verifyAll ? undefined : channels.get(key);
      if (hit) {
        stats.channelReused++;
        return hit;
      }
      const t0 = performance.now();
      const opened = openEnvelope(bytes, trust, what, DOCUMENT_LIMITS.channel);
      stats.verifyMs += performance.now() - t0;
      stats.channelVerified++;
      const result = { signed: opened.signed, signedSha: sha256(opened.signedBytes) };
      channels.set(key, result);
      return result;
    },
    release(bytes, version, what) {
      const key = sha256(bytes);
      const hit = verifyAll ? undefined : releases.get(key);
      if (hit) {
        stats.releaseReused++;
        return hit;
      }
      const t0 = performance.now();
      const verified = verifyRelease({ trust, config: { appId: app, platform } }, bytes, { version, what });
      stats.verifyMs += performance.now() - t0;
      stats.releaseVerified++;
      releases.set(key, verified);
      return verified;
    },
  };
}

/** nginx's ETag for a static file: hex mtime in seconds, hex size. */
async function nginxEtag(path) {
  const s = await stat(path);
  return `"${Math.floor(s.mtimeMs / 1000).toString(16)}-${s.size.toString(16)}"`;
}

/**
 * Runs one simulated day. Returns raw per-minute counts, download events, edit times,
 * counters and lag samples; run.mjs turns them into figures.
 *
 * `edits`: [{ at (virtual ms), label, apply: async () => editChannel's result ({ path, sequence }) }].
 * `firstDelay(inst, random)`: virtual ms until an install's first check.
 */
export async function simulateDay(o) {
  const { ids, rings, http, feedUrl, channel, app, platform, dayMs, realMs, settings, firstDelay, edits, seed, verifier, maxInflight, log } = o;
  const confirmChecks = o.confirmChecks ?? 2; // the Updater's default
  const C = dayMs / realMs; // virtual ms per real ms
  const channelUrl = new URL(`channels/${channel}.json`, feedUrl);
  const what = `channel document ${channel}`;
  const minutes = Math.ceil(dayMs / MINUTE);
  const bins = { checks: new Uint32Array(minutes), manifests: new Uint32Array(minutes), s200: new Uint32Array(minutes), s304: new Uint32Array(minutes) };
  const counts = { checks: 0, s200: 0, s304: 0, errors: 0, manifests: 0, quiet304: 0, quiet200: 0, firstChecks: 0 };
  const stability = { bucketChecks: 0, bucketChanged: 0, decisionsChecked: 0, decisionsInconsistent: 0 };
  const downloads = [];
  const editLog = [];
  const errors = [];
  const issueLag = []; // virtual ms between a check's scheduled time and when it was sent
  const answerLag = []; // ... and when its answer was in
  const maxLagByMinute = new Float64Array(minutes); // largest answer lag of the checks scheduled in each minute
  const installs = ids.map((id, i) => ({
    i,
    id,
    ring: rings[i],
    version: '1.0.0',
    etag: null,
    doc: null,
    signedSha: null,
    trust: newTrustState(id),
    maxAgeMs: null,
    errors: 0,
    draws: 0,
    bucket: new Map(),
    sighting: null,
  }));

  const heap = new EventHeap();
  for (const edit of edits) heap.push({ v: edit.at, edit });
  for (const inst of installs) heap.push({ v: firstDelay(inst, draw(seed, inst.i, inst.draws++)), inst });

  let inflight = 0;
  let wake = null;
  const done = () => {
    inflight--;
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const t0 = performance.now();
  const realNow = () => performance.now() - t0;

  async function check(inst, v) {
    const minute = Math.min(minutes - 1, Math.floor(v / MINUTE));
    const due = v / C;
    issueLag.push((realNow() - due) * C);
    counts.checks++;
    bins.checks[minute]++;
    const prevSeq = inst.doc ? inst.doc.sequence : null;
    if (prevSeq === null) counts.firstChecks++;
    try {
      const res = await fetchDocument(http, channelUrl, { maxBytes: DOCUMENT_LIMITS.channel, what, etag: inst.doc ? inst.etag : null });
      const answeredAt = realNow();
      answerLag.push((answeredAt - due) * C);
      if ((answeredAt - due) * C > maxLagByMinute[minute]) maxLagByMinute[minute] = (answeredAt - due) * C;
      let doc;
      let signedSha;
      if (res.status === 304) {
        // As fetchChannel with its ChannelCache: no parsing, no signature check.
        doc = inst.doc;
        signedSha = inst.signedSha;
        counts.s304++;
        bins.s304[minute]++;
        if (prevSeq !== null) counts.quiet304++;
      } else {
        const opened = verifier.channel(res.bytes, what);
        doc = parseChannelDocument(opened.signed);
        signedSha = opened.signedSha;
        counts.s200++;
        bins.s200[minute]++;
        if (prevSeq !== null && doc.sequence === prevSeq) counts.quiet200++;
      }
      inst.trust = admitChannelDocument(inst.trust, doc, signedSha, Date.now(), { app, channel });
      if (res.status === 200) Object.assign(inst, { etag: res.etag, doc, signedSha });
      inst.maxAgeMs = res.maxAgeMs;
      for (const e of editLog) if (doc.sequence >= e.sequence && !e.seen.has(inst.i)) e.seen.set(inst.i, v);

      // Buckets must not change between checks of one install.
      let bucket = null;
      if (doc.release) {
        bucket = rolloutBucket(inst.id, doc.release.version);
        const first = inst.bucket.get(doc.release.version);
        stability.bucketChecks++;
        if (first === undefined) inst.bucket.set(doc.release.version, bucket);
        else if (first !== bucket) stability.bucketChanged++;
      }
      const decision = decideUpdate(doc, { platform, currentVersion: inst.version, bad: [], ring: inst.ring, installId: inst.id, allowDowngrade: false });
      // The decision must be exactly "bucket < the ring's percentage" for a newer, unhalted release.
      if (doc.release && doc.release.version !== inst.version && !doc.rollout.halted && doc.release.platforms[platform]) {
        stability.decisionsChecked++;
        if (decision.available !== bucket < ringPercent(doc.rollout.rings, inst.ring)) stability.decisionsInconsistent++;
      }
      // As Updater.startAutoUpdate: a release is fetched at its confirmChecks-th offer in a row.
      let offered = decision.available;
      if (offered) {
        const count = inst.sighting?.version === decision.version ? inst.sighting.count + 1 : 1;
        inst.sighting = { version: decision.version, count };
        if (holdNewRelease(count, confirmChecks, decision.critical)) offered = false;
      } else inst.sighting = null;
      if (offered) {
        downloads.push({ i: inst.i, ring: inst.ring, v, answeredReal: answeredAt, sequence: doc.sequence, version: decision.version, bucket });
        counts.manifests++;
        bins.manifests[minute]++;
        const p = decision.pointer;
        const what2 = `release manifest ${decision.version}`;
        const m = await fetchDocument(http, new URL(p.url, feedUrl), { maxBytes: Math.min(p.size, DOCUMENT_LIMITS.release), what: what2 });
        if (m.status !== 200 || m.bytes.length !== p.size || sha256(m.bytes) !== p.sha256) throw new Error(`${what2} does not match the pin`);
        verifier.release(m.bytes, decision.version, what2);
        // No blobs: the install "downloads" and moves to the new version at once.
        inst.version = decision.version;
      }
      inst.errors = 0;
    } catch (err) {
      inst.errors++;
      counts.errors++;
      if (errors.length < 20) errors.push(`${(v / HOUR).toFixed(3)} h: ${err.message}`);
    }
    const delay = nextCheckDelay(settings, { now: v, errors: inst.errors, maxAgeMs: inst.maxAgeMs, random: draw(seed, inst.i, inst.draws++), minuteOfDay: () => 0 });
    if (v + delay < dayMs) heap.push({ v: v + delay, inst });
  }

  let sinceYield = 0;
  let lastEtag = await nginxEtag(o.channelFile);
  while (heap.size > 0) {
    const ev = heap.peek();
    if (ev.v >= dayMs) break;
    const wait = ev.v / C - realNow();
    if (wait > 1) {
      // Short naps: answers can queue checks due before the one at the top now.
      await sleep(Math.min(wait, 5));
      continue;
    }
    heap.pop();
    if (ev.edit) {
      const startReal = realNow();
      const { path, sequence } = await ev.edit.apply();
      const doneReal = realNow();
      const etag = await nginxEtag(path);
      if (etag === lastEtag) throw new Error(`edit "${ev.edit.label}" left nginx's ETag at ${etag} (same second, same size): give the run more --seconds`);
      lastEtag = etag;
      editLog.push({ label: ev.edit.label, at: ev.edit.at, startReal, doneReal, startV: startReal * C, doneV: doneReal * C, sequence, etag, seen: new Map() });
      log?.(`${o.name}: ${hhmm(ev.edit.at)} ${ev.edit.label} (${((doneReal - startReal)).toFixed(1)} ms real, ${etag}), ${counts.checks} checks so far`);
      continue;
    }
    while (inflight >= maxInflight) await new Promise((r) => (wake = r));
    inflight++;
    check(ev.inst, ev.v).finally(done);
    if (++sinceYield >= 64) {
      sinceYield = 0;
      await yieldLoop();
    }
  }
  while (inflight > 0) await new Promise((r) => (wake = r));
  const elapsedReal = realNow();
  return {
    compression: C,
    elapsedRealMs: elapsedReal,
    bins,
    counts,
    stability,
    downloads,
    edits: editLog,
    errors,
    issueLag,
    answerLag,
    maxLagByMinute,
    installs: installs.map((x) => ({ ring: x.ring, version: x.version })),
  };
}

export function hhmm(ms) {
  const m = Math.round(ms / MINUTE);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
