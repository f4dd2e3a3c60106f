// End-to-end tests of the viewer in Debian's Chromium (headless, driven by playwright-core) against a real
// `nadir serve` over the demo data. Screenshots of each step go to $NADIR_WEB_OUT (default tests/web/out).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const { chromium } = createRequire(path.join(repo, 'web/package.json'))('playwright-core');

const NADIR = process.env.NADIR_BIN || path.join(repo, 'build/nadir');
const VIEWER_DIR = process.env.NADIR_VIEWER_DIR || path.join(path.dirname(NADIR), 'share/viewer');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.NADIR_WEB_OUT || path.join(here, 'out');
// The base map: Natural Earth relief from Debian's python-cartopy-data, georeferenced by a VRT in config/.
const NATURAL_EARTH = '/usr/share/cartopy/data/raster/natural_earth/50-natural-earth-1-downsampled.png';
const NATURAL_EARTH_VRT = path.join(repo, 'config/natural_earth_relief.vrt');
// Natural Earth countries from python3-geopandas (make samples): nadir's vector layers, the demo's base map.
const COUNTRIES = process.env.ND_SAMPLES_DIR ? path.join(process.env.ND_SAMPLES_DIR,
  'geopandas/usr/lib/python3/dist-packages/geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp') : '';
// NOAA OISST from r-cran-stars (make samples): a layer with a vertical axis, for the elevation list.
const OISST = process.env.ND_SAMPLES_DIR ? path.join(process.env.ND_SAMPLES_DIR, 'stars/usr/lib/R/site-library/stars/nc/reduced.nc') : '';

let work, server, serverLog, baseUrl, browser, page;
const consoleErrors = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitHealthy(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (server.exitCode !== null) throw new Error(`nadir exited: ${fs.readFileSync(serverLog, 'utf8')}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('nadir did not answer /health within 30 s');
}

function rawStatus(rawPath) {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    http.get({ hostname, port, path: rawPath }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
  });
}

async function shot(name) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
}

// Pixels of the map's canvases: how many are not transparent, and a checksum of their colours.
async function mapPixels(layerName) {
  return page.evaluate((name) => {
    const { map } = window.nadirViewer;
    let opaque = 0, sum = 0, distinct = new Set();
    for (const layer of map.getAllLayers()) {
      if (name && layer.get('name') !== name) continue;
      const canvas = layer.getRenderer()?.context?.canvas || layer.getRenderer()?.getImage?.();
      if (!canvas || !canvas.getContext) continue;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        opaque++;
        sum = (sum + data[i] * 3 + data[i + 1] * 5 + data[i + 2] * 7 + (i % 9973)) % 1e9;
        if (distinct.size < 64) distinct.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      }
    }
    return { opaque, sum, colours: distinct.size };
  }, layerName);
}

async function renderComplete() {
  await page.evaluate(() => new Promise((resolve) => {
    const { map } = window.nadirViewer;
    map.once('rendercomplete', () => resolve());
    map.render();
  }));
}

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  assert.ok(fs.existsSync(path.join(VIEWER_DIR, 'index.html')), `the viewer is not built in ${VIEWER_DIR}`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'nadir-web-'));
  const demo = path.join(work, 'demo');
  const args = ['demo-data', demo];
  if (process.env.ND_SAMPLES_DIR) args.splice(1, 0, '--samples', process.env.ND_SAMPLES_DIR);
  const made = spawnSync(NADIR, args, { encoding: 'utf8', timeout: 300000 });
  assert.equal(made.status, 0, made.stderr);
  const vrt = fs.existsSync(NATURAL_EARTH) ? NATURAL_EARTH_VRT : null;
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const config = path.join(work, 'nadir.yaml');
  fs.writeFileSync(config, `server:
  bind: 127.0.0.1
  port: ${port}
  base_url: ${baseUrl}
  threads: 4
  data_dir: ${work}/var
  viewer_dir: ${VIEWER_DIR}
datasets:
  - id: sst
    title: Demo sea surface temperature
    source: ${demo}/sst/sst_*.nc
  - id: dem_demo
    title: Demo elevation
    source: ${demo}/dem/dem_demo.tif
${COUNTRIES && fs.existsSync(COUNTRIES) ? `  - id: countries
    title: Countries
    source: ${COUNTRIES}
` : ''}${OISST && fs.existsSync(OISST) ? `  - id: oisst
    title: NOAA OISST v2
    source: ${OISST}
` : ''}${vrt ? `  - id: natural_earth
    title: Natural Earth shaded relief
    source: ${vrt}
styles:
  - name: relief
    title: Shaded relief, as drawn
    layers: [natural_earth/rgb]
    stretch: minmax
    default: true
` : ''}`);
  serverLog = path.join(work, 'nadir.log');
  const log = fs.openSync(serverLog, 'w');
  server = spawn(NADIR, ['serve', '-c', config], { stdio: ['ignore', log, log] });
  await waitHealthy(baseUrl, 30000);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // The console says only "status 400": the URL goes next to it.
  page.on('response', (r) => { if (r.status() >= 400) consoleErrors.push(`${r.status()} ${r.url()}`); });
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server.once('exit', (code, signal) => r({ code, signal })));
    server.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(code, 0, `nadir exited with ${code} (${signal}): ${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the page loads with no console error and the layer tree lists the datasets', async () => {
  const t0 = Date.now();
  await page.goto(`${baseUrl}/viewer/#layers=sst/sst&view=-2,50,4`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  await renderComplete();
  // Time to first tile: when the first map tile (WMS GetMap or XYZ) had arrived, from the navigation's start.
  const firstTile = await page.evaluate(() => Math.min(...performance.getEntriesByType('resource')
    .filter((r) => /REQUEST=GetMap|\/tiles\//.test(r.name)).map((r) => r.responseEnd)));
  const [script, caps] = await page.evaluate(() => ['/assets/index-', 'REQUEST=GetCapabilities'].map((k) =>
    performance.getEntriesByType('resource').find((r) => r.name.includes(k))?.responseEnd ?? NaN));
  console.log(`# bundle loaded ${script.toFixed(0)} ms, WMS capabilities ${caps.toFixed(0)} ms, first tile ${firstTile.toFixed(0)} ms, ` +
    `map complete ${Date.now() - t0} ms after navigation`);
  assert.ok(Number.isFinite(firstTile), 'no tile was requested');
  await shot('01-loaded');
  assert.deepEqual(consoleErrors, []);
  assert.ok(await page.isChecked('input[data-layer="sst/sst"]'));
  assert.equal(await page.locator('input[data-layer="dem_demo/height"], input[data-layer^="dem_demo/"]').count() >= 1, true);
  // Every form control has an accessible name.
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((e) => !e.labels?.length && !e.getAttribute('aria-label') && !e.closest('label')).map((e) => e.id || e.name));
  assert.deepEqual(unlabelled, []);
});

test('the viewer is served with redirects, gzip, ETags and no way out of its folder', async () => {
  const redirect = await fetch(`${baseUrl}/viewer?x=1`, { redirect: 'manual' });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/viewer/?x=1');
  const html = await (await fetch(`${baseUrl}/viewer/`)).text();
  const js = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)[1];
  // Node's fetch asks for gzip and inflates: the headers tell what was sent.
  const r = await fetch(`${baseUrl}/viewer/${js}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-encoding'), 'gzip');
  assert.match(r.headers.get('content-type'), /^text\/javascript/);
  assert.match(r.headers.get('cache-control'), /max-age=31536000/);
  const body = await r.text();
  assert.match(body, /nadirViewer/);
  const again = await fetch(`${baseUrl}/viewer/${js}`, { headers: { 'If-None-Match': r.headers.get('etag') } });
  assert.equal(again.status, 304);
  // Raw paths (fetch would resolve the dots before sending them).
  for (const bad of ['/viewer/../nadir.yaml', '/viewer/%2e%2e/nadir.yaml', '/viewer/assets/../../nadir.yaml',
    '/viewer/.gitignore', `/viewer/${js}.gz`])
    assert.equal(await rawStatus(bad), 404, bad);
});

test('the map answers the keyboard', async () => {
  const before = await page.evaluate(() => window.nadirViewer.map.getView().getCenter());
  await page.focus('#map');
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction((c) => {
    const v = window.nadirViewer.map.getView();
    return !v.getAnimating() && v.getCenter()[0] < c[0];
  }, before);
  await page.keyboard.press('+');
  await page.waitForFunction(() => !window.nadirViewer.map.getView().getAnimating() && window.nadirViewer.map.getView().getZoom() === 5);
  // Back to the view the next tests click on.
  await page.evaluate((c) => { const v = window.nadirViewer.map.getView(); v.setCenter(c); v.setZoom(4); }, before);
  await renderComplete();
});

test('a layer draws tiles that are not blank', async () => {
  const px = await mapPixels('sst/sst');
  assert.ok(px.opaque > 10000, `only ${px.opaque} opaque pixels`);
  assert.ok(px.colours > 8, `only ${px.colours} colours: a blank or flat tile`);
  const legend = await page.$eval('img.legend:not([hidden])', (img) => img.complete && img.naturalWidth);
  assert.ok(legend > 0, 'the legend image did not load');
  if (fs.existsSync(NATURAL_EARTH)) {
    const base = await mapPixels('base');
    assert.ok(base.opaque > 10000 && base.colours > 8, `base map blank: ${JSON.stringify(base)}`);
  }
});

test('the base map list offers nadir\'s raster relief and vector countries', { skip: !(COUNTRIES && fs.existsSync(COUNTRIES) && fs.existsSync(NATURAL_EARTH)) && 'no samples or no python-cartopy-data' }, async () => {
  const options = await page.$$eval('#base-select option', (o) => o.map((x) => x.value));
  assert.deepEqual(options, ['', 'natural_earth/rgb', 'countries/naturalearth_lowres']);
  const relief = await mapPixels('base');
  await page.selectOption('#base-select', 'countries/naturalearth_lowres');
  await renderComplete();
  const countries = await mapPixels('base');
  await shot('02b-countries-base');
  assert.ok(countries.opaque > 10000 && countries.sum !== relief.sum, `countries base: ${JSON.stringify(countries)}`);
  await page.selectOption('#base-select', 'natural_earth/rgb');
  await renderComplete();
});

test('moving the time slider changes the map', async () => {
  const before = await mapPixels('sst/sst');
  const last = await page.$eval('#time-value', (o) => o.value);
  await page.focus('#time-slider');
  await page.keyboard.press('Home'); // keyboard reachable: the first day
  await page.waitForFunction((v) => document.getElementById('time-value').value !== v, last);
  await renderComplete();
  const first = await page.$eval('#time-value', (o) => o.value);
  assert.equal(first, '2025-01-01');
  const afterPx = await mapPixels('sst/sst');
  await shot('02-time-first-day');
  assert.notEqual(afterPx.sum, before.sum, 'the map pixels did not change with the time');
  assert.match(page.url(), /time=2025-01-01T00:00:00Z/);
  // Play steps through the days; pressing it again pauses.
  await page.click('#time-play');
  assert.equal(await page.getAttribute('#time-play', 'aria-pressed'), 'true');
  await page.waitForFunction(() => document.getElementById('time-value').value === '2025-01-02', null, { timeout: 5000 });
  await page.click('#time-play');
  assert.equal(await page.getAttribute('#time-play', 'aria-pressed'), 'false');
});

test('a click shows the value with its units and a time series', async () => {
  const box = await page.locator('#map').boundingBox();
  // The map is centred on 2W 50N: the Channel approaches, sea in the synthetic SST.
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  const value = page.locator('#info .info-layer[data-layer="sst/sst"] td.value').first();
  await value.waitFor({ timeout: 10000 });
  const v = Number(await value.textContent());
  assert.ok(v > 5 && v < 20, `SST ${v} is not a January Atlantic value`);
  assert.match(await page.locator('#info').textContent(), /degree_Celsius/);
  await page.locator('#info svg.plot polyline').waitFor({ timeout: 10000 });
  const n = await page.$eval('#info svg.plot polyline', (p) => p.getAttribute('points').split(' ').length);
  assert.equal(n, 31);
  await shot('03-value-and-series');
});

test('a STAC search lists items and draws their footprints', async () => {
  await page.click('#tab-search');
  // A box drawn with two clicks fills the four numbers (west < east, south < north).
  await page.click('#search-draw');
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.7);
  await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.3);
  await page.waitForFunction(() => document.querySelector('input[name=north]').value !== '');
  const drawn = await page.$$eval('#search-form .bbox input', (l) => l.map((i) => Number(i.value)));
  assert.ok(drawn[0] < drawn[2] && drawn[1] < drawn[3], `drawn box ${drawn}`);
  await page.waitForTimeout(600); // the click that ends the box is not a value query
  await page.fill('input[name=west]', '-20');
  await page.fill('input[name=south]', '40');
  await page.fill('input[name=east]', '30');
  await page.fill('input[name=north]', '66');
  await page.fill('input[name=from]', '2025-01-01');
  await page.fill('input[name=to]', '2025-01-05');
  await page.selectOption('#search-collections', ['sst']);
  await page.click('#search-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#search-results li').length > 0, null, { timeout: 10000 });
  assert.equal(await page.locator('#search-results li').count(), 5);
  await renderComplete();
  const fp = await mapPixels('footprints');
  assert.ok(fp.opaque > 1000, `footprints not drawn: ${fp.opaque} pixels`);
  await shot('04-search-results');
  await page.click('#search-results li button');
  await page.waitForSelector('#item-view:not([hidden]) pre');
  const text = await page.locator('#item-view').textContent();
  assert.match(text, /pystac_client/);
  assert.match(text, /xr\.open_dataset\(".*\/opendap\/sst"/);
  assert.match(text, /gdal_translate/);
  await shot('05-item');
});

test('submitting subset shows progress to 100% and adds the result', async () => {
  await page.click('#tab-process');
  await page.selectOption('#process-select', 'subset');
  await page.waitForSelector('#process-form [data-input="dataset"] select');
  await page.selectOption('#in-dataset', 'sst');
  await page.fill('input[name="bbox.west"]', '-10');
  await page.fill('input[name="bbox.south"]', '45');
  await page.fill('input[name="bbox.east"]', '0');
  await page.fill('input[name="bbox.north"]', '55');
  await page.fill('#in-datetime', '2025-01-01/2025-01-03');
  await page.click('#process-form button[type=submit]');
  const job = page.locator('#job-list li').first();
  await job.waitFor();
  await page.waitForFunction(() => document.querySelector('#job-list li')?.dataset.status === 'successful', null, { timeout: 60000 });
  await page.waitForSelector('#job-list li[data-results]');
  assert.equal(await job.locator('progress').evaluate((p) => p.value), 100);
  const links = await job.locator('.outputs a').count();
  assert.ok(links > 0, 'no result entry');
  // nadir publishes a job's outputs as WMS layers named after the job: the first is on the map.
  const jobID = await job.getAttribute('data-job');
  const layer = await job.locator('.outputs .added').getAttribute('data-layer');
  assert.ok(layer.startsWith(jobID), `${layer} is not the job's layer`);
  assert.ok(await page.isChecked(`input[data-layer="${layer}"]`));
  await renderComplete();
  const px = await mapPixels(layer);
  assert.ok(px.opaque > 1000, `the result layer drew ${px.opaque} pixels`);
  if (links) {
    const href = await job.locator('.outputs a').first().getAttribute('href');
    const resp = await fetch(href);
    assert.equal(resp.status, 200);
    assert.match(resp.headers.get('content-type'), /tiff/);
  }
  await shot('06-job-done');
  assert.deepEqual(consoleErrors, []);
});

test('a layer with a vertical axis gets the elevation list, and the map asks for that level', { skip: !(OISST && fs.existsSync(OISST)) && 'no r-cran-stars samples (make samples)' }, async () => {
  await page.click('#tab-layers');
  await page.check('input[data-layer="oisst/sst"]');
  await page.waitForSelector('#elevation-box:not([hidden]) #elevation-select');
  assert.deepEqual(await page.$$eval('#elevation-select option', (o) => o.map((x) => x.textContent.trim())), ['0 meters']);
  const asked = page.waitForRequest((r) => r.url().includes('LAYERS=oisst%2Fsst') && /ELEVATION=0(&|$)/.test(r.url()));
  await page.evaluate(() => window.nadirViewer.map.getView().setZoom(2));
  await asked;
  await renderComplete();
  assert.ok((await mapPixels('oisst/sst')).opaque > 10000);
  assert.match(page.url(), /elevation=0/);
  // OISST (1981) now sets the time bar; the SST layer keeps the nearest of its own days.
  const sstTime = await page.evaluate(() => window.nadirViewer.layers.entries.get('sst/sst').layer.getSource().getParams().TIME);
  assert.equal(sstTime, '2025-01-01T00:00:00Z');
  await shot('07-elevation');
  assert.deepEqual(consoleErrors, []);
});

test('a shared URL restores the layers, opacity, time and view', async () => {
  const shared = `${baseUrl}/viewer/#layers=sst/sst&opacity=sst/sst:0.5&time=2025-01-10T00:00:00Z&view=10.0000,55.0000,5.00`;
  await page.goto('about:blank');
  await page.goto(shared);
  await page.waitForSelector('body[data-ready="1"]');
  assert.ok(await page.isChecked('input[data-layer="sst/sst"]'));
  assert.equal(await page.$eval('#time-value', (o) => o.value), '2025-01-10');
  const st = await page.evaluate(() => {
    const { map, layers } = window.nadirViewer;
    const l = layers.entries.get('sst/sst').layer;
    return { zoom: map.getView().getZoom(), opacity: l.getOpacity(), time: l.getSource().getParams().TIME };
  });
  assert.deepEqual(st, { zoom: 5, opacity: 0.5, time: '2025-01-10T00:00:00Z' });
  // The job run earlier is listed from the server, its layer in the tree but not on the map.
  await page.waitForSelector('#job-list li[data-status="successful"][data-results="layers"]', { state: 'attached' });
  const listed = await page.$eval('#job-list li .added', (a) => a.dataset.layer);
  assert.ok(!(await page.isChecked(`input[data-layer="${listed}"]`)));
  await renderComplete();
  await shot('08-shared-url');
  assert.deepEqual(consoleErrors, []);
});
