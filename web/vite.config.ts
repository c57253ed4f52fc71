/**
 * The web app's build: `npx vite build web` writes web/dist, which the lab server serves. In
 * development (`npx vite web`) /ws and /api are proxied to a lab server on port 3000
 * (TCPLAB_SERVER overrides). `dev.html` replays a scenario run by the real engine in the browser,
 * for working on the timeline without a server.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const server = process.env.TCPLAB_SERVER ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root,
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        dev: fileURLToPath(new URL('./dev.html', import.meta.url)),
      },
    },
  },
  server: {
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
    proxy: {
      '/ws': {
        target: server.replace(/^http/, 'ws'),
        ws: true,
        changeOrigin: true,
        // The lab server accepts WebSockets from its own origin only: present the proxy as it.
        configure: (proxy) => {
          proxy.on('proxyReqWs', (req) => req.setHeader('origin', server));
        },
      },
      '/api': { target: server, changeOrigin: true },
      '/healthz': { target: server, changeOrigin: true },
    },
  },
});
