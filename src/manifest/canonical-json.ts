/**
 * Canonical JSON: the byte form every signature covers.
 *
 * Rules: object keys sorted by UTF-16 code unit order, no whitespace, strings escaped
 * as `JSON.stringify` does, numbers only as safe integers (floats, -0, NaN and
 * exponents have more than one spelling, so signed documents never carry them),
 * and only plain objects, arrays, strings, integers, booleans and null.
 *
 * @module
 */
import { UpdateError } from '../errors.js';

/** Serialises `value` canonically; throws `INVALID_MANIFEST` for anything outside the rules. */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, 0);
  return parts.join('');
}

const MAX_DEPTH = 64;

function write(value: unknown, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw invalid('nesting deeper than 64 levels');
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) throw invalid(`number ${value} is not a safe integer`);
    out.push(String(value));
  } else if (typeof value === 'string') {
    out.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item, out, depth + 1);
    });
    out.push(']');
  } else if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    out.push('{');
    keys.forEach((key, i) => {
      if (record[key] === undefined) throw invalid(`key ${JSON.stringify(key)} is undefined`);
      if (i > 0) out.push(',');
      out.push(JSON.stringify(key), ':');
      write(record[key], out, depth + 1);
    });
    out.push('}');
  } else {
    throw invalid(`a ${typeof value} cannot be signed`);
  }
}

function invalid(why: string): UpdateError {
  return new UpdateError('INVALID_MANIFEST', `not canonical JSON: ${why}`);
}
