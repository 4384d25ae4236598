/**
 * Hand-written field guards for signed documents (no schema library: the rules are
 * few, and each failure must name the field). Every failure is `INVALID_MANIFEST`.
 *
 * @module
 */
import semver from 'semver';
import { UpdateError } from '../errors.js';
import { isPlainObject } from './envelope.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PLATFORM = /^[a-z0-9]{1,32}-[a-z0-9_]{1,32}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?Z$/;

/** Reads typed fields of one JSON object, naming `where` in every error. */
export class FieldReader {
  constructor(
    readonly value: Record<string, unknown>,
    readonly where: string,
  ) {}

  static of(value: unknown, where: string): FieldReader {
    if (!isPlainObject(value)) throw invalidField(where, 'is not an object');
    return new FieldReader(value, where);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.value, key) && this.value[key] !== null;
  }

  raw(key: string): unknown {
    if (!Object.hasOwn(this.value, key)) throw invalidField(`${this.where}.${key}`, 'is missing');
    return this.value[key];
  }

  string(key: string, max = 4096): string {
    const v = this.raw(key);
    if (typeof v !== 'string') throw invalidField(`${this.where}.${key}`, `must be a string, is ${kind(v)}`);
    if (v.length > max) throw invalidField(`${this.where}.${key}`, `is longer than ${max} characters`);
    return v;
  }

  literal<T extends string | number>(key: string, expected: T): T {
    const v = this.raw(key);
    if (v !== expected) throw invalidField(`${this.where}.${key}`, `must be ${JSON.stringify(expected)}, is ${JSON.stringify(v)}`);
    return expected;
  }

  integer(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidField(`${this.where}.${key}`, `must be an integer, is ${kind(v)}`);
    if (v < min || v > max) throw invalidField(`${this.where}.${key}`, `must be between ${min} and ${max}, is ${v}`);
    return v;
  }

  boolean(key: string): boolean {
    const v = this.raw(key);
    if (typeof v !== 'boolean') throw invalidField(`${this.where}.${key}`, `must be true or false, is ${kind(v)}`);
    return v;
  }

  id(key: string): string {
    const v = this.string(key, 128);
    if (!ID.test(v)) throw invalidField(`${this.where}.${key}`, `is not a valid id (letters, digits, . _ -): ${JSON.stringify(v)}`);
    return v;
  }

  platform(key: string): string {
    return checkPlatform(this.string(key, 80), `${this.where}.${key}`);
  }

  sha256(key: string): string {
    const v = this.string(key, 64);
    if (!SHA256.test(v)) throw invalidField(`${this.where}.${key}`, 'is not 64 lowercase hex digits');
    return v;
  }

  version(key: string): string {
    return checkVersion(this.string(key, 256), `${this.where}.${key}`);
  }

  time(key: string): number {
    return parseTime(this.string(key, 40), `${this.where}.${key}`);
  }

  array(key: string, max: number): unknown[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) throw invalidField(`${this.where}.${key}`, `must be an array, is ${kind(v)}`);
    if (v.length > max) throw invalidField(`${this.where}.${key}`, `has more than ${max} entries`);
    return v;
  }

  object(key: string): FieldReader {
    return FieldReader.of(this.raw(key), `${this.where}.${key}`);
  }
}

export function checkVersion(v: string, where: string): string {
  if (semver.valid(v) !== v) throw invalidField(where, `is not a semantic version: ${JSON.stringify(v)}`);
  return v;
}

export function checkPlatform(v: string, where: string): string {
  if (!PLATFORM.test(v)) throw invalidField(where, `is not a platform like "linux-x64": ${JSON.stringify(v)}`);
  return v;
}

/** Strict RFC 3339 UTC (`2026-01-02T03:04:05Z`) to epoch milliseconds; anything else is an error, never "no expiry". */
export function parseTime(v: string, where: string): number {
  const m = TIME.exec(v);
  const ms = m ? Date.parse(v) : NaN;
  // Date.parse rolls 2026-02-31 over to March; the round trip catches it.
  if (!m || !Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 19) !== v.slice(0, 19)) {
    throw invalidField(where, `is not an RFC 3339 UTC time like 2026-01-02T03:04:05Z: ${JSON.stringify(v)}`);
  }
  return ms;
}

export function invalidField(where: string, why: string): UpdateError {
  return new UpdateError('INVALID_MANIFEST', `${where} ${why}`, { details: { field: where } });
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
