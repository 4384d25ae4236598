/**
 * Ed25519 keys as twinslot writes them: `ed25519:<base64 of the 32-byte key>`, with a
 * key id of the first 16 hex digits of SHA-256 over the raw key (DESIGN.md §5).
 *
 * Verification uses noble's strict RFC 8032 branch (`zip215: false`), and keys of
 * small order are refused when loaded: such a key "verifies" signatures nobody made.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { UpdateError } from '../errors.js';

ed.hashes.sha512 = sha512;

const PREFIX = 'ed25519:';

/** A trusted public key, decoded. */
export interface PublicKey {
  /** First 16 hex digits of SHA-256 of the raw key. */
  readonly keyid: string;
  /** The 32 raw key bytes. */
  readonly bytes: Uint8Array;
  /** The key in its text form, `ed25519:<base64>`. */
  readonly text: string;
}

/** A signing key pair. The seed is secret. */
export interface KeyPair {
  /** The public half, to give to clients (`trustedKeys`, `--pub`). */
  readonly publicKey: PublicKey;
  /** The 32-byte Ed25519 private seed. Keep it secret. */
  readonly seed: Uint8Array;
}

/** The key id of 32 raw key bytes. */
export function keyIdOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** Decodes `ed25519:<base64>`; throws `INVALID_OPTIONS` for anything else or a weak key. */
export function parsePublicKey(text: unknown): PublicKey {
  if (typeof text !== 'string' || !text.startsWith(PREFIX)) {
    throw new UpdateError('INVALID_OPTIONS', `a public key must look like "ed25519:<base64>", got ${describe(text)}`);
  }
  const b64 = text.slice(PREFIX.length);
  const bytes = decodeBase64Exact(b64, 32);
  if (!bytes) throw new UpdateError('INVALID_OPTIONS', `public key ${describe(text)} is not 32 bytes of base64`);
  let point: ed.Point;
  try {
    point = ed.Point.fromBytes(bytes, false);
  } catch (err) {
    throw new UpdateError('INVALID_OPTIONS', `public key ${describe(text)} is not a valid ed25519 point`, { cause: err });
  }
  if (point.isSmallOrder()) {
    throw new UpdateError('INVALID_OPTIONS', `public key ${describe(text)} has small order and would accept forged signatures`);
  }
  return Object.freeze({ keyid: keyIdOf(bytes), bytes, text: PREFIX + Buffer.from(bytes).toString('base64') });
}

/** A fresh key pair from `random` (32 bytes of entropy; node:crypto by default). */
export function generateKeyPair(random: (n: number) => Uint8Array = (n) => randomBytes(n)): KeyPair {
  const seed = random(32);
  return keyPairFromSeed(seed);
}

/** The key pair of a 32-byte seed. */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new UpdateError('INVALID_OPTIONS', 'an ed25519 seed is 32 bytes');
  const pub = ed.getPublicKey(seed);
  return { publicKey: parsePublicKey(PREFIX + Buffer.from(pub).toString('base64')), seed: Uint8Array.from(seed) };
}

/** Signs `message` with `pair`; returns the 64-byte signature. */
export function signBytes(pair: KeyPair, message: Uint8Array): Uint8Array {
  return ed.sign(message, pair.seed);
}

/** True when `signature` is a valid strict RFC 8032 signature of `message` by `key`. */
export function verifyBytes(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return ed.verify(signature, message, key.bytes, { zip215: false });
  } catch {
    return false;
  }
}

/** Base64 that decodes to exactly `length` bytes and re-encodes to the same text, or null. */
export function decodeBase64Exact(text: string, length: number): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length || bytes.toString('base64') !== text) return null;
  return new Uint8Array(bytes);
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 80 ? text.slice(0, 77) + '...' : text);
}
