import { describe, expect, it } from 'vitest';
import { ERROR_CODES, UpdateError, fromFsError, isUpdateError, isUpdateErrorCode } from '../../src/errors.js';

describe('UpdateError', () => {
  it('carries code, message, details and cause', () => {
    const cause = new Error('root cause');
    const err = new UpdateError('CHECKSUM_MISMATCH', 'bytes differ', { cause, details: { expected: 'aa', actual: 'bb' } });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('UpdateError');
    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(err.message).toBe('bytes differ');
    expect(err.details).toEqual({ expected: 'aa', actual: 'bb' });
    expect(err.cause).toBe(cause);
  });

  it('defaults details to an empty object and leaves cause unset', () => {
    const err = new UpdateError('NETWORK', 'offline');
    expect(err.details).toEqual({});
    expect('cause' in err).toBe(false);
  });

  it('serialises to JSON without the cause or stack', () => {
    const err = new UpdateError('LOCKED', 'held', { cause: new Error('x'), details: { pid: 42 } });
    expect(JSON.parse(JSON.stringify(err))).toEqual({ name: 'UpdateError', code: 'LOCKED', message: 'held', details: { pid: 42 } });
  });
});

describe('isUpdateError', () => {
  it('is true for an UpdateError and for instanceof checks', () => {
    const err = new UpdateError('IO', 'x');
    expect(isUpdateError(err)).toBe(true);
    expect(err instanceof UpdateError).toBe(true);
  });

  it('is false for a plain object that only looks like one', () => {
    const fake = { name: 'UpdateError', code: 'IO', message: 'x', details: {} };
    expect(isUpdateError(fake)).toBe(false);
    expect(fake instanceof UpdateError).toBe(false);
  });

  it('is false for ordinary errors and non-objects', () => {
    const plain = Object.assign(new Error('x'), { code: 'IO' });
    expect(isUpdateError(plain)).toBe(false);
    expect(isUpdateError(null)).toBe(false);
    expect(isUpdateError(undefined)).toBe(false);
    expect(isUpdateError('IO')).toBe(false);
  });

  it('recognises an error branded by another copy of the library', () => {
    // Another copy shares the Symbol.for brand but not the class.
    const foreign = Object.defineProperty(new Error('x'), Symbol.for('twinslot.UpdateError'), { value: true });
    expect(isUpdateError(foreign)).toBe(true);
    expect(foreign instanceof UpdateError).toBe(true);
  });
});

describe('isUpdateErrorCode', () => {
  it('accepts every documented code and nothing else', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(isUpdateErrorCode(code)).toBe(true);
    expect(isUpdateErrorCode('NOPE')).toBe(false);
    expect(isUpdateErrorCode('toString')).toBe(false);
    expect(isUpdateErrorCode(42)).toBe(false);
  });

  it('documents the codes DESIGN.md promises', () => {
    for (const code of ['SIGNATURE_INVALID', 'ROLLBACK_REJECTED', 'MANIFEST_EXPIRED', 'CHECKSUM_MISMATCH', 'NETWORK', 'PATCH_FAILED', 'DISK_FULL', 'LOCKED', 'HEALTH_CHECK_FAILED', 'UNSAFE_PATH', 'TOO_LARGE', 'ABORTED']) {
      expect(ERROR_CODES).toHaveProperty(code);
    }
  });
});

describe('fromFsError', () => {
  const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed`), { code });

  it('maps ENOSPC and EDQUOT to DISK_FULL and keeps the cause', () => {
    const enospc = errno('ENOSPC');
    const err = fromFsError(enospc, 'writing slot b');
    expect(err.code).toBe('DISK_FULL');
    expect(err.cause).toBe(enospc);
    expect(err.message).toContain('writing slot b');
    expect(fromFsError(errno('EDQUOT'), 'x').code).toBe('DISK_FULL');
  });

  it('maps other errors to IO with the errno in details', () => {
    const err = fromFsError(errno('EACCES'), 'opening state');
    expect(err.code).toBe('IO');
    expect(err.details).toEqual({ errno: 'EACCES' });
    expect(err.message).toContain('opening state');
    expect(err.message).toContain('EACCES: failed');
  });

  it('handles non-Error values', () => {
    const err = fromFsError('boom', 'x');
    expect(err.code).toBe('IO');
    expect(err.message).toBe('x: boom');
  });

  it('passes an UpdateError through unchanged', () => {
    const original = new UpdateError('ABORTED', 'stop');
    expect(fromFsError(original, 'x')).toBe(original);
  });
});
