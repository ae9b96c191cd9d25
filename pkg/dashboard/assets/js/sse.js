// Server-Sent Events over fetch. EventSource cannot send an Authorization
// header, and a token in the query string would end up in request logs
// and proxy logs; fetch can, and its body is a stream. This is the
// text/event-stream format of the HTML standard: "event:", "data:" and
// "id:" fields, a blank line ends an event, lines starting with ":" are
// comments (the collector's heartbeats).

import { request } from './api.js';

// subscribe reads path until signal aborts, reconnecting after a pause
// when the stream ends or fails, as EventSource would. handlers: onOpen(),
// onEvent(type, data), onComment(text), onError(err, retryMs).
export function subscribe(path, params, signal, handlers) {
  const RETRY_MS = 3000;
  (async () => {
    while (!signal.aborted) {
      try {
        const res = await request('GET', path, { params, signal, raw: true, accept: 'text/event-stream' });
        handlers.onOpen && handlers.onOpen();
        await read(res.body, handlers);
        if (signal.aborted) return;
        handlers.onError && handlers.onError(new Error('the collector closed the stream'), RETRY_MS);
      } catch (err) {
        if (signal.aborted || err.name === 'AbortError') return;
        // A 4xx will not go away by asking again; say so and stop.
        if (err.status >= 400 && err.status < 500) {
          handlers.onError && handlers.onError(err, 0);
          return;
        }
        handlers.onError && handlers.onError(err, RETRY_MS);
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  })();
}

async function read(body, handlers) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let type = '', data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (data.length) handlers.onEvent(type || 'message', data.join('\n'));
        type = ''; data = [];
        continue;
      }
      if (line.startsWith(':')) { handlers.onComment && handlers.onComment(line.slice(1).trim()); continue; }
      const c = line.indexOf(':');
      const name = c < 0 ? line : line.slice(0, c);
      const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
      if (name === 'event') type = v;
      else if (name === 'data') data.push(v);
    }
  }
}
