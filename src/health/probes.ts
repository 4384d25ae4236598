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
  /** Discriminant: a program to run. */
  readonly kind: 'command';
  /** Program and arguments. A program containing `/` is relative to the slot. */
  readonly command: readonly string[];
  /** The exit status that means healthy (default 0). */
  readonly expectExitCode?: number;
  /** Variables added to the updater's own environment for this program. */
  readonly env?: Readonly<Record<string, string>>;
}

/** GET a URL; healthy on a 2xx. Retried every `intervalMs` until the timeout. */
export interface HttpProbe extends ProbeBase {
  /** Discriminant: a URL to GET. */
  readonly kind: 'http';
  /** An http: or https: URL, usually the app's own health endpoint on loopback. */
  readonly url: string;
  /** Pause between attempts while the answer is not 2xx (default 250 ms). */
  readonly intervalMs?: number;
}

/** Await a predicate; healthy when it resolves true. */
export interface FunctionProbe extends ProbeBase {
  /** Discriminant: a predicate in the updater's own process. */
  readonly kind: 'function';
  /** Resolves true when healthy; false, a rejection or the timeout mean unhealthy. */
  readonly run: (context: ProbeContext) => boolean | Promise<boolean>;
}

/** A health probe, given in code, in `<root>/twinslot.json` or (command probes) signed in the release. */
export type Probe = CommandProbe | HttpProbe | FunctionProbe;

/** What a probe is told about the slot under test. */
export interface ProbeContext {
  /** Before the switch or after the restart. */
  readonly phase: ProbePhase;
  /** Absolute path of the slot being checked. */
  readonly slotDir: string;
  /** The version installed in that slot. */
  readonly version: string;
  /** Aborted when the probe's timeout or the overall deadline passes. */
  readonly signal: AbortSignal;
}

/** The outcome of one probe, as emitted in `health-check`. */
export interface ProbeResult {
  /** The probe's `name`, or a description of it (its command line, `GET <url>`). */
  readonly name: string;
  /** The probe's kind. */
  readonly kind: Probe['kind'];
  /** When it ran. */
  readonly phase: ProbePhase;
  /** True when the probe found the slot healthy. */
  readonly ok: boolean;
  /** How long it took, in ms. */
  readonly durationMs: number;
  /** A command probe's exit status (null when a signal ended it). */
  readonly exitCode?: number | null;
  /** Captured stdout+stderr of a command probe (at most 16 KiB). */
  readonly output?: string;
  /** Why it failed, when it did. */
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
