import { describe, expect, it } from 'vitest';
import { ProgressView } from '../../../src/cli/progress.js';

function view(tty: boolean) {
  let now = 0;
  const out: string[] = [];
  const v = new ProgressView({ tty, write: (t) => void out.push(t) }, () => now);
  return { v, out, advance: (ms: number) => (now += ms) };
}

describe('ProgressView on a terminal', () => {
  it('redraws in place at most 10 times a second, always the last state, and wipes the bar at the end', () => {
    const { v, out, advance } = view(true);
    for (let i = 0; i <= 100; i++) {
      v.update('hashing', i * 1024, 100 * 1024);
      advance(10); // 1 s in all
    }
    expect(out.length).toBeGreaterThanOrEqual(10);
    expect(out.length).toBeLessThanOrEqual(12);
    expect(out.every((t) => t.startsWith('\r\x1b[2K'))).toBe(true);
    expect(out.at(-1)).toMatch(/^\r\x1b\[2Khashing \[#{24}\] 100% 100 KiB \/ 100 KiB$/);
    v.end();
    expect(out.at(-1)).toBe('\r\x1b[2K');
  });
});

describe('ProgressView elsewhere (CI logs, pipes)', () => {
  it('prints nothing for quick work', () => {
    const { v, out, advance } = view(false);
    v.update('downloading', 0, 10);
    advance(1500);
    v.update('downloading', 10, 10);
    v.end();
    expect(out).toEqual([]);
  });

  it('prints a plain line after 2 s, then at most every 5 s, and a done line; no control characters', () => {
    const { v, out, advance } = view(false);
    for (let s = 0; s <= 20; s++) {
      v.update('diffing changed files', s * 1024 * 1024, 20 * 1024 * 1024);
      advance(1000);
    }
    v.end();
    expect(out).toEqual([
      'diffing changed files: 2.0 MiB / 20 MiB (10%)\n',
      'diffing changed files: 7.0 MiB / 20 MiB (35%)\n',
      'diffing changed files: 12 MiB / 20 MiB (60%)\n',
      'diffing changed files: 17 MiB / 20 MiB (85%)\n',
      'diffing changed files: 20 MiB / 20 MiB (100%) done\n',
    ]);
    // eslint-disable-next-line no-control-regex
    expect(out.join('')).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
  });
});
