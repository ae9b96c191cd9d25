// Overview: per interface, what the server did over a range — rates,
// answered ratio, unanswered and KoD, clients, versions and modes, and
// the server's processing and wire time percentiles — from the traffic
// series; and the all-time totals per interface.

import { get } from '../api.js';
import { destroyCharts, timeChart } from '../chart.js';
import { errorBox, field, h, replace, segmented, select } from '../dom.js';
import { fmtAgo, fmtInt, fmtPct, fmtSeconds, fmtTime, fromInputValue, toInputValue } from '../format.js';
import { chooseStep, specs, stepParam, totals } from '../series.js';
import { startSuggestion } from './workers.js';

const RANGES = [['1h', 'Last hour', 3600e3], ['24h', 'Last 24 h', 86400e3], ['7d', 'Last 7 days', 7 * 86400e3], ['custom', 'Custom', 0]];
const REFRESH_MS = 30e3;

export function render(main, route) {
  const q = route.params;
  const range = RANGES.some((r) => r[0] === q.get('range')) ? q.get('range') : '1h';
  const iface = q.get('interface_name') || '';
  let timer = 0;
  const ctl = new AbortController();

  const statsBox = h('section', { 'aria-labelledby': 'ov-totals' },
    h('h2', { id: 'ov-totals', text: 'Interfaces' }), h('p', { class: 'muted', text: 'Loading interface statistics…' }));
  const rangeBox = h('section', { 'aria-labelledby': 'ov-range' });
  const chartsBox = h('div', { class: 'charts', 'aria-live': 'polite' });
  const ifaceSel = select([['', 'all interfaces']], iface, { id: 'ov-iface' });
  ifaceSel.addEventListener('change', () => route.go({ ...Object.fromEntries(q), interface_name: ifaceSel.value }));

  const fromIn = h('input', { type: 'datetime-local', id: 'ov-from', props: { value: toInputValue(q.get('from')) } });
  const toIn = h('input', { type: 'datetime-local', id: 'ov-to', props: { value: toInputValue(q.get('to')) } });
  const custom = h('form', { class: 'toolbar', hidden: range !== 'custom',
    on: { submit: (ev) => {
      ev.preventDefault();
      const f = fromInputValue(fromIn.value), t = fromInputValue(toIn.value);
      route.go({ range: 'custom', interface_name: iface, from: f ? f.toISOString() : '', to: t ? t.toISOString() : '' });
    } } },
  field('From', fromIn), field('To', toIn), h('button', { type: 'submit', text: 'Show' }));

  replace(main,
    h('h1', { text: 'Overview' }),
    h('div', { class: 'toolbar' },
      segmented('Range', 'ov-range', RANGES.map((r) => [r[0], r[1]]), range, (v) => {
        if (v === 'custom') { custom.hidden = false; fromIn.focus(); return; }
        route.go({ range: v, interface_name: iface });
      }),
      field('Interface', ifaceSel),
      h('button', { type: 'button', class: 'secondary', text: 'Refresh', on: { click: () => load() } })),
    custom,
    statsBox,
    rangeBox,
    chartsBox);

  function window_() {
    if (range === 'custom') {
      const f = Date.parse(q.get('from') || ''), t = Date.parse(q.get('to') || '');
      if (isFinite(f) && isFinite(t)) return [f, t];
      const now = Date.now();
      return [now - 3600e3, now];
    }
    const now = Date.now();
    return [now - RANGES.find((r) => r[0] === range)[2], now];
  }

  async function loadStats() {
    try {
      const st = await get('api/ntp/history/interfaces/statistics', {}, { signal: ctl.signal });
      const names = st.data.map((d) => d.interface_name);
      for (const n of names) if (![...ifaceSel.options].some((o) => o.value === n)) ifaceSel.append(h('option', { value: n, text: n }));
      ifaceSel.value = iface;
      const rows = st.data.filter((d) => !iface || d.interface_name === iface);
      if (!st.data.length) {
        replace(statsBox, h('h2', { id: 'ov-totals', text: 'Interfaces' }), await startSuggestion(ctl.signal, 'No client has been stored yet.'));
        return;
      }
      replace(statsBox,
        h('h2', { id: 'ov-totals', text: 'Interfaces, all time' }),
        h('div', { class: 'scroll' }, h('table', {},
          h('thead', {}, h('tr', {}, ['Interface', 'Clients', 'Active 1 h', 'Active 24 h', 'Requests', 'Answered', 'Unanswered', 'KoD',
            'Versions (clients)', 'Other modes', 'T3−T2 mean', 'C2−C1 mean', 'Last seen'].map((t, i) => h('th', { class: i && i < 8 ? 'num' : null, scope: 'col', text: t })))),
          h('tbody', {}, rows.map((d) => h('tr', {},
            h('th', { scope: 'row' }, h('a', { href: `#/clients?interface_name=${encodeURIComponent(d.interface_name)}`, text: d.interface_name })),
            h('td', { class: 'num', text: fmtInt(d.clients) }),
            h('td', { class: 'num', text: fmtInt(d.active_clients_last_hour) }),
            h('td', { class: 'num', text: fmtInt(d.active_clients_last_day) }),
            h('td', { class: 'num', text: fmtInt(d.sessions) }),
            h('td', { class: 'num', text: fmtPct(d.sessions ? d.answered / d.sessions : null) }),
            h('td', { class: 'num' + (d.unanswered ? ' warn' : ''), text: fmtInt(d.unanswered) }),
            h('td', { class: 'num' + (d.kod ? ' bad' : ''), text: fmtInt(d.kod) }),
            h('td', { text: Object.entries(d.ntp_versions || {}).map(([v, n]) => `v${v}: ${fmtInt(n)}`).join(', ') || '—' }),
            h('td', { text: Object.entries(d.other_mode_packets || {}).filter(([, n]) => n).map(([m, n]) => `mode ${m}: ${fmtInt(n)}`).join(', ') || 'none' }),
            h('td', { text: fmtSeconds(d.server_processing_time_seconds.mean) }),
            h('td', { text: fmtSeconds(d.total_process_time_seconds.mean) }),
            h('td', { title: fmtTime(d.last_seen_timestamp), text: fmtAgo(d.last_seen_timestamp) })))))),
        h('p', { class: 'hint', text: `Computed ${fmtAgo(st.generated_at)} in ${Math.round(st.compute_ms)} ms.` }));
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(statsBox, h('h2', { id: 'ov-totals', text: 'Interfaces' }), errorBox(err, 'Interface statistics'));
    }
  }

  async function loadSeries() {
    const [f, t] = window_();
    const step = chooseStep(f, t);
    const title = h('h2', { id: 'ov-range' }, `Traffic from ${fmtTime(new Date(f), false)} to ${fmtTime(new Date(t), false)}`,
      h('span', { class: 'muted', text: ` · ${stepParam(step)} buckets` }));
    const params = { from: new Date(f).toISOString(), to: new Date(t).toISOString(), step: stepParam(step), interface_name: iface };
    // What was asked, for whoever compares the charts with the API.
    chartsBox.dataset.query = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
    try {
      const resp = await get('api/ntp/history/timeseries', params, { signal: ctl.signal });
      const { xs, charts } = specs(resp);
      const tot = totals(resp);
      destroyCharts(chartsBox);
      const starts = resp.series_start && Date.parse(resp.series_start) > f
        ? h('p', { class: 'note', text: `The series starts at ${fmtTime(resp.series_start)}: nothing before that was recorded per minute.` }) : null;
      replace(rangeBox, title, starts,
        tot.length ? h('p', {}, tot.map((x) => h('span', { class: 'range-total' },
          h('strong', { text: x.interface_name }), `: ${fmtInt(x.requests)} requests, ${fmtPct(x.requests ? x.answered / x.requests : null)} answered, `,
          `${fmtInt(x.unanswered)} unanswered, ${fmtInt(x.kod)} KoD`,
          Object.keys(x.kod_codes).length ? ` (${Object.entries(x.kod_codes).map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ')})` : '', '. '))) : null);
      if (!(resp.series || []).length) {
        replace(chartsBox, h('div', { class: 'empty', text: 'No traffic in this range. Choose a longer range, or start a worker on the Workers page.' }));
        return;
      }
      replace(chartsBox, charts.map((c) => timeChart(c, xs)));
    } catch (err) {
      if (err.name === 'AbortError') return;
      destroyCharts(chartsBox);
      replace(rangeBox, title);
      replace(chartsBox, errorBox(err, 'Traffic series (GET api/ntp/history/timeseries)'));
    }
  }

  function load() {
    clearTimeout(timer);
    Promise.all([loadStats(), loadSeries()]).finally(() => {
      if (range !== 'custom' && !ctl.signal.aborted) timer = setTimeout(load, REFRESH_MS);
    });
  }
  load();

  return () => { ctl.abort(); clearTimeout(timer); destroyCharts(chartsBox); };
}
