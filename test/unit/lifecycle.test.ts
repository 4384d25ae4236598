import { describe, expect, it } from 'vitest';
import { BUSY, type Phase, type PhaseEvent, nextPhase } from '../../src/lifecycle.js';
import { expectCode } from './expect-code.js';

const EVENTS: PhaseEvent[] = ['check', 'found', 'found-staged', 'none', 'download', 'downloaded', 'install', 'installed', 'confirm', 'confirmed', 'rollback', 'rolled-back', 'fail'];

/** Runs `events` from `start`, returning the phase after each. */
function walk(start: Phase, events: PhaseEvent[]): Phase[] {
  const seen: Phase[] = [];
  let phase = start;
  for (const e of events) {
    phase = nextPhase(phase, e);
    seen.push(phase);
  }
  return seen;
}

describe('nextPhase', () => {
  it('follows the happy path check -> download -> install -> confirm', () => {
    expect(walk('idle', ['check', 'found', 'download', 'downloaded', 'install', 'installed', 'confirm', 'confirmed'])).toEqual([
      'checking',
      'available',
      'downloading',
      'downloaded',
      'installing',
      'installed',
      'confirming',
      'idle',
    ]);
  });

  it('goes back to idle when nothing is found, and to downloaded when a staged update is found', () => {
    expect(nextPhase('checking', 'none')).toBe('idle');
    expect(nextPhase('checking', 'found-staged')).toBe('downloaded');
  });

  it('returns to the phase before a failed step', () => {
    expect(nextPhase('checking', 'fail')).toBe('idle');
    expect(nextPhase('downloading', 'fail')).toBe('available');
    expect(nextPhase('installing', 'fail')).toBe('downloaded');
    expect(nextPhase('confirming', 'fail')).toBe('idle');
    expect(nextPhase('rolling-back', 'fail')).toBe('idle');
  });

  it('allows rollback and confirm from every resting phase', () => {
    for (const phase of ['idle', 'available', 'downloaded', 'installed'] as Phase[]) {
      expect(nextPhase(phase, 'rollback')).toBe('rolling-back');
      expect(nextPhase(phase, 'confirm')).toBe('confirming');
      expect(nextPhase(phase, 'check')).toBe('checking');
    }
    expect(nextPhase('rolling-back', 'rolled-back')).toBe('idle');
  });

  it.each([
    ['install before download', 'idle', 'install'],
    ['install while only available', 'available', 'install'],
    ['download before a check', 'idle', 'download'],
    ['download twice', 'downloading', 'download'],
    ['check while checking', 'checking', 'check'],
    ['check while downloading', 'downloading', 'check'],
    ['rollback while installing', 'installing', 'rollback'],
    ['confirm while rolling back', 'rolling-back', 'confirm'],
    ['download after download', 'downloaded', 'download'],
    ['a step completion out of turn', 'idle', 'installed'],
    ['fail while resting', 'idle', 'fail'],
  ] as [string, Phase, PhaseEvent][])('refuses %s with INVALID_STATE', (_name, phase, event) => {
    const err = expectCode(() => nextPhase(phase, event), 'INVALID_STATE');
    expect(err.details).toEqual({ phase, event });
  });

  it('says "busy" for any new step while a step runs', () => {
    for (const phase of BUSY) {
      for (const event of ['check', 'download', 'install', 'confirm', 'rollback'] as PhaseEvent[]) {
        expect(expectCode(() => nextPhase(phase, event), 'INVALID_STATE').message).toContain('busy');
      }
    }
  });

  it('never leaves a busy phase except by finishing or failing its own step', () => {
    const finish: Record<string, PhaseEvent[]> = {
      checking: ['found', 'found-staged', 'none', 'fail'],
      downloading: ['downloaded', 'fail'],
      installing: ['installed', 'fail'],
      confirming: ['confirmed', 'fail'],
      'rolling-back': ['rolled-back', 'fail'],
    };
    for (const phase of BUSY) {
      const allowed = EVENTS.filter((e) => {
        try {
          nextPhase(phase, e);
          return true;
        } catch {
          return false;
        }
      });
      expect(allowed.sort()).toEqual([...finish[phase]!].sort());
    }
  });
});
