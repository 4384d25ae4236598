/**
 * The signed envelope: `{ "signed": {...}, "signatures": [{ "keyid", "sig" }] }`.
 *
 * Opening one follows a fixed order, so nothing untrusted is used before it is
 * verified: cap the size; decode strict UTF-8; find the exact bytes of the `signed`
 * member; verify a threshold of distinct trusted keys over those bytes; require those
 * bytes to be canonical JSON (so one document has exactly one signed spelling and a
 * duplicate key cannot hide a second value); only then hand the parsed value on.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import { decodeBase64Exact, type KeyPair, type PublicKey, signBytes, verifyBytes } from './keys.js';

/** Keys and threshold a document must satisfy. */
export interface TrustedKeys {
  /** The keys whose signatures count. */
  readonly keys: readonly PublicKey[];
  /** Number of distinct trusted keys whose signature is required (k of n). */
  readonly threshold: number;
}

/** A verified document. */
export interface OpenedEnvelope {
  /** The parsed `signed` value; still needs a document parser. */
  readonly signed: unknown;
  /** The exact canonical bytes that were verified. */
  readonly signedBytes: Uint8Array;
  /** Key ids of the trusted keys whose signatures verified. */
  readonly signers: readonly string[];
}

/** Caps in bytes. */
export const DOCUMENT_LIMITS = {
  /** A channel document or a root key document. */
  channel: 1024 * 1024,
  /** A release manifest (also capped at the size the channel document pins). */
  release: 32 * 1024 * 1024,
  /** At most this many signature entries are looked at. */
  signatures: 64,
} as const;

/**
 * Verifies `bytes` as an envelope signed by `trust.threshold` distinct keys of
 * `trust.keys`; `what` names the document in messages.
 */
export function openEnvelope(bytes: Uint8Array, trust: TrustedKeys, what: string, maxBytes: number): OpenedEnvelope {
  if (bytes.length > maxBytes) {
    throw new UpdateError('TOO_LARGE', `${what} is ${bytes.length} bytes, over the ${maxBytes}-byte cap`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new UpdateError('INVALID_MANIFEST', `${what} is not valid UTF-8`, { cause: err });
  }
  let outer: unknown;
  try {
    outer = JSON.parse(text);
  } catch (err) {
    throw new UpdateError('INVALID_MANIFEST', `${what} is not valid JSON`, { cause: err });
  }
  if (!isPlainObject(outer)) throw new UpdateError('INVALID_MANIFEST', `${what} is not a signed envelope`);
  const members = topLevelMembers(text, what);
  const names = [...members.keys()].sort().join(',');
  if (names !== 'signatures,signed') {
    throw new UpdateError('INVALID_MANIFEST', `${what} must have exactly "signed" and "signatures", has ${names || 'nothing'}`);
  }
  const signedText = members.get('signed')!;
  const signedBytes = Buffer.from(signedText, 'utf8');
  const signers = verifyThreshold(signedBytes, outer.signatures, trust, what);

  const signed: unknown = outer.signed;
  let canonical: string;
  try {
    canonical = canonicalJson(signed);
  } catch (err) {
    throw new UpdateError('INVALID_MANIFEST', `${what}: signed part is not canonical JSON`, { cause: err });
  }
  if (canonical !== signedText) {
    throw new UpdateError('INVALID_MANIFEST', `${what}: signed part is not in canonical form`);
  }
  return { signed, signedBytes, signers };
}

/** Counts distinct trusted keys with a valid signature; throws `SIGNATURE_INVALID` under the threshold. */
export function verifyThreshold(message: Uint8Array, signatures: unknown, trust: TrustedKeys, what: string): string[] {
  if (!Array.isArray(signatures)) throw new UpdateError('INVALID_MANIFEST', `${what}: "signatures" is not an array`);
  if (signatures.length > DOCUMENT_LIMITS.signatures) {
    throw new UpdateError('INVALID_MANIFEST', `${what}: more than ${DOCUMENT_LIMITS.signatures} signatures`);
  }
  if (!Number.isSafeInteger(trust.threshold) || trust.threshold < 1) {
    throw new UpdateError('INVALID_OPTIONS', `threshold must be a positive integer, got ${trust.threshold}`);
  }
  const byId = new Map<string, PublicKey>();
  for (const key of trust.keys) byId.set(key.keyid, key);
  const good = new Set<string>();
  for (const entry of signatures) {
    if (!isPlainObject(entry) || typeof entry.keyid !== 'string' || typeof entry.sig !== 'string') {
      throw new UpdateError('INVALID_MANIFEST', `${what}: a signature entry is not { keyid, sig }`);
    }
    const key = byId.get(entry.keyid);
    // A key counts once however many entries name it.
    if (!key || good.has(key.keyid)) continue;
    const sig = decodeBase64Exact(entry.sig, 64);
    if (sig && verifyBytes(key, message, sig)) good.add(key.keyid);
  }
  if (good.size < trust.threshold) {
    throw new UpdateError(
      'SIGNATURE_INVALID',
      `${what} has ${good.size} valid signature(s) by trusted keys, ${trust.threshold} required`,
      { details: { valid: good.size, threshold: trust.threshold } },
    );
  }
  return [...good];
}

/** Signs `signed` with every key in `pairs` and returns the envelope bytes. */
export function sealEnvelope(signed: unknown, pairs: readonly KeyPair[]): Uint8Array {
  const signedText = canonicalJson(signed);
  const message = Buffer.from(signedText, 'utf8');
  const signatures = pairs.map((pair) => ({
    keyid: pair.publicKey.keyid,
    sig: Buffer.from(signBytes(pair, message)).toString('base64'),
  }));
  return Buffer.from(`{"signed":${signedText},"signatures":${JSON.stringify(signatures)}}\n`, 'utf8');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The raw text of each member of the top-level object. The text is already known to
 * be valid JSON, so this only has to track strings and nesting. A repeated member is
 * refused: JSON.parse would silently keep the last one.
 */
function topLevelMembers(text: string, what: string): Map<string, string> {
  const members = new Map<string, string>();
  let i = skipSpace(text, 0);
  if (text[i] !== '{') throw new UpdateError('INVALID_MANIFEST', `${what} is not a JSON object`);
  i = skipSpace(text, i + 1);
  if (text[i] === '}') return members;
  for (;;) {
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    i = skipSpace(text, i + 1); // the ':'
    const valueEnd = endOfValue(text, i);
    if (members.has(key)) throw new UpdateError('INVALID_MANIFEST', `${what} repeats the member ${JSON.stringify(key)}`);
    members.set(key, text.slice(i, valueEnd));
    i = skipSpace(text, valueEnd);
    if (text[i] === '}') return members;
    i = skipSpace(text, i + 1); // the ','
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  return i;
}

function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function endOfValue(text: string, start: number): number {
  const first = text[start];
  if (first === '"') return endOfString(text, start);
  if (first !== '{' && first !== '[') {
    let i = start;
    while (i < text.length && !',}] \n\r\t'.includes(text[i]!)) i++;
    return i;
  }
  let depth = 0;
  let i = start;
  for (;;) {
    const c = text[i];
    if (c === '"') {
      i = endOfString(text, i);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
}
