import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

/**
 * `npm run build:dashboard` writes dashboard/dist, which the admin API serves at `/`.
 * `npm run dev:dashboard` serves it with hot reload, proxying `/api` (REST and the ws stream) to the
 * admin API at HIGHLANDER_API_URL (default http://127.0.0.1:8080).
 */
const api = process.env.HIGHLANDER_API_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': { target: api, ws: true, changeOrigin: false },
    },
  },
});
