// Vite builds the viewer into one hashed bundle; relative paths let nadir serve it under any prefix.
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { defineConfig } from 'vite';

// Each text file is also written gzipped (name.gz) once, at build time: nadir sends that file to clients
// that take gzip instead of compressing the bundle again for each of them.
const precompress = () => ({
  name: 'nadir-precompress',
  apply: 'build',
  writeBundle(options, bundle) {
    for (const name of Object.keys(bundle)) {
      if (!/\.(js|css|html|svg|json)$/.test(name)) continue;
      const file = path.join(options.dir, name);
      fs.writeFileSync(`${file}.gz`, gzipSync(fs.readFileSync(file), { level: 9 }));
    }
  },
});

export default defineConfig({
  base: './',
  plugins: [precompress()],
  build: {
    outDir: process.env.NADIR_VIEWER_OUT || 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev` against a nadir on :8080 (NADIR_URL to change it).
    proxy: Object.fromEntries(['/wms', '/wmts', '/tiles', '/stac', '/processes', '/jobs', '/wcs', '/opendap', '/collections']
      .map((p) => [p, process.env.NADIR_URL || 'http://127.0.0.1:8080'])),
  },
});
