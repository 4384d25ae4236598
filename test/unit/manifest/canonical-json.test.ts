import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/manifest/canonical-json.js';
import { expectCode } from '../expect-code.js';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('canonicalJson', () => {
  it('sorts object keys and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, false, null], c: { z: 'x', y: '' } })).toBe('{"a":[true,false,null],"b":1,"c":{"y":"","z":"x"}}');
  });

  it('gives one spelling whatever the insertion order', () => {
    const one = { app: 'x', sequence: 3, nested: { k: 1, j: 2 } };
    const two = { nested: { j: 2, k: 1 }, sequence: 3, app: 'x' };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it('sorts keys by UTF-16 code units, not by locale', () => {
    // 'B' (0x42) < 'a' (0x61) < 'é' (0xe9) < '😀' (0xd83d...) in code-unit order.
    expect(canonicalJson({ é: 1, a: 2, '😀': 3, B: 4 })).toBe('{"B":4,"a":2,"é":1,"😀":3}');
  });

  it('escapes strings as JSON.stringify does and keeps non-ASCII as is', () => {
    expect(canonicalJson({ s: 'line\n"quoted"\\ é' })).toBe('{"s":"line\\n\\"quoted\\"\\\\ é"}');
  });

  it('writes safe integers, including 0 and negatives', () => {
    expect(canonicalJson([0, -5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])).toBe(`[0,-5,${Number.MAX_SAFE_INTEGER},${Number.MIN_SAFE_INTEGER}]`);
  });

  it('parses back to an equal value', () => {
    const value = { files: [{ path: 'bin/app', size: 10, mode: 493 }], halted: false, minimumVersion: null };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it.each([
    ['a float', 1.5],
    ['-0', -0],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an unsafe integer', 2 ** 53],
    ['undefined', undefined],
    ['a bigint', 1n],
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
    ['a Date', new Date(0)],
    ['a Map', new Map()],
    ['a Uint8Array', new Uint8Array(2)],
    ['a class instance', new (class Thing {})()],
    ['an object without prototype', Object.create(null) as object],
  ])('rejects %s with INVALID_MANIFEST', (_name, value) => {
    expectCode(() => canonicalJson(value), 'INVALID_MANIFEST');
    expectCode(() => canonicalJson({ nested: [value] }), 'INVALID_MANIFEST');
  });

  it('rejects a key whose value is undefined instead of dropping it', () => {
    expectCode(() => canonicalJson({ a: 1, b: undefined }), 'INVALID_MANIFEST');
  });

  it('rejects undefined inside an array instead of writing null', () => {
    expectCode(() => canonicalJson([1, undefined]), 'INVALID_MANIFEST');
  });

  it('accepts moderate nesting and rejects deep nesting', () => {
    expect(canonicalJson(nested(60))).toBe('['.repeat(60) + '1' + ']'.repeat(60));
    expectCode(() => canonicalJson(nested(200)), 'INVALID_MANIFEST');
  });
});
