// The shareable state in the URL's hash: #layers=a,b&opacity=a:0.5&time=...&elevation=...&view=lon,lat,zoom
const listeners = [];

export function readState() {
  const h = new URLSearchParams(location.hash.replace(/^#/, ''));
  const opacity = {};
  for (const kv of (h.get('opacity') || '').split(',').filter(Boolean)) {
    const i = kv.lastIndexOf(':');
    if (i > 0) opacity[kv.slice(0, i)] = Number(kv.slice(i + 1));
  }
  const view = (h.get('view') || '').split(',').map(Number);
  return {
    layers: (h.get('layers') || '').split(',').filter(Boolean),
    opacity,
    time: h.get('time') || null,
    elevation: h.get('elevation') || null,
    view: view.length === 3 && view.every(Number.isFinite) ? { lon: view[0], lat: view[1], zoom: view[2] } : null,
  };
}

let pending = null;

// Coalesces updates: the map moves many times a second while panning.
export function writeState(s) {
  pending = s;
  if (writeState.timer) return;
  writeState.timer = setTimeout(() => {
    writeState.timer = null;
    const h = new URLSearchParams();
    if (pending.layers.length) h.set('layers', pending.layers.join(','));
    const op = Object.entries(pending.opacity).filter(([k, v]) => v < 1 && pending.layers.includes(k));
    if (op.length) h.set('opacity', op.map(([k, v]) => `${k}:${v}`).join(','));
    if (pending.time) h.set('time', pending.time);
    if (pending.elevation) h.set('elevation', pending.elevation);
    if (pending.view) h.set('view', [pending.view.lon.toFixed(4), pending.view.lat.toFixed(4), pending.view.zoom.toFixed(2)].join(','));
    history.replaceState(null, '', `#${h.toString().replace(/%2F/g, '/').replace(/%2C/g, ',').replace(/%3A/g, ':')}`);
    for (const fn of listeners) fn();
  }, 150);
}

export function onStateWritten(fn) { listeners.push(fn); }
