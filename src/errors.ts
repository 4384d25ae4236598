/**
 * The one error type twinslot raises, and the one table of its codes.
 *
 * Callers match on `error.code` (a string union), never on the message. The table
 * below is the single source of the codes: the union type, `isUpdateError()` and the
 * docs are all derived from it, so a code cannot exist without a description.
 *
 * @module
 */

// The table itself. Its keys make the code union; its strings are the descriptions
// that `npm run docs` writes into docs/error-codes.md (scripts/error-codes.mjs).
const TABLE = {
  INVALID_OPTIONS: 'An option passed to a constructor or method is missing or malformed.',
  INVALID_MANIFEST:
    'A channel document, release manifest or key document is malformed: wrong type, missing field, unknown document type or spec version.',
  TOO_LARGE: 'A document or blob is larger than its cap or than the size its signed metadata states.',
  SIGNATURE_INVALID: 'A document does not carry a threshold of valid signatures by trusted keys.',
  ROLLBACK_REJECTED: 'A channel document has a lower sequence than one already trusted.',
  MANIFEST_EXPIRED: 'A signed document is past its expiry time.',
  WRONG_TARGET: 'A signed document is for another app, channel, platform or version than the one asked for.',
  CHECKSUM_MISMATCH: 'Bytes downloaded or staged do not match the SHA-256 their signed metadata pins.',
  NETWORK: 'The feed could not be reached or answered with an unusable response.',
  PATCH_FAILED: 'A binary patch is corrupt or produced the wrong output.',
  DISK_FULL: 'The file system ran out of space while staging.',
  LOCKED: 'Another updater holds the lock on this install root.',
  HEALTH_CHECK_FAILED: 'A health probe failed, timed out or crashed.',
  UNSAFE_PATH: 'A path in a manifest or on disk could escape its slot or collide with another.',
  ABORTED: 'The operation was cancelled through its AbortSignal.',
  INVALID_STATE: 'The call does not fit the current lifecycle state (for example install before download).',
  STATE_CORRUPT: 'The install root is damaged: the state file or a slot cannot be read.',
  IO: 'A file system operation failed for a reason other than a full disk.',
} as const satisfies Record<string, string>;

/**
 * A stable machine-readable error code: one of the keys of {@link ERROR_CODES}.
 *
 * @useDeclaredType
 */
export type UpdateErrorCode = keyof typeof TABLE;

/**
 * Every error code twinslot can raise, mapped to what it means. This object is the one
 * source of the codes: the {@link UpdateErrorCode} union is its keys, and the error-code
 * reference (docs/error-codes.md) is generated from it.
 *
 * @example
 * ```ts
 * console.log(ERROR_CODES.ROLLBACK_REJECTED); // 'A channel document has a lower sequence ...'
 * ```
 */
export const ERROR_CODES: Readonly<Record<UpdateErrorCode, string>> = TABLE;

const BRAND = Symbol.for('twinslot.UpdateError');

/** Options accepted by {@link UpdateError}. */
export interface UpdateErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** JSON-safe facts about the failure (URL, path, expected and actual hash...). */
  details?: Record<string, unknown>;
}

/**
 * The error every failing twinslot operation rejects with.
 *
 * @example
 * ```ts
 * try { await updater.downloadUpdate(); }
 * catch (err) { if (isUpdateError(err) && err.code === 'CHECKSUM_MISMATCH') { ... } }
 * ```
 */
export class UpdateError extends Error {
  /** Stable code; see {@link ERROR_CODES}. */
  readonly code: UpdateErrorCode;
  /** JSON-safe facts about the failure. */
  readonly details: Record<string, unknown>;

  constructor(code: UpdateErrorCode, message: string, options: UpdateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UpdateError';
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** A JSON-safe view for logs and reports (the cause is left out: it may not serialize). */
  toJSON(): {
    /** Always `'UpdateError'`. */
    name: string;
    /** The stable code. */
    code: UpdateErrorCode;
    /** The human-readable message. */
    message: string;
    /** The JSON-safe facts. */
    details: Record<string, unknown>;
  } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }

  /**
   * Makes `err instanceof UpdateError` true for an UpdateError from any copy of twinslot
   * (two copies are loaded when, say, an app and a plugin each bundle one).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isUpdateError(value);
  }
}

/** True for an {@link UpdateError} from any copy of twinslot. */
export function isUpdateError(value: unknown): value is UpdateError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** True when `code` is one of {@link ERROR_CODES}. */
export function isUpdateErrorCode(code: unknown): code is UpdateErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * Maps a Node file-system error onto a twinslot code: ENOSPC and EDQUOT are a full
 * disk, everything else is IO. An UpdateError passes through unchanged.
 */
export function fromFsError(err: unknown, what: string): UpdateError {
  if (isUpdateError(err)) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UpdateError('DISK_FULL', `${what}: no space left on device`, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new UpdateError('IO', `${what}: ${reason}`, { cause: err, details: { errno: code } });
}
