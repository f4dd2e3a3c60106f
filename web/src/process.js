// OGC API - Processes: a form generated from a process description, asynchronous submission, the job
// list with progress bars, and results opened as map layers (or offered for download).
import Draw, { createBox } from 'ol/interaction/Draw.js';
import VectorLayer from 'ol/layer/Vector.js';
import { transformExtent } from 'ol/proj.js';
import VectorSource from 'ol/source/Vector.js';
import { Stroke, Style } from 'ol/style.js';
import { getJSON, postJSON, wmsLayers } from './api.js';
import { el, status } from './dom.js';

const POLL_MS = 700;

// Inputs that name a dataset of this server are picked from the list of datasets.
const isDatasetInput = (id, d) => /dataset/i.test(id) || /id of a dataset/i.test(d.description || '');

export class Processes {
  constructor(map, layers, datasets) {
    this.map = map;
    this.layers = layers;
    this.datasets = datasets; // [{id, title}]
    this.select = document.getElementById('process-select');
    this.form = document.getElementById('process-form');
    this.jobs = new Map(); // jobID -> {li, bar, done}
    this.select.addEventListener('change', () => this.describe(this.select.value));
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
  }

  async load() {
    const { processes } = await getJSON('/processes', { limit: 100 });
    this.select.replaceChildren(...processes.map((p) => el('option', { value: p.id }, p.title || p.id)));
    if (processes.length) await this.describe(processes.find((p) => p.id === 'subset') ? 'subset' : processes[0].id);
    // The server's recent jobs, oldest at the bottom; their published layers join the tree, not the map.
    const { jobs } = await getJSON('/jobs', { limit: 10 });
    for (const job of jobs.reverse()) this.track(job, false);
  }

  async describe(id) {
    this.select.value = id;
    const d = await getJSON(`/processes/${encodeURIComponent(id)}`);
    this.description = d;
    document.getElementById('process-description').textContent = d.description || '';
    this.form.replaceChildren();
    for (const [name, input] of Object.entries(d.inputs || {})) this.form.append(this.field(name, input));
    this.form.append(el('button', { type: 'submit' }, `Run ${d.title || id}`));
  }

  field(name, input) {
    const id = `in-${name}`;
    const schema = input.schema || {};
    const required = (input.minOccurs ?? 1) > 0;
    const label = `${input.title || name}${required ? ' (required)' : ''}`;
    const help = input.description ? el('small', { id: `${id}-help` }, input.description) : '';
    const common = { id, name, 'aria-describedby': help ? `${id}-help` : null, required };
    if (schema.format === 'ogc-bbox' || schema.properties?.bbox) {
      const inputs = ['west', 'south', 'east', 'north'].map((n) =>
        el('label', {}, n, el('input', { type: 'number', step: 'any', name: `${name}.${n}`, 'data-bbox': name })));
      const draw = el('button', { type: 'button' }, 'Draw on the map');
      draw.addEventListener('click', () => this.drawBox(name));
      return el('fieldset', { class: 'field', 'data-input': name, 'data-kind': 'bbox' }, el('legend', {}, label), el('div', { class: 'bbox' }, inputs), draw, help);
    }
    let control;
    const values = schema.enum || (isDatasetInput(name, input) && schema.type === 'string' ? this.datasets.map((x) => x.id) : null);
    if (values) {
      control = el('select', common, required ? '' : el('option', { value: '' }, '—'),
        values.map((v) => el('option', { value: v }, this.datasets.find((x) => x.id === v)?.title || String(v))));
      if (schema.default !== undefined) control.value = schema.default;
    } else if (schema.type === 'number' || schema.type === 'integer') {
      control = el('input', { ...common, type: 'number', step: schema.type === 'integer' ? 1 : 'any', min: schema.minimum, max: schema.maximum, value: schema.default });
    } else if (schema.type === 'boolean') {
      control = el('input', { ...common, type: 'checkbox', required: false, checked: schema.default === true });
    } else if (schema.type === 'string' || !schema.type) {
      control = el('input', { ...common, type: 'text', maxlength: schema.maxLength, value: schema.default, placeholder: name === 'datetime' ? '2025-01-01/2025-01-05' : null });
    } else {
      control = el('textarea', { ...common, rows: 3, placeholder: 'JSON' });
      control.dataset.json = '1';
    }
    control.dataset.type = schema.type || 'string';
    if ((input.maxOccurs ?? 1) > 1 && control.tagName === 'INPUT') control.placeholder = 'one value, or several separated by commas';
    control.dataset.many = (input.maxOccurs ?? 1) > 1 ? '1' : '';
    return el('div', { class: 'field', 'data-input': name }, el('label', { for: id }, label), control, help);
  }

  drawBox(name) {
    if (this.drawing) this.map.removeInteraction(this.drawing);
    if (!this.boxSource) {
      this.boxSource = new VectorSource();
      this.map.addLayer(new VectorLayer({ source: this.boxSource, zIndex: 902, className: 'ol-layer nd-process-box',
        style: new Style({ stroke: new Stroke({ color: '#2b8a3e', width: 2, lineDash: [4, 4] }) }) }));
    }
    this.boxSource.clear();
    this.drawing = new Draw({ source: this.boxSource, type: 'Circle', geometryFunction: createBox() });
    this.drawing.on('drawend', (ev) => {
      const b = transformExtent(ev.feature.getGeometry().getExtent(), 'EPSG:3857', 'EPSG:4326');
      ['west', 'south', 'east', 'north'].forEach((n, i) => { this.form.elements[`${name}.${n}`].value = +b[i].toFixed(4); });
      this.map.removeInteraction(this.drawing);
      this.drawing = null;
      // The click that ends the box is not a value query.
      setTimeout(() => this.map.set('drawing', false), 500);
    });
    this.map.set('drawing', true);
    this.map.addInteraction(this.drawing);
    status('Click two corners of the box on the map');
  }

  inputs() {
    const out = {};
    for (const f of this.form.querySelectorAll('[data-input]')) {
      const name = f.dataset.input;
      if (f.dataset.kind === 'bbox') {
        const v = ['west', 'south', 'east', 'north'].map((n) => this.form.elements[`${name}.${n}`].value);
        if (v.every((x) => x !== '')) out[name] = { bbox: v.map(Number), crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84' };
        continue;
      }
      const c = f.querySelector('input, select, textarea');
      if (c.type === 'checkbox') { out[name] = c.checked; continue; }
      if (c.value === '') continue;
      const cast = (s) => (c.dataset.type === 'number' || c.dataset.type === 'integer' ? Number(s) : s);
      if (c.dataset.json) out[name] = JSON.parse(c.value);
      else if (c.dataset.many) out[name] = c.value.split(',').map((s) => cast(s.trim())).filter((s) => s !== '');
      else out[name] = cast(c.value);
    }
    return out;
  }

  async submit() {
    const id = this.description.id;
    let inputs;
    try {
      inputs = this.inputs();
    } catch (err) {
      status(`Invalid input: ${err.message}`);
      return;
    }
    try {
      const { json } = await postJSON(`/processes/${encodeURIComponent(id)}/execution`, { inputs }, { Prefer: 'respond-async' });
      status(`Job ${json.jobID} accepted`);
      this.track(json);
    } catch (err) {
      status(`Submission refused: ${err.message}`);
    }
  }

  track(job, show = true) {
    const bar = el('progress', { max: 100, value: job.progress ?? 0, 'aria-label': `Progress of job ${job.jobID}` });
    const state = el('span', { class: 'state' }, job.status);
    const li = el('li', { 'data-job': job.jobID }, el('strong', {}, job.processID || this.description.id), ' ', el('code', {}, job.jobID.slice(0, 8)), ' ', state, bar, el('div', { class: 'outputs' }));
    document.getElementById('job-list').prepend(li);
    const entry = { li, bar, state };
    this.jobs.set(job.jobID, entry);
    const poll = async () => {
      let s;
      try {
        s = await getJSON(`/jobs/${job.jobID}`);
      } catch (err) {
        state.textContent = `unknown (${err.message})`;
        return;
      }
      bar.value = s.progress ?? bar.value;
      state.textContent = `${s.status}${s.progress !== undefined ? ` ${s.progress}%` : ''}${s.message && s.status === 'failed' ? `: ${s.message}` : ''}`;
      li.dataset.status = s.status;
      if (s.status === 'successful') { bar.value = 100; await this.results(job.jobID, li.querySelector('.outputs'), show); }
      else if (s.status === 'accepted' || s.status === 'running') setTimeout(poll, POLL_MS);
    };
    setTimeout(poll, show ? POLL_MS : 0);
  }

  // A job's outputs: a WMS layer when the server publishes one for it (named after the job), else links.
  async results(jobID, box, show) {
    let res;
    try {
      res = await getJSON(`/jobs/${jobID}/results`);
    } catch (err) {
      box.replaceChildren(el('p', { class: 'error' }, err.message));
      return;
    }
    const links = [];
    for (const [name, out] of Object.entries(res)) {
      const items = Array.isArray(out) ? out : [out];
      for (const o of items) {
        if (o && typeof o === 'object' && o.href) links.push(el('a', { href: o.href, download: '' }, `Download ${name}${o.type ? ` (${o.type})` : ''}`));
        else links.push(el('span', {}, `${name}: ${JSON.stringify(o?.value ?? o)}`));
      }
    }
    box.replaceChildren(...links.flatMap((a) => [a, ' ']));
    let published = [];
    try {
      published = (await wmsLayers(true)).flatMap((g) => g.layers.map((l) => ({ ...l, title: `${g.title}: ${l.title}` })))
        .filter((l) => l.name.includes(jobID));
    } catch { /* the download links stay */ }
    // Every published layer goes to the tree; the first is shown when the job was submitted from here.
    published.forEach((info, i) => this.layers.addExtra(info, document.getElementById('layer-tree'), show && i === 0));
    if (published.length) box.append(el('span', { class: 'added', 'data-layer': published[0].name },
      `${show ? 'Shown on the map' : 'In the layer list'}: ${published[0].title}`));
    box.closest('li').dataset.results = published.length ? 'layers' : 'files';
  }
}
