// Turning GET /api/ntp/history/timeseries into chart specs: one chart per
// measure, one line per interface (and per KoD code, version, mode or
// percentile where the measure has them).

import { PALETTE } from './chart.js';

// colour gives every line of one interface the same colour; what differs
// within an interface (p50 and p99, unanswered and KoD) differs by dash.
const colour = (i) => PALETTE[i % PALETTE.length];
const DASHES = [[6, 3], [2, 3], [10, 3, 2, 3], [1, 2]];

// STEPS are the bucket widths the page asks for: multiples of 60 s, the
// finest that keeps a chart at or under MAX_POINTS.
const STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
export const MAX_POINTS = 1000;

export function chooseStep(fromMs, toMs) {
  const span = Math.max(60, (toMs - fromMs) / 1000);
  return STEPS.find((s) => span / s <= MAX_POINTS) || STEPS[STEPS.length - 1];
}

export function stepParam(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

// grid is the union of the bucket times of every series, in Unix seconds.
function grid(series) {
  const set = new Set();
  for (const s of series) for (const p of s.points) set.add(Date.parse(p.t) / 1000);
  return [...set].sort((a, b) => a - b);
}

// column maps each interface's points onto the grid through f; missing
// buckets are gaps.
function column(xs, s, f) {
  const at = new Map(s.points.map((p) => [Date.parse(p.t) / 1000, p]));
  return xs.map((x) => {
    const p = at.get(x);
    if (!p) return null;
    const v = f(p);
    return v === undefined || (typeof v === 'number' && !isFinite(v)) ? null : v;
  });
}

// keysOf collects the keys of a map-valued field (kod_codes, versions,
// modes) over every point.
function keysOf(series, field) {
  const keys = new Set();
  for (const s of series) for (const p of s.points) for (const k of Object.keys(p[field] || {})) keys.add(k);
  return [...keys].sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));
}

const sum = (series, xs, f) => xs.map((x, i) => {
  let t = 0, any = false;
  for (const col of series.map((s) => s.col)) if (col[i] !== null) { t += col[i]; any = true; }
  return any ? t : null;
});

// specs builds every chart of the overview from one response.
export function specs(resp) {
  const step = resp.step_seconds;
  const series = resp.series || [];
  const xs = grid(series);
  const perIface = (f) => series.map((s, i) => ({ label: s.interface_name, color: colour(i), values: column(xs, s, f) }));
  const one = series.length === 1;
  const name = (s, what) => (one ? what : `${s.interface_name} ${what}`);

  const kodCodes = keysOf(series, 'kod_codes');
  const unansweredKod = [];
  series.forEach((s, i) => {
    unansweredKod.push({ label: name(s, 'unanswered'), color: colour(i), values: column(xs, s, (p) => p.unanswered / step) });
    kodCodes.forEach((code, k) => {
      unansweredKod.push({ label: name(s, `KoD ${code}`), color: colour(i), dash: DASHES[k % DASHES.length],
        values: column(xs, s, (p) => ((p.kod_codes || {})[code] || 0) / step) });
    });
    if (!kodCodes.length) unansweredKod.push({ label: name(s, 'KoD'), color: colour(i), dash: DASHES[0], values: column(xs, s, (p) => p.kod / step) });
  });

  // Versions and modes: summed over the interfaces shown, so that a
  // handful of lines stays readable.
  const byKey = (field, prefix) => keysOf(series, field).map((k) => {
    const cols = series.map((s) => ({ col: column(xs, s, (p) => ((p[field] || {})[k] || 0) / step) }));
    return { label: `${prefix}${k}`, values: sum(cols, xs) };
  });

  const pct = (field) => {
    const out = [];
    series.forEach((s, i) => {
      out.push({ label: name(s, 'p50'), color: colour(i), values: column(xs, s, (p) => (p[field] ? p[field].p50 : null)) });
      out.push({ label: name(s, 'p99'), color: colour(i), dash: DASHES[0], values: column(xs, s, (p) => (p[field] ? p[field].p99 : null)) });
    });
    return out;
  };

  return {
    xs,
    charts: [
      { id: 'requests', title: 'Requests', unit: 'rate', series: perIface((p) => p.requests / step) },
      { id: 'answered', title: 'Answered ratio', unit: 'percent',
        series: perIface((p) => (p.requests > 0 ? (100 * p.answered) / p.requests : null)) },
      { id: 'unanswered', title: 'Unanswered and Kiss-o\'-Death', unit: 'rate', series: unansweredKod },
      { id: 'clients', title: 'Distinct and new clients per bucket', unit: 'clients',
        series: series.flatMap((s, i) => [
          { label: name(s, 'distinct'), color: colour(i), values: column(xs, s, (p) => p.distinct_clients) },
          { label: name(s, 'new'), color: colour(i), dash: DASHES[0], values: column(xs, s, (p) => p.new_clients) },
        ]) },
      { id: 'versions', title: 'NTP versions', unit: 'rate', series: byKey('versions', 'v') },
      { id: 'modes', title: 'Other modes (not client requests)', unit: 'rate', series: byKey('modes', 'mode '),
        empty: 'No mode 1, 2, 5, 6 or 7 packets in this range.' },
      { id: 'processing', title: 'Server processing T3−T2', unit: 'seconds', axisLabel: 'T3−T2', series: pct('processing_seconds') },
      { id: 'wire', title: 'Wire time C2−C1', unit: 'seconds', axisLabel: 'C2−C1', series: pct('wire_seconds') },
    ],
  };
}

// totals sums a response per interface, for the table above the charts.
export function totals(resp) {
  return (resp.series || []).map((s) => {
    const t = { interface_name: s.interface_name, requests: 0, answered: 0, unanswered: 0, kod: 0, kod_codes: {} };
    for (const p of s.points) {
      t.requests += p.requests; t.answered += p.answered; t.unanswered += p.unanswered; t.kod += p.kod;
      for (const [k, v] of Object.entries(p.kod_codes || {})) t.kod_codes[k] = (t.kod_codes[k] || 0) + v;
    }
    return t;
  });
}
