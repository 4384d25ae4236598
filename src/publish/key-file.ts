/**
 * The publisher's private key file (`twinslot.key`, mode 0600). JSON so it can carry
 * its own public key and be checked when loaded; the seed never leaves this file
 * except into the signing call.
 *
 * @module
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { UpdateError } from '../errors.js';
import { type KeyPair, decodeBase64Exact, keyPairFromSeed } from '../manifest/keys.js';

const KEY_TYPE = 'twinslot-signing-key';

export function formatKeyFile(pair: KeyPair): string {
  return (
    JSON.stringify(
      {
        type: KEY_TYPE,
        algorithm: 'ed25519',
        publicKey: pair.publicKey.text,
        keyid: pair.publicKey.keyid,
        seed: Buffer.from(pair.seed).toString('base64'),
      },
      null,
      2,
    ) + '\n'
  );
}

export function parseKeyFile(text: string, where: string): KeyPair {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new UpdateError('INVALID_OPTIONS', `${where} is not a twinslot key file`, { cause: err });
  }
  if (value?.type !== KEY_TYPE || value.algorithm !== 'ed25519' || typeof value.seed !== 'string') {
    throw new UpdateError('INVALID_OPTIONS', `${where} is not a twinslot ed25519 key file`);
  }
  const seed = decodeBase64Exact(value.seed, 32);
  if (!seed) throw new UpdateError('INVALID_OPTIONS', `${where} has a damaged seed`);
  const pair = keyPairFromSeed(seed);
  if (value.publicKey !== undefined && value.publicKey !== pair.publicKey.text) {
    throw new UpdateError('INVALID_OPTIONS', `${where}: its public key does not match its seed`);
  }
  return pair;
}

/**
 * Reads a key file written by {@link writeKeyFile} (or `twinslot keygen`). A malformed
 * file, or one whose public key does not match its seed, is `INVALID_OPTIONS`.
 */
export async function readKeyFile(path: string): Promise<KeyPair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UpdateError('INVALID_OPTIONS', `cannot read key file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseKeyFile(text, path);
}

/** Writes a key file readable only by its owner; refuses to overwrite one. */
export async function writeKeyFile(path: string, pair: KeyPair): Promise<void> {
  try {
    await writeFile(path, formatKeyFile(pair), { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UpdateError('INVALID_OPTIONS', `${path} already exists; refusing to overwrite a signing key`);
    }
    throw new UpdateError('IO', `cannot write key file ${path}: ${(err as Error).message}`, { cause: err });
  }
}
