/**
 * health/: probes that decide whether a slot may be switched to and committed.
 * @module
 */
export {
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
  probeProblem,
} from './probes.js';
export { type ProbeRun, type ProbeRunOptions, runProbes } from './run-probes.js';
