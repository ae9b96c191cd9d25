// Workers: the host's interfaces and the worker on each — state, start
// and stop (the collector asks for its admin token), capture statistics
// and drops — and every worker connected to ingestion, supervised here
// or running on another host.

import { get, post } from '../api.js';
import { errorBox, h, replace } from '../dom.js';
import { fmtAgo, fmtInt, fmtSeconds, fmtTime } from '../format.js';

const REFRESH_MS = 5e3;
const ACTIVE = new Set(['starting', 'running', 'backing-off']);

// firstCandidate is the interface a new operator most likely means: up,
// not loopback, with an address.
function firstCandidate(ifs) {
  const ok = (i) => i.up && !(i.flags || []).includes('loopback');
  return ifs.find((i) => ok(i) && (i.addresses || []).length) || ifs.find(ok) || ifs[0];
}

// startButton starts a worker on name with the default options.
export function startButton(name, onDone, label) {
  const b = h('button', { type: 'button', 'data-start': name, text: label || `Start on ${name}` });
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await post(`api/ntp/interfaces/${encodeURIComponent(name)}/start`, {}, { interactive: true });
      onDone(null);
    } catch (err) {
      onDone(err);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

// startSuggestion is the empty state of the pages that have nothing to
// show: which worker to start, with the button.
export async function startSuggestion(signal, lead) {
  const box = h('div', { class: 'empty' });
  try {
    const ifs = (await get('api/ntp/interfaces', {}, { signal })).data;
    const running = ifs.filter((i) => ACTIVE.has(i.monitoring));
    if (running.length) {
      return replace(box, `${lead || ''} Workers are running on ${running.map((i) => i.name).join(', ')}; data appears once they capture NTP traffic.`);
    }
    const c = firstCandidate(ifs);
    if (!c) return replace(box, `${lead || ''} This host has no network interface to capture on.`);
    const msg = h('span', {}, `${lead ? lead + ' ' : ''}No worker running — start one on ${c.name}`);
    return replace(box, msg, startButton(c.name, (err) => {
      if (err) replace(box, errorBox(err, `Start a worker on ${c.name}`));
      else replace(box, `Worker on ${c.name} started; data appears once it captures NTP traffic. See `, h('a', { href: '#/workers', text: 'Workers' }), '.');
    }), ' or choose another on the ', h('a', { href: '#/workers', text: 'Workers' }), ' page.');
  } catch (err) {
    if (err.name === 'AbortError') return box;
    return replace(box, `${lead || ''} `, errorBox(err, 'Interfaces'));
  }
}

export function render(main) {
  const ctl = new AbortController();
  let timer = 0;
  const msg = h('div', { 'aria-live': 'polite' });
  const ifBox = h('section', { 'aria-labelledby': 'wk-ifs' });
  const connBox = h('section', { 'aria-labelledby': 'wk-conn' });
  replace(main, h('h1', { text: 'Workers' }), msg, ifBox, connBox);

  const after = (what) => (err) => {
    replace(msg, err ? errorBox(err, what) : h('p', { class: 'note', text: `${what}: done.` }));
    load();
  };

  async function loadInterfaces() {
    let ifs;
    try {
      ifs = (await get('api/ntp/interfaces', {}, { signal: ctl.signal })).data;
    } catch (err) {
      if (err.name !== 'AbortError') replace(ifBox, h('h2', { id: 'wk-ifs', text: 'Interfaces of this host' }), errorBox(err, 'Interfaces'));
      return;
    }
    // Interfaces with a worker first, then the others, each by name.
    ifs.sort((a, b) => (a.monitoring === 'stopped') - (b.monitoring === 'stopped') || a.name.localeCompare(b.name));
    const statuses = await Promise.all(ifs.map((i) => (i.monitoring === 'stopped' ? null
      : get(`api/ntp/interfaces/${encodeURIComponent(i.name)}/status`, {}, { signal: ctl.signal }).catch((err) => ({ error: err })))));
    const anyActive = ifs.some((i) => ACTIVE.has(i.monitoring));
    const cand = firstCandidate(ifs);
    // The table is rebuilt every few seconds: a keyboard user's focus on
    // a Start or Stop button moves to the new one of the same interface.
    const focused = document.activeElement && ifBox.contains(document.activeElement) ? document.activeElement.closest('tr[data-interface]') : null;
    const focusName = focused ? focused.dataset.interface : null;
    replace(ifBox,
      h('h2', { id: 'wk-ifs', text: 'Interfaces of this host' }),
      !anyActive && cand ? h('div', { class: 'empty' }, `No worker running — start one on ${cand.name}`,
        startButton(cand.name, after(`Start a worker on ${cand.name}`)), ' (or on another interface below).') : null,
      h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Interface', 'Addresses', 'Worker', 'PID', 'Up for', 'Restarts', 'Packets', 'Drops kernel / iface',
          'Decode errors', 'Sessions', 'Unanswered', 'Lost', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, ifs.map((i, n) => {
          const st = statuses[n] && !statuses[n].error ? statuses[n] : null;
          const s = (st && st.stats) || {};
          const active = ACTIVE.has(i.monitoring);
          const num = (v, bad) => h('td', { class: 'num' + (bad && v ? ' bad' : '') , text: v === undefined ? '—' : fmtInt(v) });
          return h('tr', { 'data-interface': i.name },
            h('th', { scope: 'row', text: i.name }),
            h('td', { class: 'mono addrs', text: (i.addresses || []).filter((a) => !a.startsWith('fe80:')).join(' ') || '—' }),
            h('td', {}, h('span', { class: `state ${i.monitoring}`, text: i.monitoring }),
              st && st.last_exit && !st.last_exit.expected ? h('div', { class: 'hint', text: `last exit ${fmtAgo(st.last_exit.time)}: ${st.last_exit.error || st.last_exit.signal || 'code ' + st.last_exit.code}` }) : null,
              statuses[n] && statuses[n].error ? h('div', { class: 'hint', text: statuses[n].error.message }) : null),
            h('td', { class: 'num', text: i.pid ? String(i.pid) : '—' }),
            h('td', { text: st && active ? fmtSeconds(st.uptime_seconds) : '—' }),
            num(st ? st.restarts : undefined),
            num(s.packets),
            h('td', { class: 'num' + (s.kernel_drops || s.interface_drops ? ' bad' : ''),
              text: s.kernel_drops === undefined ? '—' : `${fmtInt(s.kernel_drops)} / ${fmtInt(s.interface_drops)}` }),
            num(s.decode_errors, true), num(s.sessions), num(s.unanswered), num(s.lost, true),
            h('td', {}, active
              ? stopButton(i.name, after(`Stop the worker on ${i.name}`))
              : startButton(i.name, after(`Start a worker on ${i.name}`), 'Start')));
        })))),
      statuses.filter((s) => s && s.state === 'failed' && s.last_log_lines).map((s) => h('details', {},
        h('summary', { text: `Last log lines of the failed worker on ${s.interface}` }),
        h('pre', { class: 'mono', text: s.last_log_lines.join('\n') }))));
    if (focusName) {
      const b = [...ifBox.querySelectorAll('tr[data-interface] button')].find((x) => x.closest('tr').dataset.interface === focusName);
      if (b) b.focus();
    }
  }

  function stopButton(name, onDone) {
    const b = h('button', { type: 'button', class: 'danger', 'data-stop': name, text: 'Stop' });
    b.addEventListener('click', async () => {
      b.disabled = true;
      b.textContent = 'Stopping…';
      try {
        await post(`api/ntp/interfaces/${encodeURIComponent(name)}/stop`, {}, { interactive: true });
        onDone(null);
      } catch (err) {
        onDone(err);
      }
    });
    return b;
  }

  async function loadConnections() {
    try {
      const st = await get('api/ntp/history/service/statistics', {}, { signal: ctl.signal });
      const ws = st.workers || [];
      replace(connBox, h('h2', { id: 'wk-conn', text: 'Workers connected to ingestion' }),
        !ws.length ? h('p', { class: 'muted', text: 'No worker has connected since the collector started.' })
          : h('div', { class: 'scroll' }, h('table', {},
            h('thead', {}, h('tr', {}, ['Interface', 'Worker id', 'From', 'Connected', 'Last seen', 'Received', 'Acked', 'Lag', 'Kernel drops', 'Lost']
              .map((t) => h('th', { scope: 'col', text: t })))),
            h('tbody', {}, ws.map((w) => h('tr', {},
              h('th', { scope: 'row', text: w.interface }),
              h('td', { class: 'mono', text: w.worker_id }),
              h('td', { class: 'mono', text: w.remote_addr }),
              h('td', { class: w.connected ? 'good' : 'warn', text: w.connected ? `since ${fmtTime(w.connected_at)}` : 'disconnected' }),
              h('td', { text: fmtAgo(w.last_seen) }),
              h('td', { class: 'num', text: fmtInt(w.received) }),
              h('td', { class: 'num', text: fmtInt(w.acked) }),
              h('td', { class: 'num' + (w.lag ? ' warn' : ''), text: fmtInt(w.lag) }),
              h('td', { class: 'num' + (w.capture && w.capture.kernel_drops ? ' bad' : ''), text: w.capture ? fmtInt(w.capture.kernel_drops) : '—' }),
              h('td', { class: 'num' + (w.capture && w.capture.lost ? ' bad' : ''), text: w.capture ? fmtInt(w.capture.lost) : '—' })))))),
        st.ingestion ? h('p', { class: 'hint', text: `Ingestion: ${fmtInt(st.ingestion.committed_sessions)} sessions committed, queue ${fmtInt(st.ingestion.queue_size)} of ${fmtInt(st.ingestion.queue_capacity)}, ${fmtInt(st.ingestion.processing_errors)} processing errors.` }) : null);
    } catch (err) {
      if (err.name !== 'AbortError') replace(connBox, h('h2', { id: 'wk-conn', text: 'Workers connected to ingestion' }), errorBox(err, 'Service statistics'));
    }
  }

  function load() {
    clearTimeout(timer);
    Promise.all([loadInterfaces(), loadConnections()]).finally(() => {
      if (!ctl.signal.aborted) timer = setTimeout(load, REFRESH_MS);
    });
  }
  load();
  return () => { ctl.abort(); clearTimeout(timer); };
}

