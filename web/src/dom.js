// A tiny element builder: el('a', {href}, 'text', child...). Attributes false/null/undefined are left out.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'hidden') e.hidden = !!v;
    else if (k === 'value' && 'value' in e) { e.setAttribute('value', v); e.value = v; }
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== '' && c !== null && c !== undefined) e.append(c);
  return e;
}

export function status(text) {
  document.getElementById('status').textContent = text;
}
