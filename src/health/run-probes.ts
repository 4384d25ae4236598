/**
 * Runs probes one after another under per-probe timeouts and an overall deadline.
 * Stops at the first failure: one unhealthy answer is enough to refuse a slot.
 *
 * @module
 */
import { spawn as nodeSpawn } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import { request } from 'undici';
import type { Clock } from '../io/clock.js';
import type { HttpSettings } from '../transfer/http.js';
import {
  type CommandProbe,
  DEFAULT_PROBE_TIMEOUT_MS,
  type FunctionProbe,
  type HttpProbe,
  type Probe,
  type ProbeContext,
  type ProbePhase,
  type ProbeResult,
  type Spawner,
  describeProbe,
} from './probes.js';

export interface ProbeRunOptions {
  readonly phase: ProbePhase;
  readonly slotDir: string;
  readonly version: string;
  /** All probes together must finish within this many ms. */
  readonly deadlineMs: number;
  readonly clock: Clock;
  readonly spawner?: Spawner | undefined;
  readonly http: HttpSettings;
  readonly onResult?: ((result: ProbeResult) => void) | undefined;
}

export interface ProbeRun {
  readonly ok: boolean;
  readonly results: readonly ProbeResult[];
}

const MAX_OUTPUT = 16 * 1024;

export async function runProbes(probes: readonly Probe[], options: ProbeRunOptions): Promise<ProbeRun> {
  const results: ProbeResult[] = [];
  const started = options.clock.now();
  for (const probe of probes) {
    const left = options.deadlineMs - (options.clock.now() - started);
    const timeoutMs = Math.max(1, Math.min(probe.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, left));
    const result =
      left <= 0
        ? failed(probe, options.phase, 0, `the ${options.deadlineMs} ms deadline for all probes passed before it ran`)
        : await runOne(probe, options, timeoutMs);
    results.push(result);
    options.onResult?.(result);
    if (!result.ok) return { ok: false, results };
  }
  return { ok: true, results };
}

async function runOne(probe: Probe, options: ProbeRunOptions, timeoutMs: number): Promise<ProbeResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  const context: ProbeContext = { phase: options.phase, slotDir: options.slotDir, version: options.version, signal: controller.signal };
  const t0 = options.clock.now();
  try {
    switch (probe.kind) {
      case 'command':
        return await runCommand(probe, context, options, t0);
      case 'http':
        return await runHttp(probe, context, options, t0);
      case 'function':
        return await runFunction(probe, context, options, t0);
    }
  } catch (err) {
    return failed(probe, options.phase, options.clock.now() - t0, err instanceof Error ? err.message : String(err));
  } finally {
    clearTimeout(timer);
  }
}

function runCommand(probe: CommandProbe, context: ProbeContext, options: ProbeRunOptions, t0: number): Promise<ProbeResult> {
  const [program, ...args] = probe.command as [string, ...string[]];
  const resolved = program.includes('/') && !isAbsolute(program) ? join(context.slotDir, program) : program;
  const spawn = options.spawner ?? nodeSpawn;
  return new Promise((resolve) => {
    let output = '';
    const capture = (data: Buffer): void => {
      if (output.length < MAX_OUTPUT) output += data.toString('utf8').slice(0, MAX_OUTPUT - output.length);
    };
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      context.signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const child = spawn(resolved, args, {
      cwd: context.slotDir,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...probe.env,
        TWINSLOT_PROBE_PHASE: context.phase,
        TWINSLOT_SLOT_DIR: context.slotDir,
        TWINSLOT_VERSION: context.version,
      },
    });
    const onAbort = (): void => {
      child.kill('SIGKILL');
      finish(failed(probe, context.phase, options.clock.now() - t0, `timed out after ${probe.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS} ms`, output));
    };
    context.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    child.on('error', (err) => finish(failed(probe, context.phase, options.clock.now() - t0, `cannot start ${resolved}: ${err.message}`, output)));
    child.on('close', (code, signal) => {
      const expected = probe.expectExitCode ?? 0;
      const ok = code === expected;
      finish({
        name: describeProbe(probe),
        kind: 'command',
        phase: context.phase,
        ok,
        durationMs: options.clock.now() - t0,
        exitCode: code,
        output,
        ...(ok ? {} : { error: signal ? `killed by ${signal}` : `exited with ${code}, expected ${expected}` }),
      });
    });
  });
}

async function runHttp(probe: HttpProbe, context: ProbeContext, options: ProbeRunOptions, t0: number): Promise<ProbeResult> {
  let lastError = 'no answer';
  while (!context.signal.aborted) {
    try {
      const res = await request(probe.url, {
        method: 'GET',
        signal: context.signal,
        headersTimeout: probe.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
        ...(options.http.dispatcher ? { dispatcher: options.http.dispatcher } : {}),
      });
      await res.body.dump().catch(() => undefined);
      if (res.statusCode >= 200 && res.statusCode < 300) {
        return { name: describeProbe(probe), kind: 'http', phase: context.phase, ok: true, durationMs: options.clock.now() - t0 };
      }
      lastError = `answered HTTP ${res.statusCode}`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await options.clock.sleep(probe.intervalMs ?? 250, context.signal).catch(() => undefined);
  }
  return failed(probe, context.phase, options.clock.now() - t0, `${lastError} (gave up: ${String((context.signal.reason as Error)?.message ?? 'timeout')})`);
}

async function runFunction(probe: FunctionProbe, context: ProbeContext, options: ProbeRunOptions, t0: number): Promise<ProbeResult> {
  const timedOut = new Promise<never>((_, reject) => {
    context.signal.addEventListener('abort', () => reject(context.signal.reason as Error), { once: true });
  });
  const ok = await Promise.race([Promise.resolve().then(() => probe.run(context)), timedOut]);
  return ok === true
    ? { name: describeProbe(probe), kind: 'function', phase: context.phase, ok: true, durationMs: options.clock.now() - t0 }
    : failed(probe, context.phase, options.clock.now() - t0, `returned ${String(ok)}`);
}

function failed(probe: Probe, phase: ProbePhase, durationMs: number, error: string, output?: string): ProbeResult {
  return { name: describeProbe(probe), kind: probe.kind, phase, ok: false, durationMs, error, ...(output !== undefined ? { output } : {}) };
}
