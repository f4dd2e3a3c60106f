// The layer tree from WMS GetCapabilities (grouped by dataset): visibility, opacity, legend, time and elevation.
import TileLayer from 'ol/layer/Tile.js';
import TileWMS from 'ol/source/TileWMS.js';
import XYZ from 'ol/source/XYZ.js';
import { url, wmsLayers } from './api.js';
import { el } from './dom.js';

// A dataset is taken for the base map when its layer name says so (Natural Earth relief, coastlines...).
const BASE_RE = /coast|countr|natural.?earth|basemap|relief/i;

export class Layers {
  constructor(map, state, onChange) {
    this.map = map;
    this.state = state;
    this.onChange = onChange;
    this.entries = new Map(); // name -> {info, layer, row}
    this.order = 0;
    this.timeIndex = 0;
    this.timeValues = [];
  }

  async load(container) {
    const groups = await wmsLayers();
    container.replaceChildren();
    // A dataset with a true-colour composite offers only that; composites come first.
    const all = groups.flatMap((g) => g.layers.map((l) => ({ ...l, dataset: g.title })));
    const composite = new Set(all.filter((l) => l.name.endsWith('/rgb')).map((l) => l.name.split('/')[0]));
    const bases = all.filter((l) => BASE_RE.test(l.name) && !l.time)
      .filter((l) => l.name.endsWith('/rgb') || !composite.has(l.name.split('/')[0]))
      .sort((a, b) => b.name.endsWith('/rgb') - a.name.endsWith('/rgb'));
    const baseNames = new Set(bases.map((b) => b.name));
    this.addBase(container, bases);
    for (const g of groups) {
      const list = el('ul', { class: 'layers' });
      for (const info of g.layers) if (!baseNames.has(info.name)) list.append(this.row(info));
      if (!list.children.length) continue;
      container.append(el('details', { open: true, class: 'dataset' },
        el('summary', {}, g.title), g.abstract ? el('p', { class: 'abstract' }, g.abstract) : '', list));
    }
    for (const name of this.state.layers) if (this.entries.has(name)) this.show(name, true);
    this.refreshTime();
  }

  addBase(container, bases) {
    const select = el('select', { id: 'base-select' }, el('option', { value: '' }, 'None'),
      ...bases.map((b) => el('option', { value: b.name }, `${b.dataset}: ${b.title}`)));
    // Own class names keep each layer on its own canvas (OpenLayers merges layers of one class).
    this.base = new TileLayer({ zIndex: -1, className: 'ol-layer nd-base', properties: { name: 'base' } });
    this.map.addLayer(this.base);
    const setBase = (name) => {
      // nadir's XYZ tiles (the WMTS service in Web Mercator), cached on the server.
      // The template's braces must stay unescaped: appended to the service URL, not built by URL().
      this.base.setSource(name ? new XYZ({ url: `${url('/tiles/')}${encodeURIComponent(name.replace('/', ':'))}/{z}/{x}/{y}.png`, crossOrigin: 'anonymous' }) : null);
      this.baseName = name;
    };
    select.addEventListener('change', () => setBase(select.value));
    if (bases.length) select.value = bases[0].name;
    setBase(select.value);
    container.append(el('label', { class: 'base' }, 'Base map ', select));
  }

  row(info) {
    const id = `layer-${info.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const check = el('input', { type: 'checkbox', id, 'data-layer': info.name });
    const opacity = el('input', { type: 'range', min: 0, max: 1, step: 0.05, value: this.state.opacity[info.name] ?? 1, id: `${id}-opacity` });
    const legend = el('img', { class: 'legend', alt: `Legend of ${info.title}`, hidden: true, loading: 'lazy' });
    const extras = el('div', { class: 'layer-extras', hidden: true },
      el('label', { for: `${id}-opacity` }, 'Opacity'), opacity, legend);
    const dims = [info.time ? 'time' : '', info.elevation ? 'elevation' : ''].filter(Boolean).join(', ');
    const li = el('li', { class: 'layer' },
      el('label', { for: id, title: info.abstract }, check, ` ${info.title}`, dims ? el('small', {}, ` (${dims})`) : ''), extras);
    check.addEventListener('change', () => this.show(info.name, check.checked));
    opacity.addEventListener('input', () => {
      const e = this.entries.get(info.name);
      e.layer.setOpacity(Number(opacity.value));
      this.state.opacity[info.name] = Number(opacity.value);
      this.onChange();
    });
    this.entries.set(info.name, { info, layer: null, check, extras, legend, opacity });
    return li;
  }

  // Adds a layer that is not in the capabilities tree yet (a job's result), shown or not.
  addExtra(info, container, show) {
    if (!this.entries.has(info.name)) {
      let group = container.querySelector('details.results ul');
      if (!group) {
        group = el('ul', { class: 'layers' });
        const results = el('details', { open: true, class: 'dataset results' }, el('summary', {}, 'Job results'), group);
        container.querySelector('label.base').after(results);
      }
      group.append(this.row(info));
    }
    if (show) this.show(info.name, true);
  }

  show(name, on) {
    const e = this.entries.get(name);
    if (!e) return;
    e.check.checked = on;
    e.extras.hidden = !on;
    if (on && !e.layer) {
      e.layer = new TileLayer({
        opacity: Number(e.opacity.value),
        zIndex: ++this.order,
        className: `ol-layer nd-wms-${this.order}`,
        properties: { name },
        source: new TileWMS({
          url: url('/wms'),
          params: { LAYERS: name, STYLES: '', FORMAT: 'image/png', TRANSPARENT: true, VERSION: '1.3.0' },
          crossOrigin: 'anonymous',
          transition: 0,
        }),
      });
      this.map.addLayer(e.layer);
      e.legend.src = url('/wms', { SERVICE: 'WMS', REQUEST: 'GetLegendGraphic', VERSION: '1.3.0', FORMAT: 'image/png', LAYER: name, STYLE: '' });
      e.legend.hidden = false;
    } else if (!on && e.layer) {
      this.map.removeLayer(e.layer);
      e.layer = null;
    }
    this.state.layers = [...this.entries.keys()].filter((n) => this.entries.get(n).layer);
    this.refreshTime();
    this.onChange();
  }

  visible() {
    return [...this.entries.values()].filter((e) => e.layer).sort((a, b) => b.layer.getZIndex() - a.layer.getZIndex());
  }

  // The time slider follows the top visible layer that has a time axis; the others take their own step
  // nearest to it (a time outside a layer's extent is refused by the server).
  refreshTime() {
    const top = this.visible().find((e) => e.info.time);
    const values = top ? top.info.time.values : [];
    const slider = document.getElementById('time-slider');
    document.getElementById('timebar').hidden = !top && !this.visible().some((e) => e.info.elevation);
    slider.disabled = !top;
    if (values.join() !== this.timeValues.join()) {
      this.timeValues = values;
      slider.max = Math.max(0, values.length - 1);
      let i = this.state.time ? values.indexOf(this.state.time) : -1;
      if (i < 0) i = top && top.info.time.default ? values.indexOf(top.info.time.default) : values.length - 1;
      this.setTimeIndex(Math.max(0, i));
    } else {
      this.applyDims();
    }
    const elev = this.visible().find((e) => e.info.elevation);
    const box = document.getElementById('elevation-box');
    box.hidden = !elev;
    if (elev) {
      const sel = document.getElementById('elevation-select');
      const vals = elev.info.elevation.values;
      if ([...sel.options].map((o) => o.value).join() !== vals.join()) {
        sel.replaceChildren(...vals.map((v) => el('option', { value: v }, `${v} ${elev.info.elevation.units || ''}`)));
        sel.value = vals.includes(this.state.elevation) ? this.state.elevation : (elev.info.elevation.default ?? vals[0]);
      }
      this.state.elevation = sel.value;
    } else {
      this.state.elevation = null;
    }
    this.applyDims();
  }

  setTimeIndex(i) {
    const slider = document.getElementById('time-slider');
    this.timeIndex = Math.min(Math.max(0, i), Math.max(0, this.timeValues.length - 1));
    slider.value = this.timeIndex;
    const t = this.timeValues[this.timeIndex] || null;
    this.state.time = t;
    const out = document.getElementById('time-value');
    out.value = t ? t.replace('T00:00:00Z', '') : '';
    slider.setAttribute('aria-valuetext', out.value);
    this.applyDims();
    this.onChange();
  }

  applyDims() {
    for (const e of this.visible()) {
      const src = e.layer.getSource();
      const p = {};
      if (e.info.time && this.state.time) p.TIME = nearestTime(e.info.time, this.state.time);
      if (e.info.elevation && this.state.elevation) p.ELEVATION = this.state.elevation;
      const cur = src.getParams();
      if (cur.TIME !== p.TIME || cur.ELEVATION !== p.ELEVATION) src.updateParams({ TIME: p.TIME, ELEVATION: p.ELEVATION });
    }
  }
}

// The step of a time axis nearest to an instant.
function nearestTime(axis, t) {
  if (!axis.ms) axis.ms = axis.values.map((v) => Date.parse(v));
  const target = Date.parse(t);
  let best = 0;
  for (let i = 1; i < axis.ms.length; i++) if (Math.abs(axis.ms[i] - target) < Math.abs(axis.ms[best] - target)) best = i;
  return axis.values[best];
}
