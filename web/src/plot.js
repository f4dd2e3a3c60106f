// A time-series line plot as inline SVG: a few dozen points need no charting library.
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export function timeSeriesPlot(times, values, units, title) {
  const W = 320, H = 170, L = 44, R = 8, T = 20, B = 26;
  const pts = times.map((t, i) => [Date.parse(t), values[i]]).filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', class: 'plot', 'aria-label': title });
  root.append(svg('title', {}, title));
  if (pts.length < 2) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'not enough values to plot'));
    return root;
  }
  const t0 = pts[0][0], t1 = pts[pts.length - 1][0];
  let v0 = Math.min(...pts.map((p) => p[1])), v1 = Math.max(...pts.map((p) => p[1]));
  if (v1 === v0) { v0 -= 1; v1 += 1; }
  const x = (t) => L + ((t - t0) / (t1 - t0 || 1)) * (W - L - R);
  const y = (v) => T + (1 - (v - v0) / (v1 - v0)) * (H - T - B);
  root.append(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
  root.append(svg('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
  for (const v of [v0, (v0 + v1) / 2, v1])
    root.append(svg('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end' }, v.toPrecision(3)));
  const day = (t) => new Date(t).toISOString().slice(0, 10);
  root.append(svg('text', { x: L, y: H - 8, 'text-anchor': 'start' }, day(t0)));
  root.append(svg('text', { x: W - R, y: H - 8, 'text-anchor': 'end' }, day(t1)));
  root.append(svg('text', { x: L, y: 10, 'font-size': 9 }, units || ''));
  root.append(svg('polyline', { points: pts.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' '), class: 'series' }));
  return root;
}
