// The viewer's entry: the map, the three panels (layers, search, process) and the state kept in the URL.
import 'ol/ol.css';
import './style.css';
import Map from 'ol/Map.js';
import View from 'ol/View.js';
import { defaults as defaultControls, ScaleLine } from 'ol/control.js';
import { fromLonLat, toLonLat } from 'ol/proj.js';
import { getJSON } from './api.js';
import { status } from './dom.js';
import { showInfo } from './info.js';
import { Layers } from './layers.js';
import { Processes } from './process.js';
import { Search } from './search.js';
import { readState, writeState } from './state.js';

const state = readState();
const map = new Map({
  target: 'map',
  controls: defaultControls().extend([new ScaleLine()]),
  view: new View({
    center: fromLonLat(state.view ? [state.view.lon, state.view.lat] : [5, 48]),
    zoom: state.view ? state.view.zoom : 4,
  }),
});

const save = () => {
  const v = map.getView();
  const [lon, lat] = toLonLat(v.getCenter());
  state.view = { lon, lat, zoom: v.getZoom() };
  writeState(state);
};
map.on('moveend', save);

const layers = new Layers(map, state, save);

// Tabs: arrow keys move between them, as the WAI-ARIA tabs pattern says.
const tabs = [...document.querySelectorAll('[role=tab]')];
function selectTab(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', on);
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
  }
}
tabs.forEach((t, i) => {
  t.addEventListener('click', () => selectTab(t));
  t.addEventListener('keydown', (ev) => {
    const d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
    if (!d) return;
    const next = tabs[(i + d + tabs.length) % tabs.length];
    selectTab(next);
    next.focus();
  });
});

// The time bar: slider, play/pause, elevation.
const slider = document.getElementById('time-slider');
slider.addEventListener('input', () => layers.setTimeIndex(Number(slider.value)));
const play = document.getElementById('time-play');
let timer = null;
play.addEventListener('click', () => {
  if (timer) {
    clearInterval(timer);
    timer = null;
  } else {
    timer = setInterval(() => layers.setTimeIndex((layers.timeIndex + 1) % Math.max(1, layers.timeValues.length)), 1000);
  }
  play.setAttribute('aria-pressed', !!timer);
  play.textContent = timer ? 'Pause' : 'Play';
});
document.getElementById('elevation-select').addEventListener('change', (ev) => {
  state.elevation = ev.target.value;
  layers.applyDims();
  save();
});

// Values under a click, or at the map's centre for keyboard users.
map.on('singleclick', (ev) => {
  if (map.get('drawing')) return;
  showInfo(map, layers, ev.coordinate);
});
document.getElementById('info-centre').addEventListener('click', () => showInfo(map, layers, map.getView().getCenter()));
document.getElementById('info-close').addEventListener('click', () => { document.getElementById('info').hidden = true; });

async function start() {
  status('Loading…');
  try {
    await layers.load(document.getElementById('layer-tree'));
    const search = new Search(map, layers);
    await search.loadCollections();
    const { collections } = await getJSON('/collections');
    const processes = new Processes(map, layers, collections.map((c) => ({ id: c.id, title: c.title })));
    await processes.load();
    window.nadirViewer = { map, layers, search, processes };
    status('');
    document.body.dataset.ready = '1';
  } catch (err) {
    status(`Could not load: ${err.message}`);
    throw err;
  }
}
start();
