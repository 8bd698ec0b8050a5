// Small wrappers around uPlot (served from node_modules at /vendor): time series with an optional
// band (the species range) and bars. Every chart registers itself in window.__charts so tests and
// curious users can see what was drawn.
import uPlot from "/vendor/uplot.esm.js";

const COLORS = ["#1f6f4a", "#d9480f", "#1864ab", "#862e9c", "#5c940d"];
window.__charts = window.__charts ?? {};
const sec = (t) => t / 1000;

function size(el) {
  return { width: Math.max(280, el.clientWidth - 8), height: 210 };
}

/**
 * series: [{label, points: [[tMs, v]], color?, dash?}] sharing one x axis (merged by time).
 * band: optional [[tMs, lo, hi]] drawn as a shaded range.
 */
export function timeChart(el, { id, title, unit, series, band, yMin }) {
  const xs = new Set();
  for (const s of series) for (const [t] of s.points) xs.add(t);
  if (band) for (const [t] of band) xs.add(t);
  const x = [...xs].sort((a, b) => a - b);
  const idx = new Map(x.map((t, i) => [t, i]));
  const cols = series.map((s) => {
    const col = new Array(x.length).fill(null);
    for (const [t, v] of s.points) col[idx.get(t)] = v;
    return col;
  });
  const opts = {
    title,
    ...size(el),
    scales: {
      x: { time: true },
      y: yMin === undefined ? {} : { range: (_u, lo, hi) => [Math.min(yMin, lo), hi * 1.05] },
    },
    axes: [{}, { label: unit, size: 60 }],
    series: [{}],
    bands: [],
  };
  const data = [x.map(sec)];
  if (band) {
    // Band bounds are interpolated between their own grid points so they span every x.
    const lo = interp(
      band.map((b) => [b[0], b[1]]),
      x,
    );
    const hi = interp(
      band.map((b) => [b[0], b[2]]),
      x,
    );
    opts.series.push({
      label: "band max",
      stroke: "#9bc5a8",
      dash: [4, 4],
      width: 1,
      points: { show: false },
    });
    opts.series.push({
      label: "band min",
      stroke: "#9bc5a8",
      dash: [4, 4],
      width: 1,
      points: { show: false },
    });
    opts.bands.push({ series: [1, 2], fill: "rgba(31,111,74,0.10)" });
    data.push(hi, lo);
  }
  series.forEach((s, i) => {
    opts.series.push({
      label: s.label,
      stroke: s.color ?? COLORS[i % COLORS.length],
      width: 2,
      dash: s.dash,
      spanGaps: true,
      points: { show: s.points.length < 40 },
    });
    data.push(cols[i]);
  });
  return mount(el, id, opts, data);
}

/** Bars per day: groups [{label, values}] over x (ms). */
export function barChart(el, { id, title, unit, x, groups }) {
  const bars = uPlot.paths.bars({ size: [0.6, 40], align: 0 });
  const opts = {
    title,
    ...size(el),
    scales: { x: { time: true } },
    axes: [{}, { label: unit, size: 60 }],
    series: [
      {},
      // Groups marked `line` (a plan) draw as a dashed step over the bars instead of hiding behind them.
      ...groups.map((g, i) =>
        g.line
          ? {
              label: g.label,
              stroke: COLORS[i % COLORS.length],
              width: 2,
              dash: [6, 4],
              paths: uPlot.paths.stepped({ align: 1 }),
              points: { show: true },
            }
          : {
              label: g.label,
              fill: `${COLORS[i % COLORS.length]}bb`,
              stroke: COLORS[i % COLORS.length],
              paths: bars,
              points: { show: false },
            },
      ),
    ],
  };
  return mount(el, id, opts, [x.map(sec), ...groups.map((g) => g.values)]);
}

function mount(el, id, opts, data) {
  el.innerHTML = "";
  const u = new uPlot(opts, data, el);
  const points = data[0].length;
  window.__charts[id] = { title: opts.title, series: opts.series.length - 1, points };
  el.dataset.points = String(points);
  return u;
}

function interp(pts, xs) {
  return xs.map((t) => {
    if (!pts.length) return null;
    if (t <= pts[0][0]) return pts[0][1];
    for (let i = 1; i < pts.length; i++) {
      const [t1, v1] = pts[i];
      const [t0, v0] = pts[i - 1];
      if (t <= t1) return v0 + ((v1 - v0) * (t - t0)) / (t1 - t0 || 1);
    }
    return pts[pts.length - 1][1];
  });
}
