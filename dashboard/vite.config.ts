import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type Plugin } from 'vite';

/**
 * `npm run build:dashboard` writes dashboard/dist, which the admin API serves at `/`: two pages,
 * the dashboard (index.html) and the public audience page (audience.html, served by every node's
 * audience gateway at `/a/<code>`; its bundle shares nothing with the dashboard's but Svelte).
 * `npm run dev:dashboard` serves both with hot reload, proxying `/api` (REST and the ws stream) to the
 * admin API at HIGHLANDER_API_URL (default http://127.0.0.1:8080) and the audience ws to a gateway
 * at HIGHLANDER_AUDIENCE_URL (default http://127.0.0.1:8081); `/a/<code>` opens the audience page.
 */
const api = process.env.HIGHLANDER_API_URL ?? 'http://127.0.0.1:8080';
const audience = process.env.HIGHLANDER_AUDIENCE_URL ?? 'http://127.0.0.1:8081';

/** In dev, `/a/<code>` is the audience page, as the gateway serves it. */
const audiencePage: Plugin = {
  name: 'highlander-audience-page',
  configureServer(server) {
    server.middlewares.use((req, _res, next) => {
      if (req.url && /^\/a\/[^/?]+\/?(\?.*)?$/.test(req.url)) req.url = '/audience.html';
      next();
    });
  },
};

export default defineConfig({
  root: import.meta.dirname,
  plugins: [audiencePage, svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
    rolldownOptions: {
      input: {
        index: `${import.meta.dirname}/index.html`,
        audience: `${import.meta.dirname}/audience.html`,
      },
    },
  },
  server: {
    proxy: {
      '/api': { target: api, ws: true, changeOrigin: false },
      '/audience/ws': { target: audience, ws: true, changeOrigin: false },
    },
  },
});
