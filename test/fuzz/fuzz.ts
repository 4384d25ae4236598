/**
 * A small seeded mutation fuzzer: the same seed gives the same inputs, so a failure
 * prints what reproduces it. Each target runs for a fixed time budget
 * (TWINSLOT_FUZZ_MS per target, default 2 000) from seed TWINSLOT_FUZZ_SEED.
 */
import { isUpdateError } from '../../src/errors.js';

export const FUZZ_MS = Number(process.env.TWINSLOT_FUZZ_MS ?? 2000);
export const FUZZ_SEED = Number(process.env.TWINSLOT_FUZZ_SEED ?? 20261123);

export type Rng = (n: number) => number;

export function rng(seed: number): Rng {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return n <= 1 ? 0 : s % n;
  };
}

const INTERESTING = ['0', '-1', '1e309', '9007199254740993', '""', 'null', 'true', '[]', '{}', '"\\u0000"', '"..\\/x"', '"a\\\\b"', '-0', '0.5', '"é"', '"e\\u0301"'];

/** One to four mutations: bit flips, byte changes, inserts, deletes, splices of the input with itself, JSON-ish tokens. */
export function mutate(input: Buffer, r: Rng): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + r(4);
  for (let i = 0; i < rounds; i++) {
    const at = r(b.length + 1);
    switch (r(8)) {
      case 0:
        if (b.length) {
          const i = r(b.length);
          b[i] = b[i]! ^ (1 << r(8));
        }
        break;
      case 1:
        if (b.length) b[r(b.length)] = r(256);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([r(256)]), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r(16)))]);
        break;
      case 4: {
        const from = r(b.length + 1);
        const len = r(64);
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]);
        break;
      }
      case 5:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(INTERESTING[r(INTERESTING.length)]!), b.subarray(at + r(8))]);
        break;
      case 6:
        b = b.subarray(0, at); // truncation
        break;
      default: {
        // Replace a digit run with a large or negative number.
        const text = b.toString('latin1');
        const m = [...text.matchAll(/\d+/g)];
        if (m.length) {
          const pick = m[r(m.length)]!;
          const big = ['4294967296', '-5', '99999999999999999999', '0', '18446744073709551616'][r(5)]!;
          b = Buffer.from(text.slice(0, pick.index) + big + text.slice(pick.index! + pick[0].length), 'latin1');
        }
      }
    }
  }
  return b;
}

export interface FuzzReport {
  runs: number;
  codes: Record<string, number>;
  slowestMs: number;
}

/**
 * Runs `target` on mutations of `seeds` until the budget is spent. Every input must
 * succeed or throw an UpdateError whose code is in `allowed`; none may take longer
 * than `hangMs`. Returns what happened, or throws with a reproducer.
 */
export async function fuzz(
  name: string,
  seeds: readonly Buffer[],
  target: (input: Buffer) => unknown,
  allowed: readonly string[],
  options: { budgetMs?: number; hangMs?: number; seed?: number } = {},
): Promise<FuzzReport> {
  const budget = options.budgetMs ?? FUZZ_MS;
  const hangMs = options.hangMs ?? 2000;
  const r = rng((options.seed ?? FUZZ_SEED) ^ hash(name));
  const report: FuzzReport = { runs: 0, codes: {}, slowestMs: 0 };
  const started = performance.now();
  while (performance.now() - started < budget) {
    const input = mutate(seeds[r(seeds.length)]!, r);
    const t0 = performance.now();
    let code = 'ok';
    try {
      await target(input);
    } catch (err) {
      if (!isUpdateError(err) || !allowed.includes(err.code)) {
        throw new Error(`${name}: input #${report.runs} (seed ${options.seed ?? FUZZ_SEED}) ended in ${isUpdateError(err) ? err.code : String(err)}; input (base64): ${input.toString('base64').slice(0, 2000)}`, { cause: err });
      }
      code = err.code;
    }
    const ms = performance.now() - t0;
    if (ms > hangMs) throw new Error(`${name}: input #${report.runs} took ${ms.toFixed(0)} ms; input (base64): ${input.toString('base64').slice(0, 2000)}`);
    report.slowestMs = Math.max(report.slowestMs, ms);
    report.codes[code] = (report.codes[code] ?? 0) + 1;
    report.runs++;
  }
  return report;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
