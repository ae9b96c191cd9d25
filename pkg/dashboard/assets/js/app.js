// The dashboard's entry point: hash routing between the views, the
// UTC/local switch, and the banner for what concerns every view.
//
//   #/overview?range=24h&interface_name=eth0
//   #/clients?ip=192.0.2.0/24&page=2
//   #/client/<address>
//   #/workers
//   #/live?kod=true

import * as overview from './views/overview.js';
import * as clients from './views/clients.js';
import * as client from './views/client.js';
import * as workers from './views/workers.js';
import * as live from './views/live.js';
import { getZone, setZone } from './format.js';

const VIEWS = { overview, clients, client, workers, live };
const TITLES = { overview: 'Overview', clients: 'Clients', client: 'Client', workers: 'Workers', live: 'Live' };

const main = document.getElementById('main');
let cleanup = null;

// parse reads "#/name/arg?query".
function parse() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?', 2);
  const [name, ...rest] = path.split('/');
  return { name: VIEWS[name] ? name : 'overview', arg: decodeURIComponent(rest.join('/')), params: new URLSearchParams(qs || '') };
}

// go moves to the same view with new parameters; empty values are left
// out of the address.
function goTo(name, arg) {
  return (params) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
    const s = q.toString();
    location.hash = `#/${name}${arg ? '/' + encodeURIComponent(arg) : ''}${s ? '?' + s : ''}`;
  };
}

function show() {
  const r = parse();
  if (cleanup) { try { cleanup(); } catch (e) { console.warn(e); } }
  for (const a of document.querySelectorAll('.top nav a')) {
    const cur = a.dataset.view === r.name || (r.name === 'client' && a.dataset.view === 'clients');
    if (cur) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = `${TITLES[r.name]}${r.arg ? ' ' + r.arg : ''} · ntp-monitor`;
  main.dataset.view = r.name;
  cleanup = VIEWS[r.name].render(main, { ...r, go: goTo(r.name, r.arg) }) || null;
}

window.addEventListener('hashchange', () => {
  const before = main.dataset.view;
  show();
  // A new view takes the focus, for keyboard and screen-reader users; a
  // new filter or page of the same view leaves it where it was.
  if (main.dataset.view !== before) main.focus({ preventScroll: true });
});

const tz = document.getElementById('tz');
tz.value = getZone();
tz.addEventListener('change', () => { setZone(tz.value); show(); });

if (!location.hash) history.replaceState(null, '', '#/overview');
show();
