// How numbers and times read on the page: SI units chosen per value
// (µs, ms, s), thousands separated, times in UTC or the browser's zone.

const ZONE_KEY = 'ntp-monitor.zone';

let zone = 'utc';
try { zone = localStorage.getItem(ZONE_KEY) === 'local' ? 'local' : 'utc'; } catch { /* storage off */ }

export function getZone() { return zone; }
export function setZone(z) {
  zone = z === 'local' ? 'local' : 'utc';
  try { localStorage.setItem(ZONE_KEY, zone); } catch { /* storage off */ }
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// toDate accepts an RFC 3339 string, a Date or Unix seconds.
export function toDate(t) {
  if (t === null || t === undefined || t === '') return null;
  if (t instanceof Date) return t;
  if (typeof t === 'number') return new Date(t * 1000);
  const d = new Date(t);
  return isNaN(d) ? null : d;
}

// fmtTime: "2026-12-01 10:00:05 UTC", or local without the suffix.
export function fmtTime(t, withSeconds = true) {
  const d = toDate(t);
  if (!d) return '—';
  const u = zone === 'utc';
  const s = `${d[u ? 'getUTCFullYear' : 'getFullYear']()}-${pad(d[u ? 'getUTCMonth' : 'getMonth']() + 1)}-${pad(d[u ? 'getUTCDate' : 'getDate']())} ` +
    `${pad(d[u ? 'getUTCHours' : 'getHours']())}:${pad(d[u ? 'getUTCMinutes' : 'getMinutes']())}` +
    (withSeconds ? `:${pad(d[u ? 'getUTCSeconds' : 'getSeconds']())}` : '');
  return u ? s + ' UTC' : s;
}

// fmtAgo: "12 s ago", "3 min ago", "5 h ago", "2 d ago".
export function fmtAgo(t, now = Date.now()) {
  const d = toDate(t);
  if (!d) return '—';
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 0) return 'in the future';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function sig(x, digits = 3) {
  if (x === 0) return '0';
  const a = Math.abs(x);
  const d = a >= 100 ? 0 : a >= 10 ? Math.max(0, digits - 2) : Math.max(0, digits - 1);
  return x.toFixed(Math.min(d, 3)).replace(/\.0+$|(\.\d*?)0+$/, '$1');
}

// fmtSeconds: a duration in seconds with the unit that fits: 842 µs, 1.2 ms, 3.5 s.
export function fmtSeconds(x) {
  if (x === null || x === undefined || !isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a === 0) return '0 s';
  if (a < 1e-3) return sig(x * 1e6) + ' µs';
  if (a < 1) return sig(x * 1e3) + ' ms';
  if (a < 120) return sig(x) + ' s';
  if (a < 7200) return sig(x / 60) + ' min';
  return sig(x / 3600) + ' h';
}

export function fmtInt(n) {
  if (n === null || n === undefined || !isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

// fmtNum: a rate or count with at most three significant digits past
// the thousands.
export function fmtNum(x) {
  if (x === null || x === undefined || !isFinite(x)) return '—';
  return Math.abs(x) >= 1000 ? fmtInt(x) : sig(x);
}

// fmtPct takes a ratio (0..1).
export function fmtPct(r) {
  if (r === null || r === undefined || !isFinite(r)) return '—';
  const p = r * 100;
  return (p === 100 || p === 0 ? String(p) : p >= 99.95 ? p.toFixed(2) : p.toFixed(1)) + ' %';
}

// fmtBytes: 1.5 MiB.
export function fmtBytes(n) {
  if (n === null || n === undefined || !isFinite(n)) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? sig(n) : String(n)) + ' ' + u[i];
}

// toInputValue gives the value of a datetime-local input for t in the
// chosen zone; fromInputValue reads one back.
export function toInputValue(t) {
  const d = toDate(t);
  if (!d) return '';
  if (zone === 'utc') return d.toISOString().slice(0, 16);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export function fromInputValue(v) {
  if (!v) return null;
  const d = new Date(zone === 'utc' ? v + ':00Z' : v);
  return isNaN(d) ? null : d;
}
