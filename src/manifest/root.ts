/**
 * Root key documents, `keys/root.<N>.json` (N >= 2): key rotation without a new app
 * build. Root 1 is the key set pinned in the app (`trustedKeys`, `threshold`). Root N
 * names the keys and threshold that sign channel documents from then on; it is
 * accepted only when signed by a threshold of root N-1's keys AND a threshold of its
 * own, so neither a stolen old key set nor a new one alone can take over.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import { type TrustedKeys, openEnvelope, verifyThreshold } from './envelope.js';
import { FieldReader, invalidField } from './fields.js';
import { parsePublicKey } from './keys.js';

export const ROOT_TYPE = 'twinslot/root';
/** A root document is small; anything larger is refused before it is parsed. */
export const MAX_ROOT_BYTES = 512 * 1024;
/** Rotations followed in one check at most (tuf-js uses the same bound). */
export const MAX_ROOT_STEPS = 256;
const MAX_KEYS = 64;

export interface RootDocument {
  readonly app: string;
  readonly version: number;
  /** `ed25519:<base64>` texts. */
  readonly keys: readonly string[];
  readonly threshold: number;
}

export function rootPath(version: number): string {
  return `keys/root.${version}.json`;
}

/** Parses the verified `signed` value of a root document. */
export function parseRootDocument(signed: unknown): RootDocument {
  const r = FieldReader.of(signed, 'root');
  const type = r.raw('_type');
  if (type !== ROOT_TYPE) throw new UpdateError('INVALID_MANIFEST', `expected a ${ROOT_TYPE} document, got ${JSON.stringify(type)}`);
  r.literal('spec', 1);
  const keys = r.array('keys', MAX_KEYS).map((k, i) => {
    try {
      return parsePublicKey(k).text;
    } catch (err) {
      throw invalidField(`root.keys[${i}]`, (err as Error).message);
    }
  });
  if (keys.length === 0) throw invalidField('root.keys', 'is empty');
  if (new Set(keys).size !== keys.length) throw invalidField('root.keys', 'lists a key twice');
  const threshold = r.integer('threshold', 1, keys.length);
  return { app: r.id('app'), version: r.integer('version', 2), keys, threshold };
}

/**
 * Verifies `bytes` as root `version` following `previous`: a threshold of the previous
 * keys and a threshold of the document's own keys must have signed the same bytes.
 */
export function verifyRootStep(bytes: Uint8Array, previous: TrustedKeys, version: number, app: string): { root: RootDocument; trust: TrustedKeys } {
  const what = `root key document ${version}`;
  const opened = openEnvelope(bytes, previous, what, MAX_ROOT_BYTES);
  const root = parseRootDocument(opened.signed);
  if (root.version !== version) throw new UpdateError('ROLLBACK_REJECTED', `${rootPath(version)} holds root version ${root.version}`);
  if (root.app !== app) throw new UpdateError('WRONG_TARGET', `${what} belongs to app ${root.app}, not ${app}`);
  const trust: TrustedKeys = { keys: root.keys.map((k) => parsePublicKey(k)), threshold: root.threshold };
  // Already verified bytes: reading the signatures again is safe now.
  const signatures = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { signatures?: unknown }).signatures;
  verifyThreshold(opened.signedBytes, signatures, trust, `${what} (its own keys)`);
  return { root, trust };
}
