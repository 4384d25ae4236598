// Leaves nothing behind when a benchmark ends or is interrupted: child processes are
// killed and the registered cleanups (temp dirs, nginx) run last-registered first,
// once, on a normal end and on SIGINT / SIGTERM / SIGHUP (then exit 130).

/** `name` prefixes the messages ("bench delta: ..."). */
export function cleanupOnExit(name) {
  const state = {
    /** async () => void, run in reverse order. */
    cleanups: [],
    /** Child processes to kill first. */
    children: new Set(),
    /** A signal arrived: the failure that follows is the interruption, not worth a stack. */
    interrupted: false,
    cleanup,
  };
  let cleaned = false;
  async function cleanup() {
    if (cleaned) return;
    cleaned = true;
    for (const child of state.children) child.kill('SIGKILL');
    for (const fn of state.cleanups.reverse()) await fn().catch((err) => process.stderr.write(`${name}: cleanup: ${err.message}\n`));
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      state.interrupted = true;
      process.stderr.write(`${name}: ${signal}, cleaning up\n`);
      cleanup().finally(() => process.exit(130));
    });
  }
  return state;
}
