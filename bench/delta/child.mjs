// The twinslot side of the delta benchmark, run as a fresh Node process per
// measurement so each one starts cold (no JIT warm-up, no heap left over from another
// step) and its peak RSS is its own. Imports dist/ as an app or a publisher would.
//
//   node child.mjs idle
//       imports dist/delta/apply.js and does nothing: the memory baseline.
//   node child.mjs apply <jobs.json>
//       jobs.json: [{ old, patch, out, oldSize, newSize, sha256 }]. Opens the three files,
//       then times applyPatch() alone (it verifies the SHA-256), closes them; one job after
//       the other.
//   node child.mjs diff <old> <new> <patch-out> <scratch-dir>
//       the publisher's work for one file: bsdiffControls() then encodePatch(), timed.
//   node child.mjs update <root> <channel>
//       a device's update through the Updater API: check, download (patches applied
//       into staging), install into the inactive slot; prints every plan event.
//
// stdout: one JSON document on the last line. Peak RSS is VmHWM from /proc/self/status
// (process.resourceUsage().maxRSS survives execve on Linux and starts at the parent's).
import { readFileSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';

const now = () => performance.timeOrigin + performance.now();
const startT = now();
const vmHWMKiB = () => {
  try {
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'))[1]);
  } catch {
    return process.resourceUsage().maxRSS;
  }
};
const done = (result) => process.stdout.write(JSON.stringify({ ...result, startT, endT: now(), peakRssKiB: vmHWMKiB() }) + '\n');

const [mode, ...args] = process.argv.slice(2);

if (mode === 'idle') {
  await import('../../dist/delta/apply.js');
  done({});
} else if (mode === 'apply') {
  const { applyPatch } = await import('../../dist/delta/apply.js');
  const jobs = JSON.parse(await readFile(args[0], 'utf8'));
  const applyMs = [];
  const importedT = now();
  for (const job of jobs) {
    const old = await open(job.old, 'r');
    const patch = await open(job.patch, 'r');
    const out = await open(job.out, 'w');
    const patchSize = (await patch.stat()).size;
    try {
      const t0 = performance.now();
      await applyPatch({ old, patch, patchSize, out }, { oldSize: job.oldSize, newSize: job.newSize, sha256: job.sha256 });
      applyMs.push(performance.now() - t0);
    } finally {
      await Promise.all([old.close(), patch.close(), out.close()]);
    }
  }
  done({ importedT, applyMs, totalApplyMs: applyMs.reduce((a, b) => a + b, 0) });
} else if (mode === 'diff') {
  const [oldPath, newPath, patchOut, scratch] = args;
  const { bsdiffControls } = await import('../../dist/delta/bsdiff.js');
  const { encodePatch } = await import('../../dist/delta/encode.js');
  const t0 = performance.now();
  const controls = await bsdiffControls(oldPath, newPath, scratch, 'bench');
  const t1 = performance.now();
  const [oldBytes, newBytes] = await Promise.all([readFile(oldPath), readFile(newPath)]);
  const patch = await encodePatch(oldBytes, newBytes, controls);
  const t2 = performance.now();
  const peak = vmHWMKiB();
  await writeFile(patchOut, patch);
  done({ bsdiffMs: t1 - t0, encodeMs: t2 - t1, totalMs: t2 - t0, controls: controls.length, patchBytes: patch.length, peakAtEncodeKiB: peak });
} else if (mode === 'update') {
  const [root, channel] = args;
  const { Updater } = await import('../../dist/index.js');
  const updater = new Updater({ installRoot: root, channel });
  const plans = [];
  const failures = [];
  const progress = { transferred: 0, total: 0 };
  updater.on('plan', (p) => plans.push(p));
  updater.on('patch-failed', (f) => failures.push(f));
  updater.on('download-progress', (p) => Object.assign(progress, { transferred: p.transferred, total: p.total }));
  const t0 = now();
  const check = await updater.checkForUpdates();
  if (!check.available) throw new Error(`no update on offer: ${check.reason}`);
  const t1 = now();
  await updater.downloadUpdate();
  const t2 = now();
  const installed = await updater.installUpdate();
  const t3 = now();
  done({ version: check.release.version, slot: installed.slot, plans, failures, progress, checkMs: t1 - t0, downloadMs: t2 - t1, installMs: t3 - t2 });
} else {
  process.stderr.write(`child: unknown mode ${mode}\n`);
  process.exit(2);
}
