// The collector's HTTP API, seen from the page. Its base is derived from
// the page's own address (…/ui/ → …/), so the page works behind a reverse
// proxy under any path prefix. Errors carry the API's message.
//
// Tokens: when the collector answers 401 the page asks for a token once,
// keeps it in sessionStorage (this tab only) and repeats the request with
// Authorization: Bearer. A 403 (a token that is not good enough, such as
// the read token on start/stop) asks once again, saying so.

const TOKEN_KEY = 'ntp-monitor.token';

export const apiBase = new URL('../', document.baseURI);

export function apiURL(path, params) {
  const u = new URL(path, apiBase);
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) u.searchParams.append(k, one);
  }
  return u;
}

export function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}
export function setToken(t) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage off: the token lives as long as this page */ }
  memoryToken = t;
}
let memoryToken = '';
const currentToken = () => token() || memoryToken;

export class ApiError extends Error {
  constructor(status, code, message, field, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.path = path;
  }
}

// errorOf reads the API's error JSON ({"error":{"code","message","field"}}),
// or the text of anything else (a proxy's error page, say).
export async function errorOf(res) {
  const path = new URL(res.url).pathname;
  let text = '';
  try { text = await res.text(); } catch { /* body lost */ }
  try {
    const e = JSON.parse(text).error;
    if (e && e.message) {
      return new ApiError(res.status, e.code, e.field ? `${e.message} (${e.field})` : e.message, e.field, path);
    }
  } catch { /* not JSON */ }
  const msg = text.trim().slice(0, 200) || res.statusText || 'no message';
  return new ApiError(res.status, '', `${msg} — ${path}`, '', path);
}

// The token dialog: one at a time; every request waiting on it gets the
// same answer.
let asking = null;
export function askToken(reason) {
  if (asking) return asking;
  const dlg = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  document.getElementById('token-reason').textContent = reason;
  input.value = '';
  asking = new Promise((resolve) => {
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open) dlg.close();
      asking = null;
      resolve(value);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      setToken(t);
      done(t);
    };
    const onCancel = (ev) => { ev.preventDefault(); done(null); };
    const cancel = document.getElementById('token-cancel');
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
    input.focus();
  });
  return asking;
}

// declined remembers that the operator cancelled the dialog, so that
// background refreshes do not keep opening it; an action of the operator
// (a button) asks again.
let declined = false;

// request sends one API request; body, when given, goes as JSON. It
// resolves to the parsed JSON, or to the Response when raw is set.
export async function request(method, path, { params, body, signal, raw, interactive, accept } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: accept || 'application/json' };
    const t = currentToken();
    if (t) headers.Authorization = 'Bearer ' + t;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(apiURL(path, params), {
      method, headers, signal, cache: 'no-store', credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.ok) return raw ? res : res.json();
    const err = await errorOf(res);
    const authFailure = res.status === 401 || (res.status === 403 && err.code === 'forbidden');
    if (!authFailure || attempt > 0 || (declined && !interactive)) throw err;
    const why = res.status === 401
      ? `The collector asks for a token: ${err.message}`
      : `The token was refused: ${err.message}. This needs the admin token (--api-token).`;
    const got = await askToken(why);
    if (!got) { declined = true; throw err; }
    declined = false;
  }
}

export const get = (path, params, opts) => request('GET', path, { ...opts, params });
export const post = (path, body, opts) => request('POST', path, { ...opts, body });
