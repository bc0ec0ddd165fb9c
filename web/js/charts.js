// Time-series charts with uPlot (web/vendor/uplot, see its README.md).
import uPlot from '../vendor/uplot/uPlot.esm.js';

const COLORS = {
  requests: '#2563eb', errors: '#dc2626', p50: '#7c3aed', p95: '#d97706',
};

function fill(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// series: [{label, color, values, fill: bool, unit}]
export function lineChart(container, xs, series, opts = {}) {
  const height = opts.height || 220;
  const width = Math.max(container.clientWidth, 200);
  const unit = opts.unit || '';
  const o = {
    width, height,
    cursor: {drag: {x: false, y: false}},
    legend: {show: true, live: true},
    scales: {x: {time: true}, y: {range: (u, min, max) => [0, Math.max(max * 1.1, opts.minMax || 1)]}},
    axes: [
      {stroke: '#64748b', grid: {stroke: '#eef2f7'}, ticks: {stroke: '#e2e8f0'}},
      {stroke: '#64748b', grid: {stroke: '#eef2f7'}, ticks: {stroke: '#e2e8f0'}, size: 56,
        values: (u, vals) => vals.map((v) => (Number.isInteger(v) || v >= 10 ? String(Math.round(v)) : v.toFixed(1)) + unit)},
    ],
    series: [{label: 'Time'}].concat(series.map((s) => ({
      label: s.label,
      stroke: s.color,
      width: 2,
      fill: s.fill ? fill(s.color, 0.12) : undefined,
      spanGaps: !!s.spanGaps,
      // Isolated values (a latency with traffic in one bucket only) need a dot.
      points: {show: s.points || xs.length < 3 ? true : false, size: 7, fill: s.color},
      value: (u, v) => (v === null || v === undefined ? '—' : (Math.round(v * 10) / 10) + unit),
    }))),
  };
  const chart = new uPlot(o, [xs].concat(series.map((s) => s.values)), container);
  const ro = new ResizeObserver(() => {
    const w = Math.max(container.clientWidth, 200);
    if (Math.abs(w - chart.width) > 1) chart.setSize({width: w, height});
  });
  ro.observe(container);
  return {
    update(newXs, newSeries) {
      chart.setData([newXs].concat(newSeries.map((s) => s.values)));
    },
    destroy() {
      ro.disconnect();
      chart.destroy();
    },
  };
}

export {COLORS};
