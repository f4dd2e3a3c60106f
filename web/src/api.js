// Talks to the nadir serving this page: its services live one level above /viewer/.
import WMSCapabilities from 'ol/format/WMSCapabilities.js';

export const ROOT = new URL('../', document.baseURI);

export function url(path, params) {
  const u = new URL(path.replace(/^\//, ''), ROOT);
  if (params) for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.searchParams.set(k, v);
  return u.toString();
}

async function check(resp) {
  if (resp.ok) return resp;
  let detail = `${resp.status} ${resp.statusText}`;
  try {
    const body = await resp.json();
    detail = body.detail || body.title || detail;
  } catch { /* not JSON: the status says enough */ }
  throw new Error(detail);
}

export async function getJSON(path, params) {
  return (await check(await fetch(url(path, params), { headers: { Accept: 'application/json' } }))).json();
}

export async function postJSON(path, body, headers = {}) {
  const resp = await check(await fetch(url(path), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  }));
  return { resp, json: await resp.json() };
}

// The WMS 1.3.0 capabilities as a list of datasets, each with its named layers and their dimensions.
// fresh: revalidate with the server (layers appear when a job publishes its outputs).
export async function wmsLayers(fresh = false) {
  const href = url('/wms', { SERVICE: 'WMS', REQUEST: 'GetCapabilities', VERSION: '1.3.0' });
  const text = await (await check(await fetch(href, { cache: fresh ? 'no-cache' : 'default' }))).text();
  const caps = new WMSCapabilities().read(text);
  const groups = [];
  const walk = (layer, group) => {
    if (layer.Name) {
      group.layers.push({
        name: layer.Name,
        title: layer.Title || layer.Name,
        abstract: layer.Abstract || '',
        queryable: !!layer.queryable,
        bbox: layer.EX_GeographicBoundingBox,
        styles: (layer.Style || []).map((s) => ({ name: s.Name, title: s.Title })),
        time: dimension(layer, 'time'),
        elevation: dimension(layer, 'elevation'),
      });
    }
    for (const child of layer.Layer || []) {
      if (child.Layer && !child.Name) {
        const g = { title: child.Title || 'Datasets', abstract: child.Abstract || '', layers: [] };
        groups.push(g);
        walk(child, g);
      } else {
        walk(child, group);
      }
    }
  };
  const top = { title: caps.Capability.Layer.Title || 'Layers', layers: [] };
  walk(caps.Capability.Layer, top);
  if (top.layers.length) groups.unshift(top);
  return groups.filter((g) => g.layers.length);
}

function dimension(layer, name) {
  const d = (layer.Dimension || []).find((x) => x.name === name);
  if (!d || !d.values) return null;
  return { values: expandDimension(d.values.trim(), name === 'time'), default: d.default, units: d.units };
}

const MAX_STEPS = 5000;

// "a,b,c", "start/end/period" (ISO 8601) or a mix, as a list of values.
export function expandDimension(text, isTime) {
  const out = [];
  for (const part of text.split(',')) {
    const p = part.trim();
    const range = p.split('/');
    if (range.length === 3 && isTime) {
      const step = isoPeriodMs(range[2]);
      const t0 = Date.parse(range[0]), t1 = Date.parse(range[1]);
      if (!step || Number.isNaN(t0) || Number.isNaN(t1)) continue;
      for (let t = t0; t <= t1 && out.length < MAX_STEPS; t += step) out.push(new Date(t).toISOString().replace('.000Z', 'Z'));
    } else if (range.length === 3) {
      const [a, b, s] = range.map(Number);
      for (let v = a; s > 0 && v <= b + 1e-9 && out.length < MAX_STEPS; v += s) out.push(String(+v.toFixed(6)));
    } else if (p) {
      out.push(p);
    }
  }
  return out;
}

// PnDTnHnMnS as milliseconds (months and years at their mean length: enough to step a slider).
export function isoPeriodMs(p) {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(p);
  if (!m) return 0;
  const [, y, mo, w, d, h, mi, s] = m.map((x) => (x === undefined ? 0 : Number(x)));
  return ((((y * 365.25 + mo * 30.4375 + w * 7 + d) * 24 + h) * 60 + mi) * 60 + s) * 1000;
}
