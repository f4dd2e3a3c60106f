// A click on the map: WMS GetFeatureInfo (value and units) for each visible layer, and a time series
// at that point for layers with a time axis.
import { el } from './dom.js';
import { timeSeriesPlot } from './plot.js';

const JSON_INFO = { INFO_FORMAT: 'application/json' };

async function featureInfo(layer, coordinate, view, extra) {
  const src = layer.getSource();
  const u = src.getFeatureInfoUrl(coordinate, view.getResolution(), view.getProjection(), { ...JSON_INFO, ...extra });
  if (!u) return [];
  const resp = await fetch(u);
  if (!resp.ok) throw new Error(`GetFeatureInfo: ${resp.status}`);
  return (await resp.json()).features || [];
}

function fmt(v) {
  if (v === null || v === undefined) return 'no data';
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : String(+v.toFixed(4));
}

export async function showInfo(map, layers, coordinate) {
  const box = document.getElementById('info');
  const body = document.getElementById('info-body');
  const visible = layers.visible().filter((e) => e.info.queryable);
  box.hidden = false;
  if (!visible.length) {
    body.replaceChildren(el('p', {}, 'Show a layer to read its values here.'));
    return;
  }
  body.replaceChildren(el('p', {}, 'Reading values…'));
  const view = map.getView();
  const parts = [];
  for (const e of visible) {
    try {
      const feats = await featureInfo(e.layer, coordinate, view, {});
      const rows = feats.map((f) => {
        const p = f.properties;
        return el('tr', {}, el('th', { scope: 'row' }, p.variable), el('td', { class: 'value' }, fmt(p.value)),
          el('td', {}, p.units || ''), el('td', {}, (p.time || '').replace('T00:00:00Z', '')));
      });
      parts.push(el('section', { class: 'info-layer', 'data-layer': e.info.name }, el('h3', {}, e.info.title),
        rows.length ? el('table', {}, el('tr', {}, el('th', {}, 'variable'), el('th', {}, 'value'), el('th', {}, 'units'), el('th', {}, 'time')), rows)
          : el('p', {}, 'Outside the layer.')));
      if (e.info.time && e.info.time.values.length > 1 && rows.length) {
        const vals = e.info.time.values;
        const series = await featureInfo(e.layer, coordinate, view, { TIME: `${vals[0]}/${vals[vals.length - 1]}` });
        const p = series[0] && series[0].properties;
        if (p && Array.isArray(p.values))
          parts.push(timeSeriesPlot(p.time, p.values, p.units, `${e.info.title} at this point, ${p.time.length} time steps`));
      }
    } catch (err) {
      parts.push(el('p', { class: 'error' }, `${e.info.title}: ${err.message}`));
    }
  }
  body.replaceChildren(...parts);
}
