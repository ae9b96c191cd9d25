// Client: one address, one block per interface it was seen on — its
// counts, KoD, timing aggregates and every field of its latest packet.

import { get } from '../api.js';
import { errorBox, h, replace } from '../dom.js';
import { fmtAgo, fmtInt, fmtPct, fmtSeconds, fmtTime } from '../format.js';

const LEAP = { no_warning: 'no warning', add_second: 'last minute has 61 s', del_second: 'last minute has 59 s', unsynchronized: 'unsynchronized' };

// dl lists [label, value, class, field]: field names the API field a
// value shows, for whoever reads the page by machine (the tests do).
const dl = (pairs) => h('dl', { class: 'fields' }, pairs.flatMap(([k, v, cls, f]) => [h('dt', { text: k }),
  h('dd', { class: cls || null, 'data-field': f || null, text: v })]));
const ts = (x) => (x === null || x === undefined ? '—' : `${fmtTime(x)} (${x})`);
const triple = (min, mean, max) => `${fmtSeconds(min)} / ${fmtSeconds(mean)} / ${fmtSeconds(max)}`;

function block(c) {
  return h('section', { class: 'client-row', 'data-interface': c.interface_name, 'aria-label': `On ${c.interface_name}` },
    h('h2', {}, `On ${c.interface_name}`, h('span', { class: 'muted', text: ` · seen ${fmtAgo(c.last_seen_timestamp)}` })),
    h('div', { class: 'cols' },
      h('div', {}, h('h3', { text: 'Counts' }), dl([
        ['Requests', fmtInt(c.session_count), '', 'session_count'],
        ['Answered', `${fmtInt(c.answered_count)} (${fmtPct(c.answer_ratio)})`, '', 'answered_count'],
        ['Unanswered', fmtInt(c.unanswered_count), c.unanswered_count ? 'warn' : '', 'unanswered_count'],
        ['Kiss-o\'-Death', fmtInt(c.kod_count), c.kod_count ? 'bad' : '', 'kod_count'],
        ['Last KoD', c.last_kod_code ? `${c.last_kod_code} at ${fmtTime(c.last_kod_timestamp)}` : 'none'],
        ['Mode 1 / 2 / 5', `${fmtInt(c.mode1_count)} / ${fmtInt(c.mode2_count)} / ${fmtInt(c.mode5_count)}`],
        ['Mode 6 / 7 (control)', `${fmtInt(c.mode6_count)} / ${fmtInt(c.mode7_count)}`, c.mode6_count || c.mode7_count ? 'warn' : ''],
        ['First seen', fmtTime(c.first_seen_timestamp)],
        ['Last seen', fmtTime(c.last_seen_timestamp)],
        ['Polls every', fmtSeconds(c.avg_request_interval_seconds)],
      ])),
      h('div', {}, h('h3', { text: 'Timing (min / mean / max)' }), dl([
        ['T2−T1 client → server', triple(c.latency_min, c.avg_latency_seconds, c.latency_max)],
        ['  sessions with it', fmtInt(c.latency_count)],
        ['T3−T2 server processing', triple(c.processing_min, c.avg_processing_seconds, c.processing_max)],
        ['C2−C1 on the wire', triple(c.total_min, c.avg_total_seconds, c.total_max)],
        ['Sums (T2−T1, T3−T2, C2−C1)', `${fmtSeconds(c.latency_sum)}, ${fmtSeconds(c.processing_sum)}, ${fmtSeconds(c.total_sum)}`],
      ])),
      h('div', {}, h('h3', { text: 'Latest packet' }), dl([
        ['Captured', fmtTime(c.session_timestamp)],
        ['From', `${c.client_ip} port ${c.client_port ?? '—'}`],
        ['To', `${c.server_ip ?? '—'} port ${c.server_port ?? '—'}`],
        ['NTP version / mode', `${c.ntp_version ?? '—'} / ${c.mode ?? '—'}`],
        ['Length', c.packet_length === null ? '—' : `${c.packet_length} bytes`],
        ['Poll', c.poll_interval === null ? '—' : `2^${c.poll_interval} s (${fmtSeconds(2 ** c.poll_interval)})`],
        ['Answer: stratum', c.stratum ?? '— (unanswered)'],
        ['Answer: reference ID', c.reference_id ?? '—'],
        ['Answer: leap', c.leap_indicator ? LEAP[c.leap_indicator] || c.leap_indicator : '—'],
        ['Answer: precision', c.precision === null ? '—' : `2^${c.precision} s (${fmtSeconds(2 ** c.precision)})`],
        ['Answer: root delay / dispersion', `${fmtSeconds(c.root_delay)} / ${fmtSeconds(c.root_dispersion)}`],
        ['Reference time', ts(c.reference_timestamp)],
        ['Originate T1', ts(c.originate_timestamp)],
        ['Receive T2', ts(c.receive_timestamp)],
        ['Transmit T3', ts(c.transmit_timestamp)],
        ['T2−T1', fmtSeconds(c.client_to_server_latency_seconds)],
        ['T3−T2', fmtSeconds(c.server_processing_time_seconds)],
        ['C2−C1', fmtSeconds(c.total_process_time_seconds)],
      ]))),
    h('p', { class: 'hint', text: `Row ${c.id}, created ${fmtTime(c.created_at)}, updated ${fmtTime(c.updated_at)}.` }));
}

export function render(main, route) {
  const ip = route.arg;
  const ctl = new AbortController();
  const body = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  replace(main, h('p', {}, h('a', { href: '#/clients', text: '← Clients' })), h('h1', { class: 'mono', text: ip || '(no address)' }), body);
  get(`api/ntp/history/clients/${encodeURIComponent(ip)}`, {}, { signal: ctl.signal })
    .then((r) => replace(body, r.data.map(block)))
    .catch((err) => {
      if (err.name === 'AbortError') return;
      replace(body, err.status === 404
        ? h('div', { class: 'empty', text: `No client ${ip} is stored. Search the clients list for a prefix instead.` })
        : errorBox(err, `Client ${ip}`));
    });
  return () => ctl.abort();
}
