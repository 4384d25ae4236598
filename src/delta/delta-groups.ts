/**
 * The delta stream's groups, added over the old bytes of each operation: a run of
 * bytes equal to the old file, then a run of changed bytes (new - old, mod 256).
 *
 * Two layouts (see format.ts): version 1 interleaves each group's two varints with its
 * literal bytes in one stream; version 2 keeps the varints in a stream of their own.
 * Either way a group's varints lie in one segment and its literals in one segment, so
 * the per-byte work is synchronous and only moving to a next segment waits.
 *
 * @module
 */
import { patchFailed } from './format.js';
import type { SegmentStream } from './segments.js';

/** Where the delta stream is inside the current operation. */
interface GroupState {
  /** Bytes of the operation not yet claimed by a group. */
  uncovered: number;
  /** Of the current group: equal bytes still to skip, changed bytes still to add, where those are in the literal segment. */
  zeros: number;
  literals: number;
  at: number;
  /** Version 2: the current group's literals are in the next literal segment, not yet loaded. */
  unplaced: boolean;
}

export class DeltaGroups {
  readonly #literals: SegmentStream;
  readonly #headers: SegmentStream | null;
  readonly #g: GroupState = { uncovered: 0, zeros: 0, literals: 0, at: 0, unplaced: false };

  /** `headers` is the separate header stream of a version 2 patch, null for version 1. */
  constructor(delta: SegmentStream, headers: SegmentStream | null) {
    this.#literals = delta;
    this.#headers = headers;
  }

  /** An operation of `total` old bytes begins: its groups must cover exactly that many. */
  startOperation(total: number): void {
    this.#g.uncovered = total;
  }

  /**
   * Adds the groups over `block[base, base + n)`, which holds the old bytes. Returns how
   * many bytes it covered: fewer than `n` only when a segment is used up and
   * {@link refill} must load the next.
   */
  add(block: Buffer, base: number, n: number): number {
    return addGroups(this.#g, this.#headers ?? this.#literals, this.#literals, block, base, n);
  }

  /** Loads the segment {@link add} stopped at. */
  async refill(): Promise<void> {
    const g = this.#g;
    if (!this.#headers) {
      if (!(await this.#literals.fill())) throw patchFailed('patch delta stream ends early');
    } else if (g.unplaced) {
      const lits = this.#literals;
      if (!(await lits.fill())) throw patchFailed('patch delta stream ends early');
      if (g.literals > lits.remaining) throw patchFailed('patch delta literals run past their segment');
      g.at = lits.pos;
      lits.pos += g.literals;
      g.unplaced = false;
    } else if (!(await this.#headers.fill())) {
      throw patchFailed('patch delta header stream ends early');
    }
  }
}

/**
 * Reads groups from `headers` and adds their literals from `literals`, which are the same
 * stream in version 1 (each group's literals follow its varints). Synchronous and small
 * so V8 optimises it early: bsdiff's groups are tiny (most change 1-3 bytes), hundreds
 * of thousands per file, so the per-group cost is what counts; the varints are nearly
 * always one byte and are read inline.
 */
function addGroups(g: GroupState, headers: SegmentStream, literals: SegmentStream, block: Buffer, base: number, n: number): number {
  const interleaved = headers === literals;
  const heads = headers.bytes;
  const end = heads.length;
  let pos = headers.pos;
  let { zeros, literals: pending, at, uncovered } = g;
  const lits = literals.bytes;
  let p = 0;
  while (p < n) {
    if (zeros > 0) {
      const k = Math.min(zeros, n - p);
      zeros -= k;
      p += k;
    } else if (pending > 0) {
      if (g.unplaced) break;
      const k = Math.min(pending, n - p);
      const o = base + p;
      for (let i = 0; i < k; i++) block[o + i] = (block[o + i]! + lits[at + i]!) & 0xff;
      pending -= k;
      at += k;
      p += k;
    } else {
      if (pos === end) break;
      let z = heads[pos]!;
      if (z < 0x80) pos++;
      else {
        headers.pos = pos;
        z = headers.varint();
        pos = headers.pos;
      }
      let l = pos < end ? heads[pos]! : 0x80;
      if (l < 0x80) pos++;
      else {
        headers.pos = pos;
        l = headers.varint(); // throws when the number runs past the segment
        pos = headers.pos;
      }
      if (z + l === 0 || z + l > uncovered) throw patchFailed('patch delta run does not fit its operation');
      uncovered -= z + l;
      zeros = z;
      pending = l;
      if (interleaved) {
        if (l > end - pos) throw patchFailed('patch delta literals run past their segment');
        at = pos;
        pos += l;
      } else if (l > 0) {
        const left = lits.length - literals.pos;
        if (l <= left) {
          at = literals.pos;
          literals.pos += l;
        } else if (left > 0) {
          throw patchFailed('patch delta literals run past their segment');
        } else {
          g.unplaced = true; // refill() loads the next literal segment once the zeros are skipped
        }
      }
    }
  }
  headers.pos = pos;
  g.zeros = zeros;
  g.literals = pending;
  g.at = at;
  g.uncovered = uncovered;
  return p;
}
