// A device's update process, run as a child so tests and benchmarks can SIGKILL it:
// check + download (+ optionally install) through the public API from dist/.
// argv: <root> <feedUrl> <rate bytes/s, 0 = unlimited> [install]
// stdout: "progress <transferred> <total>" lines, then "done <version>".
import { Updater } from '../../dist/index.js';

const [root, feedUrl, rate, install] = process.argv.slice(2);
const updater = new Updater({ installRoot: root, feedUrl, maxBytesPerSecond: Number(rate) });
updater.on('download-progress', (p) => process.stdout.write(`progress ${p.transferred} ${p.total}\n`));
try {
  const check = await updater.checkForUpdates();
  if (!check.available) throw new Error(`no update: ${check.reason}`);
  await updater.downloadUpdate();
  if (install === 'install') await updater.installUpdate();
  process.stdout.write(`done ${check.release.version}\n`);
} catch (err) {
  process.stderr.write(`${err.code ?? 'ERROR'}: ${err.message}\n`);
  process.exitCode = 1;
}
