import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeBase64Exact,
  generateKeyPair,
  keyIdOf,
  keyPairFromSeed,
  parsePublicKey,
  signBytes,
  verifyBytes,
} from '../../../src/manifest/keys.js';
import { expectCode } from '../expect-code.js';

const text = (bytes: Uint8Array): string => 'ed25519:' + Buffer.from(bytes).toString('base64');

describe('parsePublicKey', () => {
  it('decodes a generated key and derives the key id from SHA-256 of the raw bytes', () => {
    const pair = generateKeyPair();
    const key = parsePublicKey(pair.publicKey.text);
    expect(key.bytes).toHaveLength(32);
    expect(key.text).toBe(pair.publicKey.text);
    expect(key.text.startsWith('ed25519:')).toBe(true);
    const expected = createHash('sha256').update(key.bytes).digest('hex').slice(0, 16);
    expect(key.keyid).toBe(expected);
    expect(key.keyid).toMatch(/^[0-9a-f]{16}$/);
    expect(keyIdOf(key.bytes)).toBe(expected);
  });

  it('gives different keys different ids', () => {
    expect(generateKeyPair().publicKey.keyid).not.toBe(generateKeyPair().publicKey.keyid);
  });

  it.each([
    ['a non-string', 42],
    ['a missing prefix', Buffer.alloc(32, 7).toString('base64')],
    ['another algorithm', 'rsa:' + Buffer.alloc(32, 7).toString('base64')],
    ['an empty key', 'ed25519:'],
    ['31 bytes', 'ed25519:' + Buffer.alloc(31, 7).toString('base64')],
    ['33 bytes', 'ed25519:' + Buffer.alloc(33, 7).toString('base64')],
    ['base64url characters', 'ed25519:' + '_'.repeat(43) + '='],
    ['missing padding', 'ed25519:' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')],
    ['embedded whitespace', 'ed25519: ' + Buffer.alloc(32, 7).toString('base64')],
  ])('rejects %s with INVALID_OPTIONS', (_name, value) => {
    expectCode(() => parsePublicKey(value), 'INVALID_OPTIONS');
  });

  it('rejects non-canonical base64 (non-zero padding bits) of a valid key', () => {
    const good = generateKeyPair().publicKey.text;
    const b64 = good.slice('ed25519:'.length); // 44 chars, last data char carries 2 unused bits
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(b64[42]!);
    const sloppy = b64.slice(0, 42) + alphabet[last ^ 1] + '=';
    // Same bytes, different text: a key must have exactly one spelling.
    expect(Buffer.from(sloppy, 'base64').equals(Buffer.from(b64, 'base64'))).toBe(true);
    expectCode(() => parsePublicKey('ed25519:' + sloppy), 'INVALID_OPTIONS');
  });

  it('rejects the identity point (small order)', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expectCode(() => parsePublicKey(text(identity)), 'INVALID_OPTIONS');
  });

  it('rejects the all-zero key (small order)', () => {
    expectCode(() => parsePublicKey(text(new Uint8Array(32))), 'INVALID_OPTIONS');
  });

  it('rejects bytes that are not a curve point', () => {
    // y = 2 has no x on edwards25519.
    const bytes = new Uint8Array(32);
    bytes[0] = 2;
    expectCode(() => parsePublicKey(text(bytes)), 'INVALID_OPTIONS');
  });
});

describe('decodeBase64Exact', () => {
  it('returns the bytes only for exactly the requested length in canonical form', () => {
    const bytes = Buffer.from('hello world');
    expect(decodeBase64Exact(bytes.toString('base64'), bytes.length)).toEqual(new Uint8Array(bytes));
    expect(decodeBase64Exact(bytes.toString('base64'), bytes.length + 1)).toBeNull();
    expect(decodeBase64Exact('aGVsbG8=\n', 5)).toBeNull();
  });
});

describe('keys: sign and verify', () => {
  it('round-trips a signature', () => {
    const pair = generateKeyPair();
    const message = new TextEncoder().encode('{"a":1}');
    const sig = signBytes(pair, message);
    expect(sig).toHaveLength(64);
    expect(verifyBytes(pair.publicKey, message, sig)).toBe(true);
  });

  it('refuses a changed message, a changed signature, another key and a wrong-length signature', () => {
    const pair = generateKeyPair();
    const message = new TextEncoder().encode('release 2.0.0');
    const sig = signBytes(pair, message);
    const otherMessage = new TextEncoder().encode('release 2.0.1');
    expect(verifyBytes(pair.publicKey, otherMessage, sig)).toBe(false);
    const flipped = Uint8Array.from(sig);
    flipped[10]! ^= 1;
    expect(verifyBytes(pair.publicKey, message, flipped)).toBe(false);
    expect(verifyBytes(generateKeyPair().publicKey, message, sig)).toBe(false);
    expect(verifyBytes(pair.publicKey, message, sig.slice(0, 63))).toBe(false);
  });

  it('derives the same key pair from the same seed', () => {
    const seed = new Uint8Array(32).fill(9);
    const one = keyPairFromSeed(seed);
    const two = keyPairFromSeed(Uint8Array.from(seed));
    expect(one.publicKey.text).toBe(two.publicKey.text);
    // The pair keeps its own copy of the seed.
    seed.fill(0);
    expect(one.seed).toEqual(new Uint8Array(32).fill(9));
  });

  it('uses the injected randomness and refuses a seed of the wrong size', () => {
    const pair = generateKeyPair((n) => new Uint8Array(n).fill(9));
    expect(pair.publicKey.text).toBe(keyPairFromSeed(new Uint8Array(32).fill(9)).publicKey.text);
    expectCode(() => keyPairFromSeed(new Uint8Array(31)), 'INVALID_OPTIONS');
    expectCode(() => generateKeyPair((n) => new Uint8Array(n - 1)), 'INVALID_OPTIONS');
  });
});
