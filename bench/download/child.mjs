// One device's update process for the download benchmark: check + downloadUpdate
// through the public API from dist/, as an app embedding twinslot would. Run as a
// child so the benchmark can time it from outside and SIGKILL it.
//
// argv: <root> <channel> <maxBytesPerSecond, 0 = unlimited>
// stdout, one event per line, <t> = ms since the epoch (fractional):
//   start <t>
//   checked <t> <checkMs>
//   plan <t> <downloadBytes>
//   progress <t> <transferred> <total> <peakRssKiB>
//   downloaded <t> <downloadUpdateMs>
//   done <t> <version>
//   rss <peakRssKiB> <maxRSSKiB>            (at exit)
//   exit <t>
// Peak RSS is VmHWM from /proc/self/status: the high-water mark of this process's own
// memory. process.resourceUsage().maxRSS is printed too, but on Linux it survives
// execve, so in a child spawned by a big parent it starts at the parent's RSS at fork.
// The feed URL, app id and trusted key come from <root>/twinslot.json (written by
// `twinslot install`); the channel given here overrides the installed one.
import { readFileSync } from 'node:fs';
import { Updater } from '../../dist/index.js';

const [root, channel, rate] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const out = (line) => process.stdout.write(line + '\n'); // a pipe: synchronous on Linux
const peakRss = () => {
  try {
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'))[1]);
  } catch {
    return process.resourceUsage().maxRSS; // not Linux: the best there is
  }
};
process.on('exit', () => {
  out(`rss ${peakRss()} ${process.resourceUsage().maxRSS}`);
  out(`exit ${now().toFixed(1)}`);
});

out(`start ${now().toFixed(1)}`);
const updater = new Updater({ installRoot: root, channel, maxBytesPerSecond: Number(rate) });
updater.on('plan', (p) => out(`plan ${now().toFixed(1)} ${p.downloadBytes}`));
updater.on('download-progress', (p) => out(`progress ${now().toFixed(1)} ${p.transferred} ${p.total} ${peakRss()}`));
try {
  const t0 = now();
  const check = await updater.checkForUpdates();
  out(`checked ${now().toFixed(1)} ${(now() - t0).toFixed(1)}`);
  if (!check.available) throw new Error(`no update: ${check.reason}`);
  const t1 = now();
  await updater.downloadUpdate();
  out(`downloaded ${now().toFixed(1)} ${(now() - t1).toFixed(1)}`);
  out(`done ${now().toFixed(1)} ${check.release.version}`);
} catch (err) {
  process.stderr.write(`${err.code ?? 'ERROR'}: ${err.message}\n`);
  process.exitCode = 1;
}
