// STAC search: a box drawn on the map (or typed), dates and collections; results listed, footprints drawn,
// an item opened with its properties, preview and ready-to-copy snippets for its access points.
import Feature from 'ol/Feature.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import Draw, { createBox } from 'ol/interaction/Draw.js';
import VectorLayer from 'ol/layer/Vector.js';
import VectorSource from 'ol/source/Vector.js';
import { Fill, Stroke, Style } from 'ol/style.js';
import { transformExtent } from 'ol/proj.js';
import { getJSON, postJSON, ROOT, url } from './api.js';
import { el, status } from './dom.js';

const footprintStyle = new Style({ stroke: new Stroke({ color: '#d9480f', width: 2 }), fill: new Fill({ color: 'rgba(217,72,15,0.08)' }) });
const selectedStyle = new Style({ stroke: new Stroke({ color: '#1c7ed6', width: 3 }), fill: new Fill({ color: 'rgba(28,126,214,0.15)' }) });

export class Search {
  constructor(map, layers) {
    this.map = map;
    this.layers = layers;
    this.form = document.getElementById('search-form');
    this.footprints = new VectorSource();
    this.boxSource = new VectorSource();
    map.addLayer(new VectorLayer({ source: this.boxSource, zIndex: 900, className: 'ol-layer nd-search-box', properties: { name: 'search-box' },
      style: new Style({ stroke: new Stroke({ color: '#333', width: 1.5, lineDash: [6, 4] }) }) }));
    map.addLayer(new VectorLayer({ source: this.footprints, zIndex: 901, className: 'ol-layer nd-footprints', style: footprintStyle, properties: { name: 'footprints' } }));
    document.getElementById('search-draw').addEventListener('click', () => this.draw());
    document.getElementById('search-view').addEventListener('click', () => this.setBox(this.viewBox()));
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.run(); });
    for (const n of ['west', 'south', 'east', 'north']) this.form.elements[n].addEventListener('change', () => this.drawBox());
  }

  async loadCollections() {
    const { collections } = await getJSON('/stac/collections');
    const sel = document.getElementById('search-collections');
    sel.replaceChildren(...collections.map((c) => el('option', { value: c.id }, c.title || c.id)));
  }

  viewBox() {
    const e = transformExtent(this.map.getView().calculateExtent(this.map.getSize()), 'EPSG:3857', 'EPSG:4326');
    return [Math.max(-180, e[0]), Math.max(-90, e[1]), Math.min(180, e[2]), Math.min(90, e[3])];
  }

  // One drawing tool at a time: a box drawn for the search (two clicks); keyboard users type the numbers.
  draw() {
    if (this.drawing) this.map.removeInteraction(this.drawing);
    this.drawing = new Draw({ source: this.boxSource, type: 'Circle', geometryFunction: createBox() });
    this.boxSource.clear();
    this.drawing.on('drawend', (ev) => {
      const e = transformExtent(ev.feature.getGeometry().getExtent(), 'EPSG:3857', 'EPSG:4326');
      this.map.removeInteraction(this.drawing);
      this.drawing = null;
      // The click that ends the box is not a value query.
      setTimeout(() => this.map.set('drawing', false), 500);
      setTimeout(() => this.setBox(e));
    });
    this.map.set('drawing', true);
    this.map.addInteraction(this.drawing);
    status('Click two corners of the box on the map');
  }

  setBox(b) {
    ['west', 'south', 'east', 'north'].forEach((n, i) => { this.form.elements[n].value = +b[i].toFixed(4); });
    this.drawBox();
  }

  box() {
    const v = ['west', 'south', 'east', 'north'].map((n) => this.form.elements[n].value);
    return v.every((x) => x !== '') ? v.map(Number) : null;
  }

  drawBox() {
    this.boxSource.clear();
    const b = this.box();
    if (!b) return;
    const geom = new GeoJSON().readGeometry({ type: 'Polygon', coordinates: [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]] },
      { dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857' });
    this.boxSource.addFeature(new Feature(geom));
  }

  query() {
    const f = this.form.elements;
    const q = { limit: 50 };
    const b = this.box();
    if (b) q.bbox = b;
    if (f.from.value || f.to.value) q.datetime = `${f.from.value ? `${f.from.value}T00:00:00Z` : '..'}/${f.to.value ? `${f.to.value}T23:59:59Z` : '..'}`;
    const cols = [...f.collections.selectedOptions].map((o) => o.value);
    if (cols.length) q.collections = cols;
    return q;
  }

  async run() {
    const q = this.query();
    this.lastQuery = q;
    status('Searching…');
    let json;
    try {
      ({ json } = await postJSON('/stac/search', q));
    } catch (err) {
      status(`Search failed: ${err.message}`);
      return;
    }
    const items = json.features || [];
    const fmt = new GeoJSON({ dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857' });
    this.footprints.clear();
    const list = document.getElementById('search-results');
    list.replaceChildren();
    for (const item of items) {
      if (item.geometry) {
        const f = fmt.readFeature(item);
        f.setId(`${item.collection}/${item.id}`);
        this.footprints.addFeature(f);
      }
      const btn = el('button', { type: 'button', class: 'linklike' }, item.id);
      btn.addEventListener('click', () => this.open(item));
      list.append(el('li', { 'data-item': item.id }, btn, el('small', {}, ` ${item.collection || ''} · ${item.properties.datetime || item.properties.start_datetime || ''}`)));
    }
    const matched = json.numberMatched ?? json.context?.matched;
    const text = `${items.length} item${items.length === 1 ? '' : 's'}${matched !== undefined && matched > items.length ? ` of ${matched}` : ''}`;
    document.getElementById('search-count').textContent = text;
    status(text);
    document.getElementById('item-view').hidden = true;
  }

  // A GetMap of the item's collection over the item's box and time, from the layers the WMS lists.
  preview(item) {
    const names = [...this.layers.entries.keys()].filter((n) => n.startsWith(`${item.collection}/`));
    const name = names.find((n) => n.endsWith('/rgb')) || names[0];
    if (!name || !item.bbox) return item.assets?.thumbnail?.href;
    const [w, s, e, n] = item.bbox;
    const info = this.layers.entries.get(name).info;
    const height = Math.max(32, Math.min(512, Math.round(256 * (n - s) / Math.max(1e-9, e - w))));
    return url('/wms', { SERVICE: 'WMS', VERSION: '1.3.0', REQUEST: 'GetMap', LAYERS: name, STYLES: '', CRS: 'CRS:84',
      BBOX: [w, s, e, n].join(','), WIDTH: 256, HEIGHT: height, FORMAT: 'image/png', TRANSPARENT: 'true',
      TIME: info.time && item.properties.datetime ? item.properties.datetime : undefined });
  }

  open(item) {
    for (const f of this.footprints.getFeatures()) f.setStyle(f.getId() === `${item.collection}/${item.id}` ? selectedStyle : undefined);
    const view = document.getElementById('item-view');
    const props = Object.entries(item.properties).filter(([, v]) => typeof v !== 'object' || v === null);
    const thumb = this.preview(item);
    const snippets = itemSnippets(item, this.lastQuery || {});
    const close = el('button', { type: 'button' }, 'Back to the results');
    close.addEventListener('click', () => { view.hidden = true; });
    view.replaceChildren(
      el('h2', {}, item.id), close,
      thumb ? el('img', { src: thumb, alt: `Preview of ${item.id}`, class: 'preview', width: 256 }) : '',
      el('table', { class: 'props' }, props.map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', {}, String(v))))),
      el('h3', {}, 'Access'),
      el('ul', {}, Object.entries(item.assets || {}).map(([k, a]) => el('li', {}, el('a', { href: a.href }, a.title || k), ` ${a.type || ''}`))),
      ...snippets.map(([title, code]) => snippet(title, code)),
    );
    view.hidden = false;
    view.querySelector('h2').focus?.();
  }
}

function snippet(title, code) {
  const pre = el('pre', {}, el('code', {}, code));
  const btn = el('button', { type: 'button', class: 'copy' }, `Copy ${title}`);
  btn.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code);
      status(`${title} copied`);
    } catch {
      // No clipboard permission (plain http): select the text so Ctrl+C copies it.
      const r = document.createRange();
      r.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(r);
      status('Selected: press Ctrl+C to copy');
    }
  });
  return el('div', { class: 'snippet' }, el('h4', {}, title), btn, pre);
}

export function itemSnippets(item, q) {
  const stac = new URL('stac', ROOT).toString();
  const search = [`collections=[${JSON.stringify(item.collection)}]`];
  if (q.bbox) search.push(`bbox=[${q.bbox.join(', ')}]`);
  if (q.datetime) search.push(`datetime=${JSON.stringify(q.datetime)}`);
  const out = [['pystac-client', `from pystac_client import Client

catalog = Client.open(${JSON.stringify(stac)})
search = catalog.search(${search.join(', ')})
for item in search.items():
    print(item.id, item.datetime, list(item.assets))`]];
  const dap = item.assets?.opendap?.href;
  if (dap) {
    const t = item.properties.datetime;
    out.push(['xarray over OPeNDAP', `import xarray as xr

ds = xr.open_dataset(${JSON.stringify(dap)}, engine="netcdf4")
${t ? `print(ds.sel(time=${JSON.stringify(t.replace('Z', ''))}, method="nearest"))` : 'print(ds)'}`]);
  }
  const wcs = item.assets?.wcs?.href;
  if (wcs) {
    const base = wcs.split('?')[0];
    out.push(['GDAL over WCS', `# the item's coverage as a GeoTIFF
gdal_translate "/vsicurl/${wcs}" ${item.id}.tif
# or through GDAL's WCS driver
gdalinfo "WCS:${base}?version=2.0.1&coverage=${item.collection}"`]);
  }
  return out;
}
