// Seeded, time-boxed fuzzing of everything that reads untrusted bytes: the envelope
// (signature, canonical JSON) and document parsers, the state file and trust.json
// readers, and the patch applier. Only typed UpdateErrors may come out; no input may
// hang. TWINSLOT_FUZZ_MS (per target) and TWINSLOT_FUZZ_SEED make longer or other runs.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPatch } from '../../src/delta/apply.js';
import { encodePatch } from '../../src/delta/encode.js';
import { MemoryFile } from '../../src/delta/memory-file.js';
import { parseChannelDocument } from '../../src/manifest/channel.js';
import { DOCUMENT_LIMITS, openEnvelope } from '../../src/manifest/envelope.js';
import { signBytes } from '../../src/manifest/keys.js';
import { parseReleaseManifest } from '../../src/manifest/release.js';
import { newTrustState, parseTrustState, serializeTrustState } from '../../src/manifest/trust-state.js';
import { formatJournal, parseJournal } from '../../src/slots/state-file.js';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';
import { FUZZ_MS, fuzz } from './fuzz.js';

let feed: FeedFixture;
let channelBytes: Buffer;
let releaseBytes: Buffer;
const reports: Record<string, { runs: number; codes: Record<string, number>; slowestMs: number }> = {};

beforeAll(async () => {
  feed = await createFeedFixture();
  await feed.publish('1.0.0', { payloadBytes: 10_000, chunkSize: 4096 });
  await feed.publish('1.1.0', { payloadBytes: 10_000, chunkSize: 4096, seed: 'seed-1.0.0', edit: 'x', deltasFrom: 1 });
  channelBytes = await readFile(join(feed.feed, 'channels', 'stable.json'));
  releaseBytes = await readFile(join(feed.feed, 'releases', '1.1.0', 'linux-x64.json'));
});

afterAll(async () => {
  await feed?.close();
  process.stdout.write(`fuzz (${FUZZ_MS} ms per target): ${Object.entries(reports).map(([k, r]) => `${k} ${r.runs} inputs, slowest ${r.slowestMs.toFixed(1)} ms`).join('; ')}\n`);
});

const trust = () => ({ keys: [feed.key.publicKey], threshold: 1 });
const DOC_ERRORS = ['INVALID_MANIFEST', 'SIGNATURE_INVALID', 'TOO_LARGE', 'UNSAFE_PATH'];

/** The exact text of the `signed` member of an envelope we produced. */
function signedText(envelope: Buffer): Buffer {
  const text = envelope.toString('utf8');
  return Buffer.from(text.slice('{"signed":'.length, text.lastIndexOf(',"signatures":')), 'utf8');
}

/** An envelope whose signature covers exactly `signed` (so the parser behind the signature is reached). */
function resign(signed: Buffer): Buffer {
  const sig = Buffer.from(signBytes(feed.key, signed)).toString('base64');
  return Buffer.concat([Buffer.from('{"signed":'), signed, Buffer.from(`,"signatures":[{"keyid":"${feed.key.publicKey.keyid}","sig":"${sig}"}]}`)]);
}

describe('fuzzing', () => {
  it('channel documents, as they arrive (signature first)', async () => {
    reports.channel = await fuzz('channel', [channelBytes], (b) => parseChannelDocument(openEnvelope(b, trust(), 'channel', DOCUMENT_LIMITS.channel).signed), DOC_ERRORS);
    expect(reports.channel.runs).toBeGreaterThan(100);
  });

  it('channel and release documents signed by the right key (the canonical-JSON check and the parsers)', async () => {
    const seeds = [signedText(channelBytes), signedText(releaseBytes)];
    reports.signed = await fuzz(
      'signed documents',
      seeds,
      (signed) => {
        const opened = openEnvelope(resign(signed), trust(), 'document', DOCUMENT_LIMITS.release);
        const value = opened.signed as { _type?: unknown } | null;
        const type = typeof value === 'object' && value !== null ? value._type : undefined;
        return type === 'twinslot/channel' ? parseChannelDocument(opened.signed) : parseReleaseManifest(opened.signed);
      },
      DOC_ERRORS,
    );
    // The mutations must get past the signature often enough to test the parsers.
    expect(reports.signed.codes.INVALID_MANIFEST ?? 0).toBeGreaterThan(10);
  });

  it('the state file reader', async () => {
    const journal = formatJournal({
      active: 'b',
      previous: 'a',
      trial: true,
      attempts: 1,
      maxAttempts: 3,
      saves: 2,
      slots: { a: { version: '1.0.0', status: 'good', entry: 'bin/app' }, b: { version: '2.0.0', status: 'trial', entry: 'bin/app' } },
      bad: ['1.5.0'],
    });
    reports.state = await fuzz('state file', [Buffer.from(journal)], (b) => parseJournal(b.toString('utf8')), ['STATE_CORRUPT']);
  });

  it('the trust.json reader', async () => {
    const seed = Buffer.from(serializeTrustState({ ...newTrustState('a'.repeat(32)) }));
    reports.trust = await fuzz('trust.json', [seed], (b) => parseTrustState(b.toString('utf8')), ['STATE_CORRUPT']);
  });

  it('the patch applier', async () => {
    const old = randomBytes(20_000);
    const next = Buffer.concat([old.subarray(0, 5000), randomBytes(300), old.subarray(5000, 15_000), old.subarray(16_000)]);
    for (let i = 0; i < next.length; i += 997) next[i] = next[i]! ^ 0x21;
    const controls = [
      { add: 5000, insert: 300, seek: 0 },
      { add: 10_000, insert: 0, seek: 1000 },
      { add: 4000, insert: 0, seek: 0 },
    ];
    const seeds = [
      await encodePatch(old, next, controls, { quality: 1, segmentBytes: 2048 }),
      await encodePatch(old, next, controls, { quality: 5 }),
      await encodePatch(old, next, controls, { quality: 1, segmentBytes: 2048, layout: 'separate' }), // version 2
    ];
    const expected = createHash('sha256').update(next).digest('hex');
    reports.patch = await fuzz(
      'patch',
      seeds,
      async (patch) => {
        const out = new MemoryFile();
        await applyPatch({ old: new MemoryFile(old), patch: new MemoryFile(patch), patchSize: patch.length, out }, { oldSize: old.length, newSize: next.length, sha256: expected });
        if (!out.contents.equals(next)) throw new Error('a patch that verified produced other bytes');
      },
      ['PATCH_FAILED', 'CHECKSUM_MISMATCH'],
    );
    expect(reports.patch.codes.PATCH_FAILED ?? 0).toBeGreaterThan(10);
  });
});
