// Live: sessions as the collector commits them (GET api/ntp/stream), with
// the stream's filters; newest first, at most MAX_ROWS kept; pausable.

import { subscribe } from '../sse.js';
import { get } from '../api.js';
import { errorBox, field, h, replace, select } from '../dom.js';
import { fmtAgo, fmtInt, fmtSeconds, fmtTime } from '../format.js';

const MAX_ROWS = 500;
const KEYS = ['interface_name', 'cidr', 'client_ip', 'answered', 'kod', 'mode'];

function row(s) {
  const answer = s.kod_code ? h('td', { class: 'bad', text: `KoD ${s.kod_code}` })
    : s.answered ? h('td', { class: 'good', text: 'answered' })
      : s.mode === 3 || s.mode === undefined ? h('td', { class: 'warn', text: 'unanswered' }) : h('td', { text: '—' });
  return h('tr', { 'data-client': s.client_ip },
    h('td', { text: fmtTime(s.session_timestamp) }),
    h('td', {}, h('a', { class: 'mono', href: `#/client/${encodeURIComponent(s.client_ip)}`, text: s.client_ip })),
    h('td', { class: 'num', text: s.client_port ?? '—' }),
    h('td', { text: s.interface_name || s.interface || '—' }),
    h('td', { class: 'num', text: s.ntp_version ?? '—' }),
    h('td', { class: 'num', text: s.mode ?? '—' }),
    answer,
    h('td', { class: 'num', text: s.stratum ?? '—' }),
    h('td', { class: 'num', text: fmtSeconds(s.server_processing_time_seconds) }),
    h('td', { class: 'num', text: fmtSeconds(s.total_process_time_seconds) }),
    h('td', { class: 'num', text: fmtSeconds(s.client_to_server_latency_seconds) }),
    h('td', { class: 'mono', text: s.worker_id || '—' }));
}

export function render(main, route) {
  const q = route.params;
  const f = Object.fromEntries(KEYS.map((k) => [k, q.get(k) || '']));
  const ctl = new AbortController();
  let paused = false, held = [], received = 0, dropped = 0;

  const ifSel = select([['', 'all']], f.interface_name, { id: 'lv-iface' });
  const cidrIn = h('input', { id: 'lv-cidr', type: 'text', size: 20, placeholder: '192.0.2.0/24', props: { value: f.cidr } });
  const ipIn = h('input', { id: 'lv-ip', type: 'text', size: 20, placeholder: '2001:db8::1', props: { value: f.client_ip } });
  const modeIn = h('input', { id: 'lv-mode', type: 'text', size: 6, placeholder: '6,7', props: { value: f.mode } });
  const unans = h('input', { id: 'lv-unanswered', type: 'checkbox', props: { checked: f.answered === 'false' } });
  const kod = h('input', { id: 'lv-kod', type: 'checkbox', props: { checked: f.kod === 'true' } });
  const pause = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false', text: 'Pause' });
  const status = h('p', { class: 'live-status', role: 'status', text: 'Connecting…' });
  const note = h('div', { 'aria-live': 'polite' });
  const tbody = h('tbody', {});
  const empty = h('p', { class: 'empty', text: 'Waiting for sessions. A session appears here within a second of being committed; only requests that match the filters are shown.' });
  const table = h('div', { class: 'scroll', hidden: true }, h('table', { id: 'live-table' },
    h('thead', {}, h('tr', {}, ['Captured', 'Client', 'Port', 'Interface', 'Version', 'Mode', 'Answer', 'Stratum', 'T3−T2', 'C2−C1', 'T2−T1', 'Worker']
      .map((t) => h('th', { scope: 'col', text: t })))), tbody));

  const form = h('form', { class: 'toolbar', on: { submit: (ev) => {
    ev.preventDefault();
    route.go({ interface_name: ifSel.value, cidr: cidrIn.value.trim(), client_ip: ipIn.value.trim(), mode: modeIn.value.replace(/\s/g, ''),
      answered: unans.checked ? 'false' : '', kod: kod.checked ? 'true' : '' });
  } } },
  field('Interface', ifSel), field('CIDR', cidrIn), field('Client', ipIn), field('Modes', modeIn),
  h('label', { class: 'check' }, unans, 'only unanswered'),
  h('label', { class: 'check' }, kod, 'only KoD'),
  h('button', { type: 'submit', text: 'Apply' }), pause);

  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    if (!paused) { for (const s of held.reverse()) add(s); held = []; }
    show();
  });

  replace(main, h('h1', { text: 'Live sessions' }), form, status, note, empty, table);
  get('api/ntp/history/interfaces/statistics', {}, { signal: ctl.signal }).then((st) => {
    for (const d of st.data) ifSel.append(h('option', { value: d.interface_name, text: d.interface_name }));
    ifSel.value = f.interface_name;
  }).catch(() => { /* names are a convenience */ });

  let since = null, failed = false;
  function show() {
    const parts = [since ? `Connected ${fmtAgo(since)}` : failed ? 'Not connected' : 'Connecting', `${fmtInt(received)} sessions received`];
    if (paused) parts.push(`paused, ${fmtInt(held.length)} held`);
    if (dropped) parts.push(`${fmtInt(dropped)} dropped by the collector because this page fell behind`);
    status.textContent = parts.join(' · ') + '.';
  }
  function add(s) {
    tbody.prepend(row(s));
    while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild.remove();
    table.hidden = false;
    empty.hidden = true;
  }

  const params = {};
  for (const k of KEYS) if (f[k]) params[k] = f[k];
  subscribe('api/ntp/stream', params, ctl.signal, {
    onOpen() { since = new Date(); failed = false; replace(note); show(); },
    onEvent(type, data) {
      let v;
      try { v = JSON.parse(data); } catch { return; }
      if (type === 'session') {
        received++;
        if (paused) { held.unshift(v); held.length = Math.min(held.length, MAX_ROWS); } else add(v);
      } else if (type === 'dropped') {
        dropped += v.dropped || 0;
      }
      show();
    },
    onError(err, retry) {
      since = null;
      failed = true;
      if (!retry) empty.hidden = true;
      replace(note, errorBox(err, retry ? `Live stream, retrying in ${retry / 1000} s` : 'Live stream'));
      show();
    },
  });
  const tick = setInterval(show, 5000);
  return () => { ctl.abort(); clearInterval(tick); };
}
