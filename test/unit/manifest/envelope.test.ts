import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/manifest/canonical-json.js';
import { DOCUMENT_LIMITS, type TrustedKeys, openEnvelope, sealEnvelope, verifyThreshold } from '../../../src/manifest/envelope.js';
import { type KeyPair, generateKeyPair, signBytes } from '../../../src/manifest/keys.js';
import { expectCode } from '../expect-code.js';

const LIMIT = DOCUMENT_LIMITS.channel;
const DOC = { _type: 'twinslot/channel', app: 'com.example.app', note: 'a "quoted" } ] , value \\ é', sequence: 7, list: [1, { z: null }] };

const k1 = generateKeyPair();
const k2 = generateKeyPair();
const k3 = generateKeyPair();
const stranger = generateKeyPair();

function trust(pairs: readonly KeyPair[], threshold: number): TrustedKeys {
  return { keys: pairs.map((p) => p.publicKey), threshold };
}

/** A signature entry over `text` (the exact bytes of the signed member). */
function sigOver(pair: KeyPair, text: string): { keyid: string; sig: string } {
  return { keyid: pair.publicKey.keyid, sig: Buffer.from(signBytes(pair, Buffer.from(text, 'utf8'))).toString('base64') };
}

/** An envelope whose signed member is `signedText` verbatim, signed by `pairs`. */
function rawEnvelope(signedText: string, pairs: readonly KeyPair[], extra = ''): Uint8Array {
  return Buffer.from(`{"signed":${signedText},"signatures":${JSON.stringify(pairs.map((p) => sigOver(p, signedText)))}${extra}}`);
}

function envelopeWith(signatures: unknown[]): Uint8Array {
  return Buffer.from(`{"signed":${canonicalJson(DOC)},"signatures":${JSON.stringify(signatures)}}`);
}

describe('sealEnvelope + openEnvelope', () => {
  it('opens a valid 1-of-1 document and returns the parsed value, exact bytes and signer', () => {
    const opened = openEnvelope(sealEnvelope(DOC, [k1]), trust([k1], 1), 'doc', LIMIT);
    expect(opened.signed).toEqual(DOC);
    expect(Buffer.from(opened.signedBytes).toString('utf8')).toBe(canonicalJson(DOC));
    expect(opened.signers).toEqual([k1.publicKey.keyid]);
  });

  it('opens a 2-of-3 document signed by two of the three keys', () => {
    const opened = openEnvelope(sealEnvelope(DOC, [k1, k3]), trust([k1, k2, k3], 2), 'doc', LIMIT);
    expect([...opened.signers].sort()).toEqual([k1.publicKey.keyid, k3.publicKey.keyid].sort());
  });

  it('refuses a 2-of-3 document signed by only one trusted key', () => {
    const err = expectCode(() => openEnvelope(sealEnvelope(DOC, [k2, stranger]), trust([k1, k2, k3], 2), 'doc', LIMIT), 'SIGNATURE_INVALID');
    expect(err.details).toEqual({ valid: 1, threshold: 2 });
  });

  it('refuses a document signed only by an untrusted key', () => {
    expectCode(() => openEnvelope(sealEnvelope(DOC, [stranger]), trust([k1], 1), 'doc', LIMIT), 'SIGNATURE_INVALID');
  });

  it('accepts 2 valid signatures plus 1 garbage signature at threshold 2', () => {
    const text = canonicalJson(DOC);
    const garbage = { keyid: k3.publicKey.keyid, sig: Buffer.alloc(64, 0xab).toString('base64') };
    const opened = openEnvelope(envelopeWith([sigOver(k1, text), garbage, sigOver(k2, text)]), trust([k1, k2, k3], 2), 'doc', LIMIT);
    expect(opened.signers).toHaveLength(2);
  });

  it('ignores a garbage entry for a key and still counts its valid entry', () => {
    const text = canonicalJson(DOC);
    const garbage = { keyid: k1.publicKey.keyid, sig: 'not base64!' };
    expect(openEnvelope(envelopeWith([garbage, sigOver(k1, text)]), trust([k1], 1), 'doc', LIMIT).signers).toEqual([k1.publicKey.keyid]);
  });

  it('accepts whitespace and member order in the outer envelope', () => {
    const text = canonicalJson(DOC);
    const bytes = Buffer.from(`\n{ "signatures" : [ ${JSON.stringify(sigOver(k1, text))} ] ,\n\t"signed" : ${text} }\n`);
    expect(openEnvelope(bytes, trust([k1], 1), 'doc', LIMIT).signed).toEqual(DOC);
  });

  it('refuses a document with one flipped byte in the signed part (SIGNATURE_INVALID)', () => {
    const bytes = Buffer.from(sealEnvelope(DOC, [k1]));
    const at = bytes.indexOf('com.example.app');
    expect(at).toBeGreaterThan(0);
    bytes[at]! ^= 0x07; // 'c' -> 'd': still valid, canonical JSON
    expectCode(() => openEnvelope(bytes, trust([k1], 1), 'doc', LIMIT), 'SIGNATURE_INVALID');
  });

  it('refuses a signed part with whitespace even when signed over those bytes', () => {
    const spaced = JSON.stringify(JSON.parse(canonicalJson(DOC)), null, 1);
    expectCode(() => openEnvelope(rawEnvelope(spaced, [k1]), trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
  });

  it('refuses a signed part with reordered keys even when signed over those bytes', () => {
    const reordered = '{"sequence":7,"app":"com.example.app"}';
    expectCode(() => openEnvelope(rawEnvelope(reordered, [k1]), trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
  });

  it('refuses a signed part with a duplicate key even when signed over those bytes', () => {
    const dup = '{"app":"com.example.app","app":"com.evil.app"}';
    expectCode(() => openEnvelope(rawEnvelope(dup, [k1]), trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
  });

  it('refuses a signed part with a float even when signed over those bytes', () => {
    expectCode(() => openEnvelope(rawEnvelope('{"n":1.5}', [k1]), trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
  });

  it('refuses a repeated "signed" member', () => {
    const text = canonicalJson(DOC);
    const evil = canonicalJson({ ...DOC, app: 'com.evil.app' });
    const sigs = JSON.stringify([sigOver(k1, text)]);
    expectCode(() => openEnvelope(Buffer.from(`{"signed":${text},"signed":${evil},"signatures":${sigs}}`), trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
    expectCode(() => openEnvelope(Buffer.from(`{"signed":${text},"sign\\u0065d":${evil},"signatures":${sigs}}`), trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
  });

  it('refuses an extra or missing top-level member', () => {
    const text = canonicalJson(DOC);
    expectCode(() => openEnvelope(rawEnvelope(text, [k1], ',"extra":1'), trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
    expectCode(() => openEnvelope(Buffer.from(`{"signed":${text}}`), trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
  });

  it.each([
    ['not JSON', '{"signed":'],
    ['an array', '[]'],
    ['a string', '"signed"'],
    ['an empty object', '{}'],
  ])('refuses %s with INVALID_MANIFEST', (_name, text) => {
    expectCode(() => openEnvelope(Buffer.from(text), trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
  });

  it('refuses a body over the cap with TOO_LARGE and accepts one exactly at it', () => {
    const bytes = sealEnvelope(DOC, [k1]);
    expectCode(() => openEnvelope(bytes, trust([k1], 1), 'doc', bytes.length - 1), 'TOO_LARGE');
    expect(openEnvelope(bytes, trust([k1], 1), 'doc', bytes.length).signed).toEqual(DOC);
  });

  it('refuses invalid UTF-8 with INVALID_MANIFEST', () => {
    const bytes = Buffer.from(sealEnvelope(DOC, [k1]));
    const at = bytes.indexOf('com.example.app');
    bytes[at] = 0xff;
    expectCode(() => openEnvelope(bytes, trust([k1], 1), 'doc', LIMIT), 'INVALID_MANIFEST');
  });
});

describe('verifyThreshold', () => {
  const text = canonicalJson(DOC);
  const message = Buffer.from(text, 'utf8');

  it('counts a signature listed twice once', () => {
    const err = expectCode(() => verifyThreshold(message, [sigOver(k1, text), sigOver(k1, text)], trust([k1, k2], 2), 'doc'), 'SIGNATURE_INVALID');
    expect(err.details).toEqual({ valid: 1, threshold: 2 });
  });

  it('counts the same key given twice in the trust list once', () => {
    expectCode(() => verifyThreshold(message, [sigOver(k1, text)], trust([k1, k1], 2), 'doc'), 'SIGNATURE_INVALID');
  });

  it('ignores signatures by unknown keys', () => {
    const sigs = [sigOver(stranger, text), sigOver(k1, text)];
    expect(verifyThreshold(message, sigs, trust([k1], 1), 'doc')).toEqual([k1.publicKey.keyid]);
    expectCode(() => verifyThreshold(message, sigs, trust([k1, k2], 2), 'doc'), 'SIGNATURE_INVALID');
  });

  it('refuses a valid signature presented under another key id', () => {
    const forged = { keyid: k2.publicKey.keyid, sig: sigOver(k1, text).sig };
    expectCode(() => verifyThreshold(message, [forged], trust([k2], 1), 'doc'), 'SIGNATURE_INVALID');
  });

  it('refuses malformed signature lists with INVALID_MANIFEST', () => {
    expectCode(() => verifyThreshold(message, 'sig', trust([k1], 1), 'doc'), 'INVALID_MANIFEST');
    expectCode(() => verifyThreshold(message, [{ keyid: k1.publicKey.keyid }], trust([k1], 1), 'doc'), 'INVALID_MANIFEST');
    const many = Array.from({ length: DOCUMENT_LIMITS.signatures + 1 }, () => sigOver(k1, text));
    expectCode(() => verifyThreshold(message, many, trust([k1], 1), 'doc'), 'INVALID_MANIFEST');
  });

  it('refuses a threshold that is not a positive integer', () => {
    for (const threshold of [0, -1, 1.5, Number.NaN]) {
      expectCode(() => verifyThreshold(message, [sigOver(k1, text)], trust([k1], threshold), 'doc'), 'INVALID_OPTIONS');
    }
  });
});
