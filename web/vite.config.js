// Vite builds the viewer into one hashed bundle; relative paths let nadir serve it under any prefix.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
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
