// Time-series charts on uPlot (vendor/uplot-1.6.32, loaded by index.html
// as the global uPlot). Every axis carries its unit; gaps (null) stay
// gaps; times follow the UTC/local switch.

import { h, replace } from './dom.js';
import { fmtNum, fmtSeconds, getZone } from './format.js';

// Colours that stay apart for the usual handful of interfaces and
// percentiles, readable on white.
export const PALETTE = ['#1f4e79', '#c0392b', '#1e8449', '#8e44ad', '#d35400', '#117a8b', '#7d6608', '#5d6d7e', '#b03a2e', '#196f3d'];

// Units: how a y value reads on the axis and in the legend.
export const UNITS = {
  rate: { label: 'per second', tick: (v) => fmtNum(v) + '/s' },
  percent: { label: '%', tick: (v) => fmtNum(v) + ' %' },
  seconds: { label: 'time', tick: (v) => fmtSeconds(v) },
  clients: { label: 'clients', tick: (v) => fmtNum(v) },
};

// timeChart draws series over xs (Unix seconds) into a new element it
// returns. spec: {title, unit (a key of UNITS), series: [{label, values,
// dash}], yMin, yMax}. The element keeps its uPlot as el.uplot and the
// number of points as data-points, which the browser tests read.
export function timeChart(spec, xs) {
  const unit = UNITS[spec.unit];
  const el = h('figure', { class: 'chart', 'data-title': spec.title, 'data-points': String(xs.length) },
    h('h3', { text: `${spec.title} (${unit.label === 'time' ? 'µs / ms / s' : unit.label})` }));
  const body = h('div');
  el.append(body);
  const live = spec.series.filter((s) => s.values.some((v) => v !== null && v !== undefined));
  if (!xs.length || !live.length) {
    body.append(h('p', { class: 'nodata', text: spec.empty || 'No data in this range.' }));
    return el;
  }
  const tzDate = getZone() === 'utc' ? (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') : (ts) => new Date(ts * 1e3);
  const opts = {
    width: 560, height: 220, tzDate,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: (u, lo, hi) => yRange(lo, hi, spec) } },
    axes: [
      { label: getZone() === 'utc' ? 'UTC' : 'local time', labelSize: 18, size: 36, values: (u, ticks) => timeTicks(ticks) },
      { label: unit.label === 'time' ? spec.axisLabel || 'time' : unit.label, labelSize: 18, size: 72,
        values: (u, ticks) => ticks.map(unit.tick) },
    ],
    series: [{ label: 'time', value: (u, v) => (v === null ? '—' : fmtTimeShort(v)) }].concat(spec.series.map((s, i) => ({
      label: s.label,
      stroke: s.color || PALETTE[i % PALETTE.length],
      width: 1.5,
      dash: s.dash,
      spanGaps: false,
      // A value with no neighbour draws no line (the series has gaps where
      // there was no traffic): it is drawn as a point, or a bucket alone in
      // its range — the first minute after a quiet hour — would not show.
      points: { show: xs.length <= 30, filter: (u, si, show) => (show ? null : isolated(u.data[si])) },
      value: (u, v) => (v === null || v === undefined ? '—' : unit.tick(v)),
    }))),
  };
  const u = new uPlot(opts, [xs].concat(spec.series.map((s) => s.values)), body);
  el.uplot = u;
  // Follow the width of the grid cell.
  const ro = new ResizeObserver(() => {
    const w = Math.max(280, Math.floor(body.clientWidth));
    if (w !== u.width) u.setSize({ width: w, height: 220 });
  });
  ro.observe(body);
  el.destroy = () => { ro.disconnect(); u.destroy(); };
  return el;
}

// isolated returns the indexes of the values whose neighbours are both
// missing, or null when there is none.
function isolated(vals) {
  const out = [];
  for (let i = 0; i < vals.length; i++) {
    if (vals[i] != null && (i === 0 || vals[i - 1] == null) && (i === vals.length - 1 || vals[i + 1] == null)) {
      out.push(i);
    }
  }
  return out.length ? out : null;
}

// timeTicks labels the time axis in 24-hour time, with the date where
// the day changes or the ticks are days apart.
function timeTicks(ticks) {
  const u = getZone() === 'utc';
  const p = (n) => String(n).padStart(2, '0');
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 0;
  let lastDay = '';
  return ticks.map((ts) => {
    const d = new Date(ts * 1000);
    const day = `${p(d[u ? 'getUTCMonth' : 'getMonth']() + 1)}-${p(d[u ? 'getUTCDate' : 'getDate']())}`;
    const hm = `${p(d[u ? 'getUTCHours' : 'getHours']())}:${p(d[u ? 'getUTCMinutes' : 'getMinutes']())}`;
    const newDay = day !== lastDay;
    lastDay = day;
    if (step >= 86400) return day;
    return newDay ? `${day} ${hm}` : hm;
  });
}

function fmtTimeShort(ts) {
  const d = new Date(ts * 1000);
  const u = getZone() === 'utc';
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d[u ? 'getUTCMonth' : 'getMonth']() + 1)}-${p(d[u ? 'getUTCDate' : 'getDate']())} ` +
    `${p(d[u ? 'getUTCHours' : 'getHours']())}:${p(d[u ? 'getUTCMinutes' : 'getMinutes']())}`;
}

// yRange starts rates and counts at zero (a line at 3 req/s must not look
// like one at 300) and keeps percentages within 0–100.
function yRange(lo, hi, spec) {
  if (spec.unit === 'percent') {
    // Down to a little under the lowest value: a fall from 99.9 % to 97 %
    // must show.
    if (lo === null || !isFinite(lo)) return [0, 100];
    return [Math.max(0, Math.floor(lo - Math.max(1, (100 - lo) * 0.5))), 100];
  }
  const min = spec.yMin !== undefined ? spec.yMin : 0;
  let max = spec.yMax !== undefined ? spec.yMax : (hi > 0 ? hi * 1.08 : 1);
  if (spec.yMax === undefined && lo < min) return [lo, max];
  return [Math.min(min, lo), max];
}

// destroyCharts releases the charts under el (their observers and canvases).
export function destroyCharts(el) {
  for (const c of el.querySelectorAll('.chart')) if (c.destroy) c.destroy();
}

// emptyChart is the frame of a chart with a message instead of data.
export function emptyChart(title, message) {
  return replace(h('figure', { class: 'chart', 'data-title': title }), h('h3', { text: title }), h('p', { class: 'nodata', text: message }));
}
