// Clients: the list, searched by address or CIDR, filtered by interface
// and NTP version, sorted and paged, exported as CSV or NDJSON. The
// filters live in the address (#/clients?cidr=…), so a view can be
// bookmarked and the back button works.

import { get, request } from '../api.js';
import { errorBox, field, h, replace, select } from '../dom.js';
import { fmtAgo, fmtInt, fmtPct, fmtSeconds, fmtTime } from '../format.js';
import { startSuggestion } from './workers.js';

// Columns: [title, sort_by key or null, cell]. Sort keys are the API's.
const COLUMNS = [
  ['Client', 'client_ip', (c) => h('td', {}, h('a', { class: 'mono', href: `#/client/${encodeURIComponent(c.client_ip)}`, text: c.client_ip }))],
  ['Interface', null, (c) => h('td', { text: c.interface_name })],
  ['Version', null, (c) => h('td', { class: 'num', text: c.ntp_version ?? '—' })],
  ['Requests', 'session_count', (c) => h('td', { class: 'num', text: fmtInt(c.session_count) })],
  ['Answered', null, (c) => h('td', { class: 'num' + (c.answer_ratio !== null && c.answer_ratio < 1 ? ' warn' : ''), text: fmtPct(c.answer_ratio) })],
  ['Unanswered', 'unanswered', (c) => h('td', { class: 'num' + (c.unanswered_count ? ' warn' : ''), text: fmtInt(c.unanswered_count) })],
  ['KoD', null, (c) => h('td', { class: 'num' + (c.kod_count ? ' bad' : ''), text: c.kod_count ? `${fmtInt(c.kod_count)} ${c.last_kod_code || ''}` : '0' })],
  ['Mean T2−T1', 'latency', (c) => h('td', { class: 'num', text: fmtSeconds(c.avg_latency_seconds) })],
  ['Mean T3−T2', null, (c) => h('td', { class: 'num', text: fmtSeconds(c.avg_processing_seconds) })],
  ['Polls every', null, (c) => h('td', { class: 'num', text: fmtSeconds(c.avg_request_interval_seconds) })],
  ['First seen', 'first_seen', (c) => h('td', { title: fmtAgo(c.first_seen_timestamp), text: fmtTime(c.first_seen_timestamp) })],
  ['Last seen', 'last_seen', (c) => h('td', { title: fmtTime(c.last_seen_timestamp), text: fmtAgo(c.last_seen_timestamp) })],
];
const SORTS = [['last_seen', 'last seen'], ['first_seen', 'first seen'], ['session_count', 'requests'], ['client_ip', 'address'],
  ['latency', 'mean T2−T1'], ['unanswered', 'unanswered']];

// filters reads the view's filters from the address.
function filters(q) {
  return {
    ip: q.get('ip') || '',
    interface_name: q.get('interface_name') || '',
    ntp_version: q.get('ntp_version') || '',
    sort_by: q.get('sort_by') || 'last_seen',
    sort_order: q.get('sort_order') === 'asc' ? 'asc' : 'desc',
    page: Math.max(1, parseInt(q.get('page') || '1', 10) || 1),
    page_size: [20, 50, 100, 500].includes(Number(q.get('page_size'))) ? Number(q.get('page_size')) : 50,
  };
}

// query turns the search box into the API's parameters: a prefix is a
// cidr, anything else a search_ip substring.
function query(f) {
  const ip = f.ip.trim();
  return {
    cidr: ip.includes('/') ? ip : '', search_ip: ip && !ip.includes('/') ? ip : '',
    interface_name: f.interface_name, ntp_version: f.ntp_version,
    sort_by: f.sort_by, sort_order: f.sort_order, page: f.page, page_size: f.page_size,
  };
}

export function render(main, route) {
  const f = filters(route.params);
  const ctl = new AbortController();
  const go = (changes) => route.go({ ...f, page: 1, ...changes });

  const ipIn = h('input', { id: 'cl-ip', type: 'search', placeholder: '192.0.2.0/24, 2001:db8::/32 or part of an address',
    size: 34, spellcheck: 'false', props: { value: f.ip } });
  const ifSel = select([['', 'all']], f.interface_name, { id: 'cl-iface' });
  const verSel = select([['', 'all'], ['1', '1'], ['2', '2'], ['3', '3'], ['4', '4'], ['5', '5']], f.ntp_version, { id: 'cl-version' });
  const sortSel = select(SORTS, f.sort_by, { id: 'cl-sort' });
  const orderSel = select([['desc', 'descending'], ['asc', 'ascending']], f.sort_order, { id: 'cl-order' });
  const sizeSel = select([['20', '20'], ['50', '50'], ['100', '100'], ['500', '500']], String(f.page_size), { id: 'cl-size' });
  const form = h('form', { class: 'toolbar', role: 'search',
    on: { submit: (ev) => { ev.preventDefault(); go(read()); } } },
  field('Address or CIDR', ipIn), field('Interface', ifSel), field('NTP version', verSel),
  field('Sort by', sortSel), field('Order', orderSel), field('Per page', sizeSel),
  h('button', { type: 'submit', text: 'Search' }),
  h('button', { type: 'button', class: 'secondary', text: 'Export CSV', on: { click: () => exportAs('csv') } }),
  h('button', { type: 'button', class: 'secondary', text: 'Export NDJSON', on: { click: () => exportAs('ndjson') } }));
  const read = () => ({ ip: ipIn.value, interface_name: ifSel.value, ntp_version: verSel.value, sort_by: sortSel.value, sort_order: orderSel.value, page_size: Number(sizeSel.value) });
  for (const s of [ifSel, verSel, sortSel, orderSel, sizeSel]) s.addEventListener('change', () => go(read()));

  const msg = h('div', { 'aria-live': 'polite' });
  const results = h('section', { 'aria-label': 'Clients found' }, h('p', { class: 'muted', text: 'Loading…' }));
  replace(main, h('h1', { text: 'Clients' }), form, msg, results);

  get('api/ntp/history/interfaces/statistics', {}, { signal: ctl.signal }).then((st) => {
    for (const d of st.data) ifSel.append(h('option', { value: d.interface_name, text: d.interface_name }));
    ifSel.value = f.interface_name;
  }).catch(() => { /* the list still works without the names */ });

  async function exportAs(format) {
    const body = { format, filters: {} };
    const q = query(read());
    if (q.cidr) body.filters.cidrs = [q.cidr];
    if (q.search_ip) body.filters.search_ip = q.search_ip;
    if (q.interface_name) body.filters.interface_names = [q.interface_name];
    if (q.ntp_version) body.filters.ntp_versions = [Number(q.ntp_version)];
    replace(msg, h('p', { class: 'note', text: `Exporting ${format.toUpperCase()}…` }));
    try {
      const res = await request('POST', 'api/ntp/history/export', { body, raw: true, interactive: true });
      const blob = await res.blob();
      const a = h('a', { href: URL.createObjectURL(blob), download: `ntp-clients.${format === 'csv' ? 'csv' : 'ndjson'}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60e3);
      replace(msg, h('p', { class: 'note', text: `Exported ${blob.size.toLocaleString('en-US')} bytes of ${format.toUpperCase()}.` }));
    } catch (err) {
      replace(msg, errorBox(err, 'Export'));
    }
  }

  (async () => {
    try {
      const r = await get('api/ntp/history/clients', query(f), { signal: ctl.signal });
      const p = r.pagination;
      if (!r.data.length) {
        const filtered = f.ip || f.interface_name || f.ntp_version;
        replace(results, filtered
          ? h('div', { class: 'empty', text: 'No client matches these filters. Widen the prefix or clear a filter.' })
          : await startSuggestion(ctl.signal, 'No client has been stored yet.'));
        return;
      }
      const sortHead = (title, key) => {
        if (!key) return h('th', { scope: 'col', text: title });
        const cur = f.sort_by === key;
        return h('th', { scope: 'col', 'aria-sort': cur ? (f.sort_order === 'asc' ? 'ascending' : 'descending') : null },
          h('button', { type: 'button', class: 'sort', text: title, title: `Sort by ${title}`,
            on: { click: () => go({ sort_by: key, sort_order: cur && f.sort_order === 'desc' ? 'asc' : 'desc' }) } }));
      };
      const from = (p.page - 1) * p.page_size + 1;
      replace(results,
        h('p', { class: 'count', text: `${fmtInt(p.total)} client${p.total === 1 ? '' : 's'}; ${fmtInt(from)}–${fmtInt(from + r.data.length - 1)} shown.` }),
        h('div', { class: 'scroll' }, h('table', { id: 'clients-table' },
          h('thead', {}, h('tr', {}, COLUMNS.map(([t, k]) => sortHead(t, k)))),
          h('tbody', {}, r.data.map((c) => h('tr', { 'data-client': c.client_ip }, COLUMNS.map(([, , cell]) => cell(c))))))),
        h('nav', { class: 'pager', 'aria-label': 'Pages' },
          h('button', { type: 'button', class: 'secondary', text: '← Previous', disabled: p.page <= 1, on: { click: () => route.go({ ...f, page: p.page - 1 }) } }),
          h('span', { text: `Page ${fmtInt(p.page)} of ${fmtInt(Math.max(1, p.total_pages))}` }),
          h('button', { type: 'button', class: 'secondary', text: 'Next →', disabled: p.page >= p.total_pages, on: { click: () => route.go({ ...f, page: p.page + 1 }) } })));
    } catch (err) {
      if (err.name !== 'AbortError') replace(results, errorBox(err, 'Clients'));
    }
  })();

  return () => ctl.abort();
}

