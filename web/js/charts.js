// Time-series charts with uPlot (web/vendor/uplot, see its README.md).
// A canvas cannot read CSS, so the colours come from app.css's custom
// properties when the chart is drawn, and the chart is drawn again when
// the theme changes: both themes stay readable.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import {fmtNumber, fmtTime, t} from './i18n.js';
import {cssColor, onThemeChange} from './theme.js';

// The series' colours, as the names of their custom properties in app.css.
const COLORS = {
  requests: '--chart-requests', errors: '--chart-errors', p50: '--chart-p50', p95: '--chart-p95',
};

function colour(c) {
  return c && c.startsWith('--') ? cssColor(c) || '#64748b' : c;
}

function fill(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// The x axis in the page's language: hours and minutes, with the day when
// the chart spans more than one.
function timeTicks(u, splits) {
  const span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
  const opts = span > 86400 ? {month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false}
    : {hour: '2-digit', minute: '2-digit', hour12: false};
  const f = new Intl.DateTimeFormat(document.documentElement.lang || 'en', opts);
  return splits.map((v) => f.format(new Date(v * 1000)));
}

function options(width, height, series, opts, buckets) {
  const unit = opts.unit || '';
  const axis = {stroke: cssColor('--chart-axis'), grid: {stroke: cssColor('--chart-grid')}, ticks: {stroke: cssColor('--chart-tick')}};
  return {
    width, height,
    cursor: {drag: {x: false, y: false}},
    legend: {show: true, live: true},
    scales: {x: {time: true}, y: {range: (u, min, max) => [0, Math.max(max * 1.1, opts.minMax || 1)]}},
    axes: [
      {...axis, values: timeTicks},
      {...axis, size: 56,
        values: (u, vals) => vals.map((v) => fmtNumber(v, {maximumFractionDigits: Number.isInteger(v) || v >= 10 ? 0 : 1}) + unit)},
    ],
    series: [{label: t('Time'), value: (u, v) => (v === null || v === undefined ? '—' : fmtTime(v * 1000))}].concat(series.map((s) => {
      const c = colour(s.color);
      return {
        label: s.label,
        stroke: c,
        width: 2,
        fill: s.fill ? fill(c, 0.12) : undefined,
        spanGaps: !!s.spanGaps,
        // Isolated values (a latency with traffic in one bucket only) need a dot.
        points: {show: !!s.points || buckets < 3, size: 7, fill: c},
        value: (u, v) => (v === null || v === undefined ? '—' : fmtNumber(v, {maximumFractionDigits: 1}) + unit),
      };
    })),
  };
}

// series: [{label, color (a custom property's name or a colour), values, fill: bool}]
export function lineChart(container, xs, series, opts = {}) {
  const height = opts.height || 220;
  let data = [xs].concat(series.map((s) => s.values));
  const draw = () => {
    const o = options(Math.max(container.clientWidth, 200), height, series, opts, data[0].length);
    return new uPlot(o, data, container);
  };
  let chart = draw();
  const ro = new ResizeObserver(() => {
    const w = Math.max(container.clientWidth, 200);
    if (Math.abs(w - chart.width) > 1) chart.setSize({width: w, height});
  });
  ro.observe(container);
  const stopTheme = onThemeChange(() => {
    chart.destroy();
    chart = draw();
  });
  return {
    update(newXs, newSeries) {
      data = [newXs].concat(newSeries.map((s) => s.values));
      chart.setData(data);
    },
    destroy() {
      stopTheme();
      ro.disconnect();
      chart.destroy();
    },
  };
}

export {COLORS};
