// A small hand-written SVG of the fleet day: adoption per ring (top) and origin
// requests per second in each simulated minute (bottom; values over the scale are
// clipped at the top and labelled), for each run.

const X0 = 120; // one viewBox unit per simulated minute
const W = 1440;
const A = { top: 130, bottom: 440 }; // adoption panel
const L = { top: 580, bottom: 900 }; // load panel

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const hh = (minute) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

function yAdoption(fraction) {
  return Math.round(A.bottom - fraction * (A.bottom - A.top));
}

let loadMax = 10;
function yLoad(perSecond) {
  const f = Math.min(1, Math.max(0, perSecond / loadMax));
  return Math.round(L.bottom - f * (L.bottom - L.top));
}

/** Drops points that lie on a horizontal line between their neighbours. */
function points(xy) {
  const out = [];
  for (let i = 0; i < xy.length; i++) {
    const [x, y] = xy[i];
    if (i > 0 && i < xy.length - 1 && xy[i - 1][1] === y && xy[i + 1][1] === y) continue;
    out.push(`${x},${y}`);
  }
  return out.join(' ');
}

/**
 * `runs`: [{ label, color, dash, adoption: { canary: [[minute, fraction]...], general: [...] }, load: Float64Array per minute (req/s) }]
 * `edits`: [{ minute, label }]; `title`, `subtitle`: text.
 */
export function renderSvg({ title, subtitle, runs, edits, rings, maxLoad, clipNote }) {
  loadMax = maxLoad;
  const loadTicks = [];
  const step = maxLoad <= 5 ? 1 : maxLoad <= 12 ? 2 : 5;
  for (let v = 0; v <= maxLoad + 1e-9; v += step) loadTicks.push(v);
  const out = [];
  const push = (s) => out.push(s);
  push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1600 1030" width="800" height="515" font-family="sans-serif" font-size="22">`);
  push(`<rect width="1600" height="1030" fill="#fff"/>`);
  push(`<text x="${X0}" y="38" font-size="28" font-weight="bold">${esc(title)}</text>`);
  push(`<text x="${X0}" y="72" fill="#444">${esc(subtitle)}</text>`);

  // Grids and axes.
  push(`<g stroke="#ddd" stroke-width="1">`);
  for (const f of [0, 0.25, 0.5, 0.75, 1]) push(`<line x1="${X0}" x2="${X0 + W}" y1="${yAdoption(f)}" y2="${yAdoption(f)}"/>`);
  for (const v of loadTicks) push(`<line x1="${X0}" x2="${X0 + W}" y1="${yLoad(v)}" y2="${yLoad(v)}"/>`);
  push(`</g>`);
  push(`<g fill="#444" text-anchor="end">`);
  for (const f of [0, 0.25, 0.5, 0.75, 1]) push(`<text x="${X0 - 10}" y="${yAdoption(f) + 7}">${f * 100}%</text>`);
  for (const v of loadTicks) push(`<text x="${X0 - 10}" y="${yLoad(v) + 7}">${v}</text>`);
  push(`</g>`);
  push(`<g fill="#444" text-anchor="middle">`);
  for (let m = 0; m <= W; m += 120) {
    push(`<text x="${X0 + m}" y="${A.bottom + 28}">${hh(m)}</text>`);
    push(`<text x="${X0 + m}" y="${L.bottom + 28}">${hh(m)}</text>`);
  }
  push(`</g>`);
  push(`<g stroke="#888" fill="none"><rect x="${X0}" y="${A.top}" width="${W}" height="${A.bottom - A.top}"/><rect x="${X0}" y="${L.top}" width="${W}" height="${L.bottom - L.top}"/></g>`);
  push(`<text x="${X0}" y="${A.top - 12}" font-weight="bold">share of each ring on the new version (2.0.0)</text>`);
  push(`<text x="${X0}" y="${L.top - 12}" font-weight="bold">origin requests per second in each simulated minute</text>`);
  if (clipNote) push(`<text x="${X0 + W}" y="${L.top - 12}" text-anchor="end" fill="#444">${esc(clipNote)}</text>`);

  // Rollout edits.
  push(`<g stroke="#999" stroke-dasharray="4 6">`);
  for (const e of edits) push(`<line x1="${X0 + e.minute}" x2="${X0 + e.minute}" y1="${A.top}" y2="${L.bottom}"/>`);
  push(`</g>`);
  push(`<g fill="#555" font-size="20">`);
  for (const e of edits) push(`<text x="${X0 + e.minute + 5}" y="${A.top + 22}">${esc(e.label)}</text>`);
  push(`</g>`);

  // Adoption lines: one color per ring, one dash pattern per run.
  push(`<g fill="none" stroke-width="3">`);
  for (const run of runs) {
    for (const ring of rings) {
      const xy = run.adoption[ring.key].map(([m, f]) => [X0 + m, yAdoption(f)]);
      push(`<polyline stroke="${ring.color}"${run.dash ? ` stroke-dasharray="${run.dash}"` : ''} points="${points(xy)}"/>`);
    }
  }
  push(`</g>`);
  // Load lines: one color per run.
  push(`<g fill="none" stroke-width="1.5">`);
  for (const run of [...runs].reverse()) {
    const xy = Array.from(run.load, (v, m) => [X0 + m, yLoad(v)]);
    push(`<polyline stroke="${run.color}" points="${points(xy)}"/>`);
  }
  push(`</g>`);

  // Legends, wrapped to the plot's width.
  const legend = (y0, entries) => {
    let x = X0;
    let y = y0;
    for (const { swatch, label } of entries) {
      const width = 70 + label.length * 11;
      if (x > X0 && x + width > X0 + W) {
        x = X0;
        y += 30;
      }
      push(`<line x1="${x}" x2="${x + 40}" y1="${y - 7}" y2="${y - 7}" stroke-width="3" ${swatch}/><text x="${x + 48}" y="${y}">${esc(label)}</text>`);
      x += width;
    }
  };
  legend(A.bottom + 60, [
    ...rings.map((ring) => ({ swatch: `stroke="${ring.color}"`, label: ring.label })),
    ...runs.map((run) => ({ swatch: `stroke="#333"${run.dash ? ` stroke-dasharray="${run.dash}"` : ''}`, label: run.label })),
  ]);
  legend(L.bottom + 60, runs.map((run) => ({ swatch: `stroke="${run.color}"`, label: run.loadLabel ?? run.label })));
  push(`</svg>`);
  return out.join('\n') + '\n';
}
