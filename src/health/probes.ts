/**
 * Health probes: data that says how to tell a slot is healthy. `command` spawns a
 * program in the slot (argv, never a shell), `http` GETs a URL until it answers 2xx,
 * `function` awaits a predicate. Each has a timeout; a run of several has a deadline.
 *
 * @module
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';

/** When a probe runs: before the switch against the staged slot, or in `confirmStartup()`. */
export type ProbePhase = 'pre-switch' | 'post-start';

interface ProbeBase {
  /** Shown in events; defaults to a description of the probe. */
  readonly name?: string;
  /** Per-probe timeout in ms (default 30 000). */
  readonly timeoutMs?: number;
}

/** Spawn a program with the slot as working directory; healthy when it exits with `expectExitCode` (default 0). */
export interface CommandProbe extends ProbeBase {
  readonly kind: 'command';
  /** Program and arguments. A program containing `/` is relative to the slot. */
  readonly command: readonly string[];
  readonly expectExitCode?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** GET a URL; healthy on a 2xx. Retried every `intervalMs` until the timeout. */
export interface HttpProbe extends ProbeBase {
  readonly kind: 'http';
  readonly url: string;
  readonly intervalMs?: number;
}

/** Await a predicate; healthy when it resolves true. */
export interface FunctionProbe extends ProbeBase {
  readonly kind: 'function';
  readonly run: (context: ProbeContext) => boolean | Promise<boolean>;
}

export type Probe = CommandProbe | HttpProbe | FunctionProbe;

/** What a probe is told about the slot under test. */
export interface ProbeContext {
  readonly phase: ProbePhase;
  readonly slotDir: string;
  readonly version: string;
  readonly signal: AbortSignal;
}

/** The outcome of one probe, as emitted in `health-check`. */
export interface ProbeResult {
  readonly name: string;
  readonly kind: Probe['kind'];
  readonly phase: ProbePhase;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly exitCode?: number | null;
  /** Captured stdout+stderr of a command probe (at most 16 KiB). */
  readonly output?: string;
  readonly error?: string;
}

/** Starts a child process; node's `child_process.spawn` by default. */
export type Spawner = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export const DEFAULT_PROBE_TIMEOUT_MS = 30_000;

export function describeProbe(probe: Probe): string {
  if (probe.name) return probe.name;
  if (probe.kind === 'command') return probe.command.join(' ');
  if (probe.kind === 'http') return `GET ${probe.url}`;
  return 'function probe';
}

/** Checks probe data given in code or config; throws TypeError-like messages via the caller. */
export function probeProblem(probe: unknown): string | null {
  if (typeof probe !== 'object' || probe === null) return 'a probe must be an object';
  const p = probe as Record<string, unknown>;
  if (p.timeoutMs !== undefined && (!Number.isSafeInteger(p.timeoutMs) || (p.timeoutMs as number) < 1)) return 'timeoutMs must be a positive integer';
  switch (p.kind) {
    case 'command':
      if (!Array.isArray(p.command) || p.command.length === 0 || !p.command.every((a) => typeof a === 'string')) {
        return 'a command probe needs command: string[] (program first)';
      }
      return null;
    case 'http':
      try {
        const url = new URL(String(p.url));
        return url.protocol === 'http:' || url.protocol === 'https:' ? null : 'an http probe needs an http(s) url';
      } catch {
        return 'an http probe needs a valid url';
      }
    case 'function':
      return typeof p.run === 'function' ? null : 'a function probe needs run: (context) => boolean';
    default:
      return `unknown probe kind ${JSON.stringify(p.kind)}`;
  }
}
