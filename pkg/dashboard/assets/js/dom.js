// Building DOM nodes. Every value from the API reaches the page as text
// (textContent), never as HTML: reference IDs, interface names and KoD
// codes arrive in packets anyone can forge.

// h(tag, attrs, ...children): attrs are attributes, except "class",
// "text" (text content), "on" ({event: handler}) and "props" (DOM
// properties such as value or checked). Children are nodes, strings or
// arrays of them; null and undefined are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'props') Object.assign(el, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and puts children in it.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// errorBox shows an error as the API gave it: its message, and what was
// asked.
export function errorBox(err, what) {
  const detail = err && err.status ? ` (HTTP ${err.status}${err.code ? ', ' + err.code : ''})` : '';
  return h('div', { class: 'error', role: 'alert' },
    what ? h('strong', { text: what + ': ' }) : null,
    (err && err.message) || String(err), detail);
}

// field makes a labelled form control.
export function field(label, control, cls) {
  return h('label', { class: cls || null }, label, control);
}

// select makes a <select> from [value, text] pairs.
export function select(options, value, attrs) {
  const el = h('select', attrs);
  for (const [v, t] of options) el.append(h('option', { value: v, text: t }));
  el.value = value;
  return el;
}

// segmented makes a radio group styled as buttons.
export function segmented(legend, name, options, value, onChange) {
  return h('fieldset', { class: 'seg' }, h('legend', { text: legend }),
    options.map(([v, t]) => h('label', {},
      h('input', { type: 'radio', name, value: v, props: { checked: v === value },
        on: { change: () => onChange(v) } }),
      h('span', { text: t }))));
}
